"""The journal: one self-describing JSON document per run, written ahead.

Every change the run is about to make is on disk before it is made (an ``inject`` event before
the faults are armed), so a run that dies half-way leaves a journal that says what it did and
what may need rolling back. Each write replaces the file atomically.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chaos._version import __version__

__all__ = ["DEFAULT_DIR", "Journal", "default_path", "read_journal"]

DEFAULT_DIR = Path(".chaos") / "runs"
STATUSES = ("running", "passed", "failed", "aborted", "error")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def default_path(title: str, directory: Path = DEFAULT_DIR) -> Path:
    """``.chaos/runs/<UTC time>-<title slug>.json``."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:48] or "run"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return directory / f"{stamp}-{slug}.json"


class Journal:
    """A run's journal, rewritten whole and atomically at every event."""

    def __init__(self, path: Path, **header: Any) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self.data: dict[str, Any] = {
            "journal_version": 1,
            "tool": {"name": "chaos-outage", "version": __version__},
            "platform": {"python": sys.version.split()[0], "system": platform.platform(), "pid": os.getpid()},
            "status": "running",
            "started_at": _now(),
            "ended_at": None,
            **header,
            "checks": [],
            "faults": [],
            "timeline": [],
            "rollback": {"complete": None, "steps": []},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        self.write()

    def elapsed(self) -> float:
        """Seconds since the journal was opened."""
        return time.monotonic() - self._started

    def event(self, event: str, /, **fields: Any) -> None:
        """Append an event to the timeline and write the journal."""
        with self._lock:
            self.data["timeline"].append({"t": round(self.elapsed(), 3), "at": _now(), "event": event, **fields})
            self._write()

    def update(self, **fields: Any) -> None:
        """Set top-level fields and write the journal."""
        with self._lock:
            self.data.update(fields)
            self._write()

    def finish(self, status: str, **fields: Any) -> None:
        """Record the final status and write the journal."""
        assert status in STATUSES
        self.update(status=status, ended_at=_now(), duration=round(self.elapsed(), 3), **fields)

    def write(self) -> None:
        """Write the journal now."""
        with self._lock:
            self._write()

    def _write(self) -> None:
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        with temporary.open("w") as handle:
            json.dump(self.data, handle, indent=2, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)


def read_journal(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A journal as written by a run."""
    with Path(path).open() as handle:
        data: dict[str, Any] = json.load(handle)
    return data
