"""``outage demo`` and ``python -m chaos``, run as real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

OUTAGE = Path(sys.executable).with_name("outage")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["COLUMNS"] = "140"
    return env


def test_the_demo_replays_2017_against_both_variants(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [str(OUTAGE), "demo"], capture_output=True, text=True, timeout=180, env=_env(), cwd=tmp_path, check=False
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Did it degrade gracefully?" in out
    verdict = next(line for line in out.splitlines() if "verdict" in line)
    assert "FAILED" in verdict and "GRACEFUL" in verdict
    durability = next(line for line in out.splitlines() if line.strip("│ ").startswith("durability"))
    assert "FAIL" in durability and "PASS" in durability
    assert (tmp_path / ".chaos" / "runs" / "demo-naive.json").exists()
    assert (tmp_path / ".chaos" / "runs" / "demo-resilient.json").exists()
    for variant in ("naive", "resilient"):
        report = tmp_path / ".chaos" / "runs" / f"demo-{variant}" / "report.html"
        assert report.exists() and f"report {report.relative_to(tmp_path)}" in out
    assert elapsed < 90


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
