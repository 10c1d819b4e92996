"""Recording inside a process that ``outage audit`` started: armed by its ``sitecustomize``, written at exit.

:func:`start` arms a :class:`~chaos.audit.recorder.Recorder` for the whole process and writes what
it saw to a file of its own in the audit's directory: at exit, and every few seconds while calls
keep coming (so a process killed without running its exit handlers loses at most those seconds).
A forked child starts counting from nothing into a file of its own. :func:`write_failure` records
why a process could not be audited, so the report can say so.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos.audit.observe import ProcessRecord
from chaos.audit.recorder import Recorder
from chaos.engine.decision import Decision
from chaos.ledger import Ledger

__all__ = ["DIRECTORY_VARIABLE", "FLUSH_EVERY", "start", "write_failure", "write_record"]

#: The environment variable naming the directory where audited processes write what they saw.
DIRECTORY_VARIABLE = "CHAOS_AUDIT_DIR"
#: Seconds between two writes of a process's file while it makes calls.
FLUSH_EVERY = 2.0

_STARTED: list[_ProcessRecorder] = []


def _path(directory: str) -> Path:
    return Path(directory) / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json"


def write_record(path: Path, record: ProcessRecord) -> None:
    """Write ``record`` to ``path`` whole or not at all (a temporary file renamed over it)."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record.to_dict()), encoding="utf-8")
    os.replace(temporary, path)


def write_failure(directory: str, reason: str) -> None:
    """Record that this process could not be audited, and why."""
    record = ProcessRecord(os.getpid(), tuple(sys.argv), sys.executable, error=reason)
    write_record(_path(directory), record)


class _ProcessRecorder(Recorder):
    """A recorder that also writes its file every ``FLUSH_EVERY`` seconds while calls come."""

    def __init__(self, directory: str) -> None:
        super().__init__()
        self.directory = directory
        self.path = _path(directory)
        self._last_write = time.monotonic()

    def apply(
        self,
        decision: Decision,
        original: Callable[..., Any],
        endpoint: Any,
        request: Any,
        operation_model: Any,
        context: dict[str, Any],
    ) -> Any:
        try:
            return super().apply(decision, original, endpoint, request, operation_model, context)
        finally:
            if time.monotonic() - self._last_write > FLUSH_EVERY:
                self._last_write = time.monotonic()
                self.write()

    def write(self) -> None:
        """Write what was seen so far (errors are swallowed: the audit never breaks the program)."""
        try:
            record = ProcessRecord(os.getpid(), tuple(sys.argv), sys.executable, tuple(self.observations()))
            write_record(self.path, record)
        except Exception as exc:
            print(f"outage audit: cannot write {self.path}: {exc}", file=sys.stderr)

    def forked(self) -> None:
        """In a forked child: count from nothing, into a file of its own."""
        self.tally.reset()
        self.ledger = Ledger(max_events=1)  # a new one: the old lock may have been held by another thread
        self.path = _path(self.directory)
        self._last_write = time.monotonic()


def start(directory: str) -> Recorder:
    """Arm the record-only hook for this whole process; what it sees goes to a file in ``directory``."""
    if _STARTED:
        return _STARTED[0]
    recorder = _ProcessRecorder(directory)
    recorder.arm()
    _STARTED.append(recorder)
    atexit.register(recorder.write)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=recorder.forked)
    return recorder
