"""Chaos Toolkit in a virtualenv of its own (its ``chaos`` command must not meet ours), built once and cached."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: The Chaos Toolkit library the export is checked against.
REQUIREMENT = "chaostoolkit-lib>=1.40,<2"
# pip's words when it cannot reach a package index (the only reason to skip rather than fail).
_OFFLINE = (
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No matching distribution found for chaostoolkit-lib",
    "Could not fetch URL",
    "ProxyError",
)


@pytest.fixture(scope="session")
def chaostoolkit_python(pytestconfig: pytest.Config) -> Path:
    """The Python of a virtualenv with chaostoolkit-lib beside the project's own (built on first use, kept until
    ``make clean``), so Chaos Toolkit's ``chaos`` command never meets ours."""
    home = Path(sys.prefix) / "chaostoolkit-venv"
    home.mkdir(exist_ok=True)
    venv = home / "venv"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    with (home / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several pytest workers: one builds, the others wait
        if stamp.exists() and python.exists() and stamp.read_text() == REQUIREMENT:
            return python
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", REQUIREMENT],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            output = result.stdout + result.stderr
            if any(words in output for words in _OFFLINE):
                pytest.skip(
                    f"the package registry is unreachable, so {REQUIREMENT} cannot be installed: {output[-300:]}"
                )
            raise AssertionError(f"pip install {REQUIREMENT} failed:\n{output}")
        stamp.write_text(REQUIREMENT)
    return python


def outage_on_path() -> dict[str, str]:
    """The environment with this project's ``outage`` first on PATH (as a Chaos Toolkit user would have it)."""
    return {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
