"""Progress of a run on the terminal: a live panel with rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Protocol

from rich.console import Console
from rich.live import Live
from rich.table import Table

__all__ = ["NoProgress", "PlainProgress", "Progress", "RichProgress", "Snapshot", "for_terminal"]


@dataclass(frozen=True)
class Snapshot:
    """The state of a run at one moment."""

    phase: str
    elapsed: float
    requests: int
    failures: int
    faults_active: int
    aws_calls: int
    aws_failed: int


class Progress(Protocol):
    """Receives the run's phases, snapshots and messages."""

    def message(self, text: str) -> None: ...

    def update(self, snapshot: Snapshot) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    """Says nothing (Python callers that want only the result)."""

    def message(self, text: str) -> None:
        """Nothing."""

    def update(self, snapshot: Snapshot) -> None:
        """Nothing."""

    def close(self) -> None:
        """Nothing."""


class PlainProgress:
    """One line per message, and a status line every few seconds: for logs and CI."""

    def __init__(self, stream: IO[str] | None = None, every: float = 5.0) -> None:
        self.stream = stream or sys.stdout
        self.every = every
        self._last = -float("inf")
        self._phase = ""

    def message(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def update(self, snapshot: Snapshot) -> None:
        if snapshot.phase != self._phase or snapshot.elapsed - self._last >= self.every:
            self._phase, self._last = snapshot.phase, snapshot.elapsed
            self.message(
                f"[{snapshot.elapsed:6.1f}s] {snapshot.phase:<9} requests {snapshot.requests:>6}  "
                f"failures {snapshot.failures:>5}  faults active {snapshot.faults_active}  "
                f"AWS calls {snapshot.aws_calls} ({snapshot.aws_failed} failed by faults)"
            )

    def close(self) -> None:
        """Nothing to close."""


class RichProgress:
    """A live panel: phase, elapsed, requests, failures, fault windows."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
        self._live.start()
        self._started = time.monotonic()

    def _render(self) -> Table:
        table = Table.grid(padding=(0, 2))
        snapshot = self._snapshot
        if snapshot is None:
            table.add_row("starting…")
            return table
        faults = f"[red]{snapshot.faults_active} active[/]" if snapshot.faults_active else "none active"
        table.add_row("phase", f"[bold]{snapshot.phase}[/]", "elapsed", f"{snapshot.elapsed:.1f}s")
        table.add_row(
            "requests", str(snapshot.requests), "failures", f"[red]{snapshot.failures}[/]" if snapshot.failures else "0"
        )
        table.add_row("faults", faults, "AWS calls", f"{snapshot.aws_calls} ({snapshot.aws_failed} failed by faults)")
        return table

    def message(self, text: str) -> None:
        self.console.print(text)

    def update(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
            self._live.update(self._render())

    def close(self) -> None:
        self._live.stop()


def for_terminal(stream: IO[str] | None = None) -> Progress:
    """Rich on a terminal, plain lines otherwise."""
    stream = stream or sys.stdout
    if stream.isatty():
        return RichProgress(Console(file=stream))
    return PlainProgress(stream)
