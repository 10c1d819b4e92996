"""``outage run``, end to end, as a real subprocess: the demo application, the gateway, the verdict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[1]
REPLAY = ROOT / "experiments" / "s3-us-east-1-2017.yaml"
OUTAGE = Path(sys.executable).with_name("outage")


def _run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [str(OUTAGE), "run", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env, check=False
    )


def _journal(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_naive_demo_does_not(tmp_path: Path) -> None:
    # The catalogue's replay against the naive variant, its phases halved (the whole replay runs against
    # both variants in tests/cli/test_demo.py).
    data = yaml.safe_load(REPLAY.read_text().replace("--variant, resilient", "--variant, naive"))
    data["phases"] = {"baseline": "2s", "recovery": "4s"}
    everything, writes = data["faults"]
    everything["for"] = "4s"
    writes["after"], writes["for"] = "4s", "2s"
    naive = tmp_path / "naive.yaml"
    naive.write_text(yaml.safe_dump(data, sort_keys=False))
    journal = tmp_path / "naive.json"
    result = _run(str(naive), "--journal", str(journal), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT GRACEFUL" in result.stdout
    data = _journal(journal)
    failed = {check["name"] for check in data["checks"] if not check["passed"]}
    assert failed >= {"availability", "graceful_errors", "durability", "health_honesty"}
    for name in ("availability", "graceful_errors", "durability"):
        assert f"FAIL  {name}" in result.stdout
    assert data["status"] == "failed" and data["rollback"]["complete"] is True


def test_sigterm_during_the_faults_rolls_back_and_exits_3(tmp_path: Path) -> None:
    journal = tmp_path / "aborted.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [str(OUTAGE), "run", str(REPLAY), "--journal", str(journal)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=env,
    )

    def in_fault_phase() -> bool:
        return journal.exists() and bool(_journal(journal)["faults"])  # recorded once they are armed

    wait_until(in_fault_phase, timeout=60, what="the fault phase")
    data = _journal(journal)
    app_pid = next(e["pid"] for e in data["timeline"] if e["event"] == "app_started")
    gateway = next(e["url"] for e in data["timeline"] if e["event"] == "gateway")
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 3, out
    data = _journal(journal)
    assert data["status"] == "aborted"
    assert "stopped by SIGTERM" in data["reason"]
    assert data["rollback"]["complete"] is True
    steps = {step["step"]: step for step in data["rollback"]["steps"]}
    pulled = [e for e in data["timeline"] if e["event"] == "faults_removed"]  # at once, on the signal
    assert steps["remove faults"]["left"] == 0 and (steps["remove faults"]["removed"] or pulled[0]["ids"])
    assert not _pid_alive(app_pid)
    import urllib.request

    with pytest.raises(OSError, match="Connection refused"):
        urllib.request.urlopen(f"{gateway}/_chaos/health", timeout=2)


def test_an_invalid_experiment_exits_2_and_starts_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(REPLAY.read_text().replace("kind: unavailable", "kind: unavailble", 1))
    result = _run(str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown fault kind 'unavailble'" in result.stderr
    assert not (tmp_path / ".chaos").exists()  # no journal: nothing was started


def test_an_experiment_without_an_application_cannot_run(tmp_path: Path) -> None:
    result = _run(str(ROOT / "experiments" / "s3-throttling.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "add 'app' and 'load' sections" in result.stderr


def test_an_application_that_never_becomes_ready(tmp_path: Path) -> None:
    stuck = tmp_path / "stuck.yaml"
    stuck.write_text(
        "version: 1\ntitle: stuck\n"
        "app:\n  command: [python, -c, 'import time; time.sleep(60)']\n"
        "  url: http://127.0.0.1:{port}\n  ready_timeout: 2s\n"
        "load: {rate: 5, requests: [{path: /}]}\n"
        "faults: [{kind: unavailable, for: 1s}]\n"
    )
    started = time.monotonic()
    result = _run(str(stuck), "--journal", str(tmp_path / "j.json"), cwd=tmp_path)
    assert result.returncode == 3
    assert "never became ready at http://127.0.0.1:" in result.stdout
    assert "within 2s" in result.stdout
    assert time.monotonic() - started < 30
    data = _journal(tmp_path / "j.json")
    assert data["status"] == "error" and data["rollback"]["complete"] is True
    assert not any(event["event"] == "inject" for event in data["timeline"])


def test_an_application_that_crashes_at_start(tmp_path: Path) -> None:
    crash = tmp_path / "crash.yaml"
    crash.write_text(
        "version: 1\ntitle: crash\n"
        "app:\n  command: [python, -c, 'import sys; print(\"no config\"); sys.exit(3)']\n  url: http://127.0.0.1:{port}\n"
        "load: {rate: 5, requests: [{path: /}]}\nfaults: [{kind: unavailable, for: 1s}]\n"
    )
    result = _run(str(crash), "--journal", str(tmp_path / "j.json"), cwd=tmp_path)
    assert result.returncode == 3
    assert "exited with code 3 before it was ready" in result.stdout
    assert "no config" in result.stdout


def test_a_guardrail_refuses_the_run_before_anything_starts(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.chaos]\nregions = ["eu-west-1"]\n')
    result = _run(str(REPLAY), "--journal", str(tmp_path / "j.json"), cwd=tmp_path)
    assert result.returncode == 3
    data = _journal(tmp_path / "j.json")
    assert data["status"] == "aborted"
    assert (
        "refused by guardrail: regions: fault 0 (S3 us-east-1 down) targets us-east-1; allowed: none" in data["reason"]
    )
    assert [event["event"] for event in data["timeline"]] == ["refused"]
