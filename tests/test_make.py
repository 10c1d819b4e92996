"""The Makefile and .ci/run: a fresh machine needs nothing but ``make test``; the demo installs only the runtime."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="needs GNU make")


def _dry_run(target: str) -> str:
    """What ``make TARGET`` would run on a fresh machine (-B: as if nothing were built yet)."""
    assert MAKE is not None
    result = subprocess.run(
        [MAKE, "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _prerequisites(target: str) -> set[str]:
    assert MAKE is not None
    database = subprocess.run(
        [MAKE, "-p", "-n", "-q", "-r", "-R", "nothing-at-all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    [line] = [line for line in database.splitlines() if line.startswith(f"{target}:") and "=" not in line]
    return set(line.split(":", 1)[1].replace("|", " ").split())


def test_ci_runs_exactly_make_test_and_make_docs() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    commands = [line.strip() for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "make test", "make docs"]
    assert "apt" not in "\n".join(commands)
    assert "|| true" not in script and "set +e" not in script  # nothing hides a failure or pytest's exit 5


def test_the_demo_installs_the_runtime_only() -> None:
    commands = _dry_run("demo")
    assert re.search(r"pip install --quiet -e \.$", commands, re.MULTILINE), commands
    assert "[dev]" not in commands
    assert "outage demo" in commands and ". .venv/bin/activate" in commands


@pytest.mark.parametrize("target", ["test", "lint", "docs", "bench"])
def test_the_other_targets_install_the_development_tools(target: str) -> None:
    assert ".venv/.installed-dev" in _prerequisites(target)
    assert "pip install --quiet -e '.[dev]'" in _dry_run(target)


def test_make_test_installs_chromium() -> None:
    assert "chromium" in _prerequisites("test")


def _fake_bin(tmp_path: Path, *, uid: int, sudo: bool) -> Path:
    """A PATH without chromium, where ``id``, ``sudo`` and ``apt-get`` only record what they were asked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    scripts = {
        "id": f"#!/bin/sh\necho {uid}\n",
        "apt-get": f'#!/bin/sh\necho "apt-get $*" >> {log}\n',
        "sudo": (
            f'#!/bin/sh\n[ "$1" = -n ] && shift\n[ "$1" = true ] && exit 0\necho "sudo $*" >> {log}\nexec "$@"\n'
            if sudo
            else "#!/bin/sh\nexit 1\n"
        ),
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env_path = shutil.which("env")
    assert env_path is not None
    (bin_dir / "env").symlink_to(env_path)
    return bin_dir


def _make_chromium(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    # A top-level make, as a user types it, also when the suite itself runs under `make test` (MAKELEVEL
    # would make it print "make[1]: ***").
    recursion = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")
    env = {**{k: v for k, v in os.environ.items() if k not in recursion}, "PATH": str(bin_dir)}
    return subprocess.run(
        [MAKE, "--no-print-directory", "chromium"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("uid", "sudo", "prefix"), [(0, False, ""), (1000, True, "sudo ")])
def test_chromium_is_installed_as_root_or_with_passwordless_sudo(
    tmp_path: Path, uid: int, sudo: bool, prefix: str
) -> None:
    result = _make_chromium(_fake_bin(tmp_path, uid=uid, sudo=sudo))
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert [call.split("apt-get ", 1)[1] for call in calls if call.startswith("apt-get")] == [
        "update -qq",
        "install -y -qq chromium",
    ]
    if prefix:
        assert any(call.startswith("sudo env DEBIAN_FRONTEND=noninteractive apt-get install") for call in calls)


def test_without_the_right_to_install_one_line_says_how(tmp_path: Path) -> None:
    result = _make_chromium(_fake_bin(tmp_path, uid=1000, sudo=False))
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    assert lines == [
        "make test: the HTML report test needs Chromium: install it with 'sudo apt-get install -y chromium', "
        "then run make test again"
    ]
    assert not (tmp_path / "calls.log").exists()
