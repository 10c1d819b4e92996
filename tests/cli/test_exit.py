"""How the ``outage`` process ends: as any exit does (threads joined, exit handlers run, output flushed,
the same status), without tearing the interpreter down."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_threads_are_joined_and_exit_handlers_run(tmp_path: Path) -> None:
    result = _python(
        """
        import atexit, sys, threading, time
        from pathlib import Path
        folder = Path(sys.argv[1])
        atexit.register(lambda: (folder / "handler").write_text("ran"))
        def late():
            time.sleep(0.3)
            (folder / "thread").write_text("done")
        threading.Thread(target=late).start()
        sys.argv = ["outage", "--version"]
        from chaos.cli import main
        main()
        """,
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("outage (chaos-outage) ")
    assert (tmp_path / "handler").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "done"


@pytest.mark.parametrize(("code", "status", "stderr"), [("None", 0, ""), ("4", 4, ""), ("'broken'", 1, "broken\n")])
def test_the_exit_status_is_what_sys_exit_would_give(code: str, status: int, stderr: str) -> None:
    result = _python(f"from chaos.cli import _exit\nprint('out', end='')\n_exit({code})")
    assert (result.returncode, result.stdout, result.stderr) == (status, "out", stderr)


def test_a_long_answer_reaches_a_pipe_whole() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chaos", "schema"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) > 10_000 and json.loads(result.stdout)["title"]


def test_a_refused_command_keeps_its_status(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chaos", "validate", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "missing.yaml:1:1: cannot read the file" in result.stderr, result
