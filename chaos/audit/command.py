"""Running a command under audit: every Python process it starts records its AWS calls.

The command runs with the directory of :mod:`chaos/audit/boot/sitecustomize.py` first on its
``PYTHONPATH`` and ``CHAOS_AUDIT_DIR`` naming a fresh directory; Python processes inherit both, so
the command's Python subprocesses (and theirs) are audited too. When the command has ended, the
files they wrote are read and merged.

Signals: while the command runs, Ctrl-C goes to it (it is in the terminal's foreground group) and
this process waits for it to finish; SIGTERM sent to this process is passed on as SIGINT, so a
Python program ends through its exit handlers and writes what it saw. ``duration`` ends a service
after that long the same way (SIGINT, then SIGTERM after ``grace`` seconds, then SIGKILL).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from chaos.audit.child import DIRECTORY_VARIABLE
from chaos.audit.observe import ProcessRecord
from chaos.errors import ConfigError

__all__ = ["BOOT_DIRECTORY", "CommandResult", "audit_command", "audit_environment", "read_records"]

#: The directory holding the ``sitecustomize`` that arms the audit in each Python process.
BOOT_DIRECTORY = Path(__file__).resolve().parent / "boot"


@dataclass(frozen=True)
class CommandResult:
    """The command's exit code and what its Python processes saw."""

    exit_code: int
    processes: tuple[ProcessRecord, ...]
    output: bytes | None = None
    """The command's standard output when ``stdout`` was ``subprocess.PIPE``."""


def audit_environment(directory: str | os.PathLike[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with the audit switched on: the boot directory first on PYTHONPATH, files to ``directory``."""
    env = dict(environ)
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BOOT_DIRECTORY), existing]))
    env[DIRECTORY_VARIABLE] = str(directory)
    return env


def read_records(directory: str | os.PathLike[str]) -> list[ProcessRecord]:
    """Every process record written in ``directory`` (an unreadable one becomes a record of its error)."""
    records = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            records.append(ProcessRecord.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            records.append(ProcessRecord(0, (), "", error=f"{path.name} is unreadable: {exc}"))
    return records


@contextmanager
def _signals_to(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """While ``process`` runs: ignore Ctrl-C here (it reaches the process), pass SIGTERM on as SIGINT."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, frame: FrameType | None) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)

    saved = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, forward)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved[0])
        signal.signal(signal.SIGTERM, saved[1])


def _stop(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGINT, then SIGTERM, then SIGKILL, each after ``grace`` seconds without an exit."""
    for sent in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        process.send_signal(sent)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def audit_command(
    argv: Sequence[str],
    *,
    duration: float | None = None,
    grace: float = 10.0,
    stdout: IO[Any] | int | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> CommandResult:
    """Run ``argv`` with every Python process it starts recording its AWS calls; wait for it to end.

    ``duration``: stop it after that many seconds (a service). ``stdout``: where its standard output
    goes (default: ours; ``subprocess.PIPE``: into the result). Raises :class:`~chaos.errors.ConfigError`
    when the command cannot be started.
    """
    if not argv:
        raise ConfigError("give the command to audit after '--', e.g. outage audit -- python app.py")
    with tempfile.TemporaryDirectory(prefix="chaos-audit-") as directory:
        env = audit_environment(directory, os.environ if environ is None else environ)
        try:
            process = subprocess.Popen(list(argv), env=env, stdout=stdout, cwd=cwd)
        except OSError as exc:
            raise ConfigError(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from None
        with _signals_to(process):
            try:
                output, _ = process.communicate(timeout=duration)
            except subprocess.TimeoutExpired:
                _stop(process, grace)
                output, _ = process.communicate()
        code = process.returncode
        return CommandResult(code if code >= 0 else 128 - code, tuple(read_records(directory)), output)
