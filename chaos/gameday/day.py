"""Running a game day: the suite's experiments in order, within its window, stopped as it says.

Exit codes: 0 every experiment was graceful; 1 one was not (and the day went on to its end);
2 an experiment could not be run as given; 3 the day was refused (outside its window, its report
directory held by another day) or stopped (the first failure under ``stop_the_day: first_failure``,
an aborted experiment, one whose journal another run holds, Ctrl-C or SIGTERM); 4 a rollback was
incomplete. Every experiment is recorded in the history.

Each experiment's journal lives where ``outage run`` puts it (``.chaos/runs/<time>-<title>.json``)
while it runs, so that ``outage rollback`` with no argument finds a day that was killed; it is
copied into the day's report directory (``NN-<title>/journal.json``) once the run is over.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chaos import exits
from chaos.errors import ChaosError, ConfigError
from chaos.gameday.report import DayReport, Played, write_day
from chaos.gameday.suite import LoadedSuite, SuiteEntry
from chaos.history import History, HistoryError
from chaos.journal import DEFAULT_DIR, JournalBusy, default_path, read_journal
from chaos.model import Experiment
from chaos.report import write_reports
from chaos.runner import Runner, RunResult
from chaos.signals import SignalFlag, caught
from chaos.verify.progress import NoProgress, Progress

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: two days may share a report directory
    fcntl = None  # type: ignore[assignment]

__all__ = ["DayResult", "ReportBusy", "already_ran", "outside_window", "run_day"]

_LOCK = ".gameday.lock"


class ReportBusy(ChaosError):
    """Another game day is writing its reports into the same directory (exit code 3)."""


@dataclass
class DayResult:
    """What the day did, and its exit code."""

    exit_code: int
    verdict: str
    reason: str
    played: list[Played] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What went wrong without stopping the day (a run the history could not record)."""


def outside_window(loaded: LoadedSuite, now: datetime | None = None) -> str | None:
    """Why the suite may not run now (naming its window and when it next opens), or None."""
    window = loaded.suite.window
    moment = now or datetime.now(timezone.utc)
    if window is None or window.contains(moment):
        return None
    opens = window.next_open(moment)
    return f"outside the game day's window ({window.describe()}); it next opens {opens.isoformat(timespec='minutes')}"


