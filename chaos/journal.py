"""The journal: one self-describing JSON document per run, written ahead, one run per journal.

Every change the run is about to make is on disk before it is made: the faults before they are
armed, a policy's ARN before it is created, the application's pid, process group and start time
as soon as it exists, its log file, the gateway. ``resources`` lists what rollback needs, so that
``outage rollback`` can finish a run that was killed (see :mod:`chaos.recovery`).

A run holds an exclusive lock on ``<journal>.lock`` for as long as it lasts: a second run on the
same journal is refused naming the first one's pid, and the lock itself tells ``outage rollback``
whether the runner is gone (the kernel drops it when the process dies, SIGKILL included). Each write
goes to a temporary file of its own and replaces the journal atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from chaos._version import __version__
from chaos.errors import ChaosError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; runs are not protected from each other
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_DIR",
    "RUN_MARKER",
    "STATUSES",
    "Journal",
    "JournalBusy",
    "ProcessIdentity",
    "default_path",
    "held_by_a_live_run",
    "read_journal",
]

#: Set in the application's environment to the run's marker; rollback signals only a process that carries it.
RUN_MARKER = "CHAOS_OUTAGE_RUN"

DEFAULT_DIR = Path(".chaos") / "runs"
STATUSES = ("running", "passed", "failed", "unverified", "aborted", "error")


class JournalBusy(ChaosError):
    """Another run holds this journal, or it records a crashed run that was not rolled back (exit code 3)."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def default_path(title: str, directory: Path = DEFAULT_DIR) -> Path:
    """``.chaos/runs/<UTC time>-<title slug>.json``."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:48] or "run"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return directory / f"{stamp}-{slug}.json"


@dataclass(frozen=True)
class ProcessIdentity:
    """A process as rollback can recognise it later: a reused pid has another start time."""

    pid: int
    pgid: int | None
    start_ticks: int | None
    """Start time in clock ticks after boot (Linux /proc); None where the platform does not say."""
    boot_id: str | None

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity:
        """The identity of the running process ``pid``."""
        try:
            pgid: int | None = os.getpgid(pid)
        except OSError:
            pgid = None
        return cls(pid, pgid, start_ticks(pid), boot_id())

    def alive(self) -> bool:
        """Whether this very process still runs (same pid, same start time, same boot)."""
        if self.boot_id is not None and boot_id() not in (None, self.boot_id):
            return False
        if self.start_ticks is None:
            return False  # cannot tell it from a process that reused the pid: never signal it
        return start_ticks(self.pid) == self.start_ticks and not _zombie(self.pid)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"pid": self.pid, "pgid": self.pgid, "start_ticks": self.start_ticks, "boot_id": self.boot_id}


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks after boot (field 22 of /proc/PID/stat); None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat[stat.rindex(")") + 2 :].split()[19])  # the command name may hold spaces and ')'
    except (ValueError, IndexError):
        return None


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited and only waits to be reaped (where no init reaps orphans, for good)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[:1] == ["Z"]


def boot_id() -> str | None:
    """This boot's id (Linux), so start times from another boot are never compared."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _lock_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.lock")


def held_by_a_live_run(path: Path) -> int | None:
    """The pid of the run holding ``path``'s lock, or None when no live run holds it."""
    lock = _lock_path(path)
    if fcntl is None or not lock.exists():
        return None
    try:
        handle = lock.open("a+")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None


class Journal:
    """A run's journal, rewritten whole and atomically at every event; held by one run at a time."""

    def __init__(self, path: Path, **header: Any) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._held: IO[str] | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._take(path)
        me = ProcessIdentity.of(os.getpid())
        self.data: dict[str, Any] = {
            "journal_version": 1,
            "tool": {"name": "chaos-outage", "version": __version__},
            "platform": {"python": sys.version.split()[0], "system": platform.platform(), "pid": os.getpid()},
            "runner": me.to_dict(),
            "status": "running",
            "started_at": _now(),
            "ended_at": None,
            **header,
            "checks": [],
            "faults": [],
            "resources": [],
            "timeline": [],
            "rollback": {"complete": None, "steps": []},
        }
        self.write()

    @classmethod
    def resume(cls, path: Path, data: dict[str, Any]) -> Journal:
        """Take the journal of a run that is over (for rollback), holding its lock; ``data`` as read."""
        journal = cls.__new__(cls)
        journal.path, journal.data = path, data
        journal._lock, journal._started, journal._held = threading.Lock(), time.monotonic(), None
        journal._take(path, resuming=True)
        return journal

    def _take(self, path: Path, resuming: bool = False) -> None:
        """Lock the journal for this run, or say who holds it; never overwrite an unrecovered crash."""
        if fcntl is not None:
            handle = _lock_path(path).open("a+")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise JournalBusy(
                    f"{path}: another run (pid {holder}) holds this journal; choose another --journal"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            self._held = handle
        if path.exists() and not resuming:
            try:
                previous = read_journal(path)
            except (OSError, ValueError):
                previous = {}
            if previous.get("status") == "running" and previous.get("resources"):
                self.release()
                raise JournalBusy(
                    f"{path} records a run that crashed and was not rolled back: "
                    f"run 'outage rollback --journal {path}' first"
                )

    def release(self) -> None:
        """Give the journal up (the run is over); other runs may take it."""
        if self._held is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._held.fileno(), fcntl.LOCK_UN)
            self._held.close()
            self._held = None

    def elapsed(self) -> float:
        """Seconds since the journal was opened."""
        return time.monotonic() - self._started

    def event(self, event: str, /, **fields: Any) -> None:
        """Append an event to the timeline and write the journal."""
        with self._lock:
            self.data["timeline"].append({"t": round(self.elapsed(), 3), "at": _now(), "event": event, **fields})
            self._write()

    def resource(self, kind: str, /, **fields: Any) -> None:
        """Record, before it exists, something rollback must undo if the run dies (written and synced at once)."""
        with self._lock:
            self.data["resources"].append({"kind": kind, **fields})
            self._write(sync=True)

    def update(self, **fields: Any) -> None:
        """Set top-level fields and write the journal."""
        with self._lock:
            self.data.update(fields)
            self._write()

    def finish(self, status: str, **fields: Any) -> None:
        """Record the final status and write the journal (synced)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._lock:
            self.data.update(status=status, ended_at=_now(), duration=round(self.elapsed(), 3), **fields)
            self._write(sync=True)

    def write(self) -> None:
        """Write the journal now (synced)."""
        with self._lock:
            self._write(sync=True)

    def _write(self, sync: bool = False) -> None:
        """Replace the journal atomically. Every write survives the death of this process (the page cache
        outlives it); ``sync`` also makes it survive the machine's: for what rollback needs and the
        final status, not for every phase and check."""
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            with temporary.open("w") as handle:
                json.dump(self.data, handle, indent=2, default=str)
                handle.write("\n")
                if sync:
                    handle.flush()
                    os.fsync(handle.fileno())
            temporary.replace(self.path)
        finally:
            temporary.unlink(missing_ok=True)


def read_journal(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A journal as written by a run (a regular file of JSON; anything else raises OSError or ValueError)."""
    with Path(path).open() as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a journal: its JSON is not an object")
    return data
