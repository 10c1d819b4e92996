"""``outage run`` killed with SIGKILL at random moments, then ``outage rollback``: nothing is left.

After each kill: no application process, no listening port (gateway or application), no temporary
file, a journal that says it was rolled back after a crash with every step; a second rollback
finds nothing to do. (The IAM injector's kills are in tests/iam/test_iam_crash.py.) Also: one run
per journal, and signals honoured in every phase.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from chaos.journal import ProcessIdentity
from tests.conftest import wait_until

OUTAGE = Path(sys.executable).with_name("outage")
EXPERIMENT = """
version: 1
title: killed
seed: 7
app:
  command: [python, -m, chaos.demo, --variant, resilient, --port, "{port}"]
  url: http://127.0.0.1:{port}
load:
  rate: 20
  requests:
    - {method: GET, path: "/docs/{id}", weight: 3}
    - {method: PUT, path: "/docs/{id}", body: "doc {id}"}
steady_state:
  - {name: healthy, http: {path: /health}}
phases: {baseline: 0.4s, recovery: 0.4s}
faults:
  - {kind: unavailable, service: s3, region: us-east-1, for: 0.8s}
expect:
  durability: true
"""
#: Where in a run to kill it: after the first event of this name appears in its journal (None: at once).
MOMENTS = [None, "gateway", "app_start", "app_started", "app_ready", "phase", "inject", "remove", "check", "rollback"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def _read(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def _events(path: Path) -> list[str]:
    return [event.get("event", "") for event in _read(path).get("timeline", [])]


def _refused(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/", maxsplit=1)[0].rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) != 0


def _kill_at(folder: Path, moment: str | None, delay: float) -> dict[str, Any]:
    """Start a run, SIGKILL it at ``moment`` + ``delay``, roll back twice; what was seen."""
    (folder / "exp.yaml").write_text(EXPERIMENT)
    journal = folder / "j.json"
    process = subprocess.Popen(
        [str(OUTAGE), "run", "exp.yaml", "--journal", str(journal)],
        cwd=folder,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while moment is not None and moment not in _events(journal) and process.poll() is None:
        assert time.monotonic() < deadline, f"no {moment} event"
        time.sleep(0.01)
    time.sleep(delay)
    process.kill()
    process.wait()
    before = _read(journal)
    first = subprocess.run(
        [str(OUTAGE), "rollback", "--journal", str(journal)],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    second = subprocess.run(
        [str(OUTAGE), "rollback"], cwd=folder, env=_env(), capture_output=True, text=True, timeout=60, check=False
    )
    return {"before": before, "after": _read(journal), "first": first, "second": second, "journal": journal}


def test_sigkill_at_random_moments_then_rollback_leaves_nothing(tmp_path: Path) -> None:
    rng = random.Random(20170228)
    cases = [(moment, rng.uniform(0, 0.3)) for moment in MOMENTS]  # every moment once, a random delay after it
    folders = []
    for index in range(len(cases)):
        folder = tmp_path / f"kill{index}"
        folder.mkdir()
        folders.append(folder)
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(
            pool.map(lambda args: _kill_at(*args), [(f, m, d) for f, (m, d) in zip(folders, cases, strict=True)])
        )
    for (moment, delay), outcome in zip(cases, outcomes, strict=True):
        where = f"killed at {moment}+{delay:.2f}s"
        before, after, first, second = outcome["before"], outcome["after"], outcome["first"], outcome["second"]
        assert "Traceback" not in first.stderr + second.stderr, where
        assert second.returncode == 0, (where, second.stdout, second.stderr)
        if not before:  # killed before the journal existed: nothing had started
            assert first.returncode == 2 and "No such file" in first.stderr, (where, first.stderr)
            continue
        assert first.returncode == 0, (where, first.stdout, first.stderr)
        for resource in before.get("resources", []):
            if resource["kind"] == "process":
                identity = ProcessIdentity(
                    resource["pid"], resource["pgid"], resource["start_ticks"], resource["boot_id"]
                )
                assert not identity.alive(), (where, "the application is still running")
            if resource["kind"] == "file":
                assert not Path(resource["path"]).exists(), (where, resource)
        for event in before.get("timeline", []):
            if event["event"] == "gateway":
                assert _refused(event["url"]), (where, "the gateway still listens")
            if event["event"] == "app_ready":
                assert _refused(event["url"]), (where, "the application still listens")
        if before.get("status") == "running":
            assert after["status"] == "aborted", where
            assert after["reason"] == "rolled back after a crash", where
            assert after["rollback"]["complete"] is True and after["rollback"]["after_crash"] is True, where
            assert "rolled back after a crash" in first.stdout, where
        else:
            assert after["status"] == before["status"], where  # it had finished: rollback changed nothing
        assert "nothing" in second.stdout, (where, second.stdout)
        leftovers = list(outcome["journal"].parent.glob(".j.json.*.tmp"))
        assert leftovers == [], where
    assert sum(1 for o in outcomes if o["before"].get("status") == "running") >= len(cases) - 3  # most hit a live run


def test_a_second_run_on_the_same_journal_is_refused(tmp_path: Path) -> None:
    (tmp_path / "exp.yaml").write_text(EXPERIMENT.replace("for: 0.8s", "for: 5s"))
    first = subprocess.Popen(
        [str(OUTAGE), "run", "exp.yaml", "--journal", "same.json"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: "phase" in _events(tmp_path / "same.json"), what="the first run")
        second = subprocess.run(
            [str(OUTAGE), "run", "exp.yaml", "--journal", "same.json"],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 3, second.stdout + second.stderr
        assert f"another run (pid {first.pid}) holds this journal" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 3
    assert _read(tmp_path / "same.json")["status"] == "aborted"
    assert list(tmp_path.glob(".same.json.*.tmp")) == []


@pytest.mark.parametrize("phase", ["steady_state_after", "verify"])
def test_a_signal_in_the_late_phases_aborts_after_a_complete_rollback(phase: str, tmp_path: Path) -> None:
    slow_verify = EXPERIMENT.replace("load:\n  rate: 20", "load:\n  rate: 60\n  ids: 2000")
    (tmp_path / "exp.yaml").write_text(slow_verify)
    process = subprocess.Popen(
        [str(OUTAGE), "run", "exp.yaml", "--journal", "j.json"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def reached() -> bool:
        return any(e.get("phase") == phase for e in _read(tmp_path / "j.json").get("timeline", []))

    wait_until(reached, timeout=60, what=f"phase {phase}")
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    journal = _read(tmp_path / "j.json")
    assert process.returncode == 3, out
    assert journal["status"] == "aborted" and "stopped by SIGINT" in journal["reason"], journal["reason"]
    assert journal["rollback"]["complete"] is True


def test_app_logs_do_not_pile_up_when_the_command_cannot_start(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"  # the run's own temporary directory: runs beside this test write theirs elsewhere
    temporary.mkdir()
    (tmp_path / "exp.yaml").write_text(
        EXPERIMENT.replace("cwd: x", "").replace("  url: http", "  cwd: /nonexistent/dir\n  url: http")
    )
    result = subprocess.run(
        [str(OUTAGE), "run", "exp.yaml", "--journal", "j.json"],
        cwd=tmp_path,
        env={**_env(), "TMPDIR": str(temporary)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "cannot start the application" in result.stdout + result.stderr
    assert list(temporary.iterdir()) == []
