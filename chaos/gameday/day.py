"""Running a game day: the suite's experiments in order, within its window, stopped as it says.

Exit codes: 0 every experiment was graceful; 1 one was not (and the day went on to its end);
3 the day was refused (outside its window) or stopped (the first failure under
``stop_the_day: first_failure``, an aborted experiment, Ctrl-C or SIGTERM); 4 a rollback was
incomplete. Every experiment is recorded in the history.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chaos import exits
from chaos.gameday.report import DayReport, Played, write_day
from chaos.gameday.suite import LoadedSuite
from chaos.history import History
from chaos.journal import read_journal
from chaos.report import write_reports
from chaos.runner import Runner, RunResult
from chaos.signals import caught
from chaos.verify.progress import NoProgress, Progress

__all__ = ["DayResult", "outside_window", "run_day"]


@dataclass
class DayResult:
    """What the day did, and its exit code."""

    exit_code: int
    verdict: str
    reason: str
    played: list[Played] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)


def outside_window(loaded: LoadedSuite, now: datetime | None = None) -> str | None:
    """Why the suite may not run now (naming its window and when it next opens), or None."""
    window = loaded.suite.window
    moment = now or datetime.now(timezone.utc)
    if window is None or window.contains(moment):
        return None
    opens = window.next_open(moment)
    return f"outside the game day's window ({window.describe()}); it next opens {opens.isoformat(timespec='minutes')}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "experiment"


def run_day(
    loaded: LoadedSuite,
    report_dir: Path,
    *,
    history: History | None = None,
    progress: Progress | None = None,
    runner_factory: Callable[..., Runner] = Runner,
) -> DayResult:
    """Run every experiment of the suite in order (the window is the caller's to check)."""
    suite, progress = loaded.suite, progress or NoProgress()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    played: list[Played] = []
    stopped, failed, incomplete = "", False, False
    with caught() as stop:
        for number, (entry, path, experiment) in enumerate(loaded.experiments, 1):
            if stopped:
                played.append(Played(entry.file, experiment.title, None, None))
                continue
            folder = f"{number:02d}-{_slug(experiment.title)}"
            progress.message(f"experiment {number}/{len(loaded.experiments)}: {experiment.title} ({entry.file})")
            runner = runner_factory(
                experiment, source=str(path), journal_path=report_dir / folder / "journal.json", progress=progress
            )
            result: RunResult = runner.run()
            journal = read_journal(result.journal_path)
            write_reports(journal, report_dir / folder)
            if history is not None:
                history.record(journal, result.journal_path, suite=suite.title)
            played.append(Played(entry.file, experiment.title, journal, folder))
            incomplete = incomplete or not result.rollback_complete
            if result.status in ("aborted", "error"):
                stopped = f"{experiment.title} was {result.status}: {result.reason}"
            elif result.status != "passed":
                failed = True
                if suite.stop_the_day == "first_failure" and not entry.continue_on_failure:
                    stopped = f"{experiment.title} was not graceful, and the suite stops at the first failure"
            if stop and not stopped:
                stopped = "stopped by a signal between experiments"
    if stopped:
        verdict, reason, code = "STOPPED", f"the day was stopped: {stopped}", exits.REFUSED
    elif failed:
        verdict, reason, code = "NOT GRACEFUL", "an experiment was not graceful", exits.NOT_GRACEFUL
    else:
        verdict, reason, code = "GRACEFUL", "every experiment degraded gracefully", exits.GRACEFUL
    if incomplete:
        code, reason = exits.ROLLBACK_INCOMPLETE, reason + "; a rollback was INCOMPLETE (see its journal)"
    window = suite.window.describe() if suite.window else None
    day = DayReport(suite.title, window, suite.notes, started_at, verdict, reason, played)
    return DayResult(code, verdict, reason, played, write_day(day, report_dir))


def day_summary(result: DayResult) -> list[dict[str, Any]]:
    """One row per experiment: file, title, status (for the CLI)."""
    return [{"file": p.file, "title": p.title, "status": p.status} for p in result.played]
