"""``outage demo`` and ``python -m chaos``, run as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUTAGE = Path(sys.executable).with_name("outage")


def _env(columns: str | None = "140") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    return env


def test_the_demo_replays_2017_against_both_variants(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [str(OUTAGE), "demo"], capture_output=True, text=True, timeout=180, env=_env(None), cwd=tmp_path, check=False
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Did it degrade gracefully?" in out
    verdict = next(line for line in out.splitlines() if "verdict" in line)
    assert "NOT GRACEFUL" in verdict and verdict.count("GRACEFUL") == 2 and "FAILED" not in verdict
    assert "naive: NOT GRACEFUL (availability, graceful_errors" in out
    assert "\nresilient: GRACEFUL\n" in out
    durability = next(line for line in out.splitlines() if line.strip("│ ").startswith("durability"))
    assert "FAIL" in durability and "PASS" in durability
    assert (tmp_path / ".chaos" / "runs" / "demo-naive.json").exists()
    assert (tmp_path / ".chaos" / "runs" / "demo-resilient.json").exists()
    for variant in ("naive", "resilient"):  # not a terminal, no COLUMNS: each line whole all the same
        report = tmp_path / ".chaos" / "runs" / f"demo-{variant}" / "report.html"
        journal = tmp_path / ".chaos" / "runs" / f"demo-{variant}.json"
        line = f"  report {report.relative_to(tmp_path)}  (journal {journal.relative_to(tmp_path)})"
        assert report.exists() and line in out.splitlines(), out
    assert elapsed < 90
    # The resilient variant's run in detail (the naive one's through `outage run`: tests/test_runner.py).
    data = json.loads((tmp_path / ".chaos" / "runs" / "demo-resilient.json").read_text())
    assert data["status"] == "passed" and data["rollback"]["complete"] is True
    names = {check["name"]: check for check in data["checks"]}
    assert set(names) >= {
        "availability",
        "graceful_errors",
        "latency_p99",
        "durability",
        "recovery",
        "retry_amplification",
        "health_honesty",
        "steady_state_before",
        "steady_state_after",
    }
    assert all(check["passed"] for check in data["checks"]), data["checks"]
    events = [event["event"] for event in data["timeline"]]
    assert events.index("inject") < events.index("remove") < events.index("rollback")
    assert [fault["label"] for fault in data["faults"]] == ["S3 us-east-1 down", "writes still down"]


def test_the_sdk_demo_shows_the_outage_call_by_call() -> None:
    result = subprocess.run(
        [str(OUTAGE), "demo", "--sdk"], capture_output=True, text=True, timeout=120, env=_env(), check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "PutObject: ClientError ServiceUnavailable (HTTP 503) after 3 attempts" in out
    assert "✓ PutObject" in out  # eu-west-1
    assert "Objects stored in us-east-1 by the failed writes: 0 (an injected error has no side effect)" in out
    assert "Demo behaved as expected." in out


def test_python_dash_m_chaos_is_the_outage_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chaos", "--help"], capture_output=True, text=True, timeout=60, env=_env(), check=False
    )
    assert result.returncode == 0, result.stderr
    for command in ("validate", "plan", "run", "serve", "inject", "schema", "demo"):
        assert command in result.stdout
