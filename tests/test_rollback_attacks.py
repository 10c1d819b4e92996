"""What a hostile tester found in rollback, each reproduced and now refused or handled.

A live run's journal copied or linked is not a crashed run; an application whose leader died still
has its group stopped; an incomplete rollback is retried; a forged journal never reaches a gateway
off this machine; malformed journals are incomplete rollbacks, never tracebacks; a burst of SIGTERMs
during rollback still ends with a final journal and exit 3.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chaos.journal import ProcessIdentity
from tests.conftest import wait_until

OUTAGE = Path(sys.executable).with_name("outage")
EXPERIMENT = """
version: 1
title: attacked
app:
  command: {command}
  url: http://127.0.0.1:{{port}}
load: {{rate: 10, requests: [{{path: /health}}]}}
phases: {{baseline: {baseline}, recovery: 0.2s}}
faults:
  - {{kind: unavailable, service: s3, region: us-east-1, for: 0.5s}}
"""
DEMO = '[python, -m, chaos.demo, --variant, resilient, --port, "{port}"]'


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def _events(path: Path) -> list[str]:
    try:
        return [event["event"] for event in json.loads(path.read_text())["timeline"]]
    except (OSError, ValueError, KeyError):
        return []


def _rollback(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OUTAGE), "rollback", *args],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _start(folder: Path, command: str = DEMO, baseline: str = "30s") -> subprocess.Popen[bytes]:
    (folder / "exp.yaml").write_text(EXPERIMENT.format(command=command, baseline=baseline))
    process = subprocess.Popen(
        [str(OUTAGE), "run", "exp.yaml", "--journal", "j.json"],
        cwd=folder,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: "app_ready" in _events(folder / "j.json"), timeout=60, what="the application")
    except AssertionError:
        process.kill()
        process.wait()
        raise
    return process


def _app(folder: Path) -> ProcessIdentity:
    data = json.loads((folder / "j.json").read_text())
    [record] = [r for r in data["resources"] if r["kind"] == "process"]
    return ProcessIdentity(record["pid"], record["pgid"], record["start_ticks"], record["boot_id"])


def test_a_copy_or_link_of_a_live_journal_is_not_a_crashed_run(tmp_path: Path) -> None:
    run = _start(tmp_path)
    try:
        os.symlink("j.json", tmp_path / "latest.json")
        shutil.copy(tmp_path / "j.json", tmp_path / "copy.json")
        for name in ("latest.json", "copy.json"):
            result = _rollback(tmp_path, "--journal", name)
            assert result.returncode == 3, (name, result.stdout, result.stderr)
            assert "is still going" in result.stderr
        swept = _rollback(tmp_path, "--dir", str(tmp_path))
        assert swept.returncode == 0 and "nothing to roll back" in swept.stdout, swept.stdout + swept.stderr
        assert _app(tmp_path).alive()  # the live run's application was never touched
    finally:
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 3


def test_the_applications_group_is_stopped_even_when_its_leader_died(tmp_path: Path) -> None:
    wrapped = f'[sh, -c, "{sys.executable} -m chaos.demo --variant resilient --port {{port}}; echo done"]'
    run = _start(tmp_path, wrapped)
    group = _app(tmp_path).pgid
    run.kill()
    run.wait()
    result = _rollback(tmp_path, "--journal", "j.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert group is not None
    assert _living_members(group) == []  # nothing of the application's group is left (zombies are dead)


def _living_members(group: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[2] == str(group) and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _forged(folder: Path, resources: Any, status: str = "running", complete: Any = None) -> Path:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    journal = folder / "forged.json"
    journal.write_text(
        json.dumps(
            {
                "status": status,
                "runner": {"pid": int(gone.stdout), "pgid": None, "start_ticks": 1, "boot_id": None},
                "resources": resources,
                "rollback": {"complete": complete, "steps": []},
                "timeline": [],
            }
        )
    )
    return journal


def test_an_incomplete_rollback_is_retried(tmp_path: Path) -> None:
    marker = "deadbeefdeadbeef"
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        env={**_env(), "CHAOS_OUTAGE_RUN": marker},
        start_new_session=True,
    )
    try:
        identity = ProcessIdentity.of(sleeper.pid)
        record = {"kind": "process", **identity.to_dict(), "marker": marker, "stop_timeout": 1}
        _forged(tmp_path, [record], status="aborted", complete=False)
        first = _rollback(tmp_path, "--journal", "forged.json")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "rolled back after a crash" in first.stdout
        assert sleeper.wait(timeout=10) is not None
        second = _rollback(tmp_path, "--journal", "forged.json")
        assert second.returncode == 0 and "nothing left to roll back" in second.stdout
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize(
    "resources",
    [
        5,
        None,
        [{"kind": "process", "pid": "x"}],
        [{"kind": "process", "pid": 2**70, "marker": "m"}],
        [{"kind": "gateway_faults", "endpoint": "http://127.0.0.1:9", "run": None}],
        [{"kind": "file", "path": "/etc/passwd"}],
    ],
)
def test_malformed_resources_are_incomplete_steps_or_left_alone_never_tracebacks(
    tmp_path: Path, resources: Any
) -> None:
    _forged(tmp_path, resources)
    result = _rollback(tmp_path, "--journal", "forged.json")
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 2, 4), result.stdout + result.stderr  # 2: not a journal at all
    assert Path("/etc/passwd").exists()


def test_a_forged_gateway_off_this_machine_is_not_contacted(tmp_path: Path) -> None:
    record = {"kind": "gateway_faults", "endpoint": "http://gateway.invalid:4566", "run": "0123456789ab"}
    _forged(tmp_path, [record])
    result = _rollback(tmp_path, "--journal", "forged.json")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "gateway.invalid is not this machine: run 'outage rollback --gateway http://gateway.invalid:4566'" in (
        result.stdout + result.stderr
    )


def test_sigterm_bursts_during_rollback_end_with_a_final_journal(tmp_path: Path) -> None:
    run = _start(tmp_path, baseline="0.2s")
    wait_until(lambda: "remove" in _events(tmp_path / "j.json"), timeout=60, what="the end of the faults")
    deadline = time.monotonic() + 1.5
    while run.poll() is None and time.monotonic() < deadline:
        run.send_signal(signal.SIGTERM)
        time.sleep(0.02)
    assert run.wait(timeout=60) == 3
    data = json.loads((tmp_path / "j.json").read_text())
    assert data["status"] == "aborted" and data["rollback"]["complete"] is True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")
def test_an_exited_but_unreaped_process_is_not_alive() -> None:
    # Where the container's init reaps no orphan, an application that exited stays a zombie for good:
    # it is gone (nothing to stop), though its pid and start time still read back.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = ProcessIdentity.of(child.pid)
    assert identity.start_ticks is not None
    wait_until(lambda: Path(f"/proc/{child.pid}/stat").read_text().split(") ", 1)[1].startswith("Z"), timeout=10)
    try:
        assert not identity.alive()
    finally:
        child.wait()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert ProcessIdentity.of(running.pid).alive()
    finally:
        running.kill()
        running.wait()
