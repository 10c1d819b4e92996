"""``outage demo`` and ``python -m chaos``, run as real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OUTAGE = Path(sys.executable).with_name("outage")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["COLUMNS"] = "120"
    return env


def test_demo_shows_the_outage_and_the_region_that_keeps_working() -> None:
    result = subprocess.run([str(OUTAGE), "demo"], capture_output=True, text=True, timeout=120, env=_env(), check=False)
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
    assert "demo" in result.stdout
