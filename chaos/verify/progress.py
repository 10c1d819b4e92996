"""Progress of a run on the terminal: a live panel with rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from typing import IO, Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table

__all__ = ["NoProgress", "PlainProgress", "Progress", "RichProgress", "Snapshot", "console_for", "for_terminal"]

#: What the run is doing in the phases after the load, when the runner does not say it more precisely.
STEPS = {
    "steady_state_after": "probing the steady state after the faults",
    "verify": "reading back acknowledged writes, judging the checks",
    "rollback": "removing the faults, stopping the application and the gateway",
}


@dataclass(frozen=True)
class Snapshot:
    """The state of a run at one moment (times in seconds since the run started)."""

    phase: str
    elapsed: float
    requests: int
    failures: int
    faults_active: int
    aws_calls: int
    aws_failed: int
    active: tuple[str, ...] = ()
    """The labels of the faults active now."""
    planned: float | None = None
    """When the planned load (baseline, faults, recovery) ends, on the same clock as ``elapsed``."""
    step: str = ""
    """What the run is doing now, in words (default: said from the phase)."""

    @property
    def success(self) -> float | None:
        """The share of requests answered successfully so far, None before the first."""
        return (self.requests - self.failures) / self.requests if self.requests else None

    @property
    def left(self) -> float | None:
        """Seconds until the planned load ends (0 once it has), None when unknown."""
        return max(self.planned - self.elapsed, 0.0) if self.planned is not None else None

    @property
    def doing(self) -> str:
        """The step in words."""
        return self.step or STEPS.get(self.phase, "")


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


def _share(snapshot: Snapshot) -> str:
    return f"{snapshot.success:.1%}" if snapshot.success is not None else "-"


class PlainProgress:
    """One line per message, and a status line every few seconds and at each phase: for logs and CI."""

    def __init__(self, stream: IO[str] | None = None, every: float = 5.0) -> None:
        self.stream = stream or sys.stdout
        self.every = every
        self._last = -float("inf")
        self._phase = ""
        self._lock = threading.Lock()  # a message and a status line never interleave

    def message(self, text: str) -> None:
        with self._lock:
            print(text, file=self.stream, flush=True)

    def update(self, snapshot: Snapshot) -> None:
        if snapshot.phase == self._phase and snapshot.elapsed - self._last < self.every:
            return
        self._phase, self._last = snapshot.phase, snapshot.elapsed
        left = f"  {snapshot.left:.0f}s left" if snapshot.left else ""
        faults = f"faults active {snapshot.faults_active}"
        if snapshot.active:
            faults += f" ({'; '.join(snapshot.active)})"
        doing = f"  ({snapshot.doing})" if snapshot.doing else ""
        self.message(
            f"[{snapshot.elapsed:6.1f}s] {snapshot.phase:<9} requests {snapshot.requests:>6} ({_share(snapshot)} ok)  "
            f"failures {snapshot.failures:>5}  {faults}  "
            f"AWS calls {snapshot.aws_calls} ({snapshot.aws_failed} failed by faults){left}{doing}"
        )

    def close(self) -> None:
        """Nothing to close."""


def render_panel(snapshot: Snapshot | None) -> RenderableType:
    """The live panel for one snapshot: phase and time left, active faults, success share, AWS calls."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    if snapshot is None:
        table.add_row("phase", "starting…")
        return table
    timing = f"{snapshot.elapsed:.1f}s elapsed"
    if snapshot.planned is not None:
        timing += f", {snapshot.left:.0f}s left of the planned load" if snapshot.left else ""
    table.add_row("phase", f"[bold]{escape(snapshot.phase)}[/]  {timing}")
    if snapshot.doing:
        table.add_row("step", escape(snapshot.doing))
    if snapshot.active:
        names = "; ".join(escape(label) for label in snapshot.active)
        table.add_row("faults", f"[red]{len(snapshot.active)} active:[/] {names}")
    else:
        count = snapshot.faults_active
        table.add_row("faults", f"[red]{count} active[/]" if count else "none active")
    failures = f"[red]{snapshot.failures} failed[/]" if snapshot.failures else "0 failed"
    table.add_row("requests", f"{snapshot.requests}, [bold]{_share(snapshot)}[/] succeeded, {failures}")
    table.add_row("AWS calls", f"{snapshot.aws_calls} ({snapshot.aws_failed} failed by faults)")
    if snapshot.planned:
        bar = ProgressBar(total=snapshot.planned, completed=min(snapshot.elapsed, snapshot.planned), width=40)
        return Group(table, bar)
    return table


class RichProgress:
    """A live panel that keeps moving until the run is rolled back; messages scroll above it."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._live = Live(render_panel(None), console=self.console, refresh_per_second=4, transient=True)
        self._live.start()

    def message(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def update(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
            self._live.update(render_panel(snapshot))

    def close(self) -> None:
        self._live.stop()


def console_for(stream: IO[str] | None = None) -> Console:
    """A rich console for ``stream``. Not a terminal (a log, a pipe, CI): lines are never wrapped, so
    paths stay whole, and tables may use ``COLUMNS`` (else 160) columns instead of rich's 80."""
    stream = stream or sys.stdout
    if stream.isatty():
        return Console(file=stream)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else 160
    return Console(file=stream, soft_wrap=True, width=max(width, 120))  # never rich's 80 for a log


def for_terminal(stream: IO[str] | None = None) -> Progress:
    """Rich on a terminal, plain lines otherwise."""
    stream = stream or sys.stdout
    if stream.isatty():
        return RichProgress(console_for(stream))
    return PlainProgress(stream)