def already_ran(loaded: LoadedSuite, history: History, now: datetime | None = None) -> str | None:
    """Why a scheduled trigger has nothing to do: the history records a run of this suite that started
    in the opening of the window that holds ``now`` (a UTC scheduler fires once per offset of the zone,
    and in summer two of those land in the window). None when the day has not run in it yet, or the
    suite has no window. Raises HistoryError when the history cannot be read."""
    window = loaded.suite.window
    moment = now or datetime.now(timezone.utc)
    opening = None if window is None else window.current_opening(moment)
    if window is None or opening is None:
        return None
    runs = history.suite_runs_since(loaded.suite.title, opening)
    if not runs:
        return None
    opened = opening.astimezone(window.zone).isoformat(timespec="minutes")
    return (
        f"the game day already ran in this opening of its window (opened {opened}; "
        f"a run started {runs[0]}, recorded in {history.path})"
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "experiment"


@contextlib.contextmanager
def _report_directory(directory: Path, title: str) -> Iterator[None]:
    """Create ``directory`` and hold it for this day: ConfigError when it cannot be a directory,
    ReportBusy naming the day that holds it."""
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory}: the report directory is a file; give a directory (--report DIR)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = (directory / _LOCK).open("a+", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{directory}: the report directory cannot be created: {exc.strerror or exc}") from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                try:
                    holder = json.loads(handle.read())
                    other = f"{holder['suite']!r} (pid {holder['pid']}, started {holder['started_at']})"
                except (ValueError, TypeError, KeyError):
                    other = "another game day"
                raise ReportBusy(
                    f"{directory}: the game day {other} is writing its reports there; give this one another --report"
                ) from None
            handle.seek(0)
            handle.truncate()
            started = datetime.now(timezone.utc).isoformat(timespec="seconds")
            handle.write(json.dumps({"suite": title, "pid": os.getpid(), "started_at": started}))
            handle.flush()
        yield
    finally:
        handle.close()  # closing drops the lock


def _accepts_signals(factory: Callable[..., Runner]) -> bool:
    """Whether the runner takes the day's signal flag (``signals=``), so that a signal is the day's too."""
    try:
        return "signals" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


RunnerStart = Callable[[Experiment, Path], RunResult]
"""Starts one experiment's run and returns its result (raises JournalBusy, ConfigError or OSError when it
cannot)."""


@dataclass
class _Day:
    """The state of a day while it runs."""

    loaded: LoadedSuite
    report_dir: Path
    history: History | None
    progress: Progress
    played: list[Played] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stopped: str = ""
    failed: bool = False
    incomplete: bool = False
    invalid: bool = False

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.progress.message(f"warning: {text}")

    def run(self, number: int, entry: SuiteEntry, path: Path, experiment: Experiment, start: RunnerStart) -> None:
        """Run one experiment, write its reports, record it, and decide whether the day goes on."""
        folder = f"{number:02d}-{_slug(experiment.title)}"
        self.progress.message(f"experiment {number}/{len(self.loaded.experiments)}: {experiment.title} ({entry.file})")
        try:
            result = start(experiment, path)
        except (JournalBusy, ConfigError, OSError) as exc:  # OSError: its journal cannot be written
            self.invalid = self.invalid or isinstance(exc, ConfigError)
            self.played.append(Played(entry.file, experiment.title, None, None, error=str(exc)))
            self.stopped = f"{experiment.title} could not start: {exc}"
            return
        journal = read_journal(result.journal_path)
        reports: str | None = folder
        try:
            write_reports(journal, self.report_dir / folder)
            shutil.copyfile(result.journal_path, self.report_dir / folder / "journal.json")
        except OSError as exc:
            self.warn(f"{experiment.title}: its reports could not be written into {self.report_dir / folder}: {exc}")
            reports = None
        if self.history is not None:
            try:
                self.history.record(journal, result.journal_path, suite=self.loaded.suite.title)
            except HistoryError as exc:  # another writer held the database too long: the day goes on
                self.warn(f"{experiment.title}: the run could not be recorded in the history: {exc}")
        self.played.append(Played(entry.file, experiment.title, journal, reports))
        self.incomplete = self.incomplete or not result.rollback_complete
        if result.status in ("aborted", "error"):
            self.stopped = f"{experiment.title} was {result.status}: {result.reason}"
        elif result.status != "passed":
            self.failed = True
            if self.loaded.suite.stop_the_day == "first_failure" and not entry.continue_on_failure:
                self.stopped = f"{experiment.title} was not graceful, and the suite stops at the first failure"

    def verdict(self) -> tuple[str, str, int]:
        """The day's verdict, its reason and its exit code."""
        if self.stopped:
            verdict, reason = "STOPPED", f"the day was stopped: {self.stopped}"
            code = exits.INVALID if self.invalid else exits.REFUSED
        elif self.failed:
            verdict, reason, code = "NOT GRACEFUL", "an experiment was not graceful", exits.NOT_GRACEFUL
        else:
            verdict, reason, code = "GRACEFUL", "every experiment degraded gracefully", exits.GRACEFUL
        if self.incomplete:
            code, reason = exits.ROLLBACK_INCOMPLETE, reason + "; a rollback was INCOMPLETE (see its journal)"
        return verdict, reason, code


def run_day(
    loaded: LoadedSuite,
    report_dir: Path,
    *,
    history: History | None = None,
    progress: Progress | None = None,
    runner_factory: Callable[..., Runner] = Runner,
    signals: SignalFlag | None = None,
    journal_dir: Path = DEFAULT_DIR,
) -> DayResult:
    """Run every experiment of the suite in order (the window is the caller's to check).

    ``signals``: the flag SIGINT and SIGTERM set (a new one by default); once set, no further
    experiment starts. Raises ConfigError when ``report_dir`` cannot be a directory and ReportBusy
    when another day holds it; anything else stops the day and is in its result and its report."""
    suite = loaded.suite
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    day = _Day(loaded, report_dir, history, progress or NoProgress())
    with _report_directory(report_dir, suite.title), caught(signals) as stop:
        extra: dict[str, Any] = {"signals": stop} if _accepts_signals(runner_factory) else {}

        def start(experiment: Experiment, path: Path) -> RunResult:
            journal_path = default_path(experiment.title, journal_dir)
            runner = runner_factory(
                experiment, source=str(path), journal_path=journal_path, progress=day.progress, **extra
            )
            return runner.run()

        for number, (entry, path, experiment) in enumerate(loaded.experiments, 1):
            if stop and not day.stopped:  # it came during the previous experiment's teardown, or before this one
                day.stopped = f"stopped by {stop.signal} before {experiment.title} started"
            if day.stopped:
                day.played.append(Played(entry.file, experiment.title, None, None))
                continue
            day.run(number, entry, path, experiment, start)
        verdict, reason, code = day.verdict()
        window = suite.window.describe() if suite.window else None
        report = DayReport(suite.title, window, suite.notes, started_at, verdict, reason, day.played)
        try:
            written = write_day(report, report_dir)
        except OSError as exc:
            day.warn(f"the day's reports could not be written into {report_dir}: {exc}")
            written = []
    return DayResult(code, verdict, reason, day.played, written, day.warnings)


def day_summary(result: DayResult) -> list[dict[str, Any]]:
    """One row per experiment: file, title, status (for the CLI)."""
    return [{"file": p.file, "title": p.title, "status": p.status} for p in result.played]
