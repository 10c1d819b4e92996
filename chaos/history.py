"""Every run, kept: a SQLite history of verdicts and measured values, and whether things improve.

``outage run`` and ``outage gameday run`` record each run (default ``.chaos/history.db``; ``--db``
or ``[tool.chaos] history`` to change it). ``outage history`` shows an experiment's runs over time
and says whether it is improving or regressing, naming the checks that newly fail.

A database that cannot be opened or read (a directory, a file that is not SQLite, a path that cannot
be written) raises :class:`HistoryError`, a ConfigError naming the path and the reason.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chaos.errors import ConfigError

__all__ = ["DEFAULT_PATH", "History", "HistoryError", "RunRecord", "Trend", "trend"]

DEFAULT_PATH = Path(".chaos") / "history.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    experiment TEXT NOT NULL,
    source TEXT,
    started_at TEXT,
    ended_at TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    injector TEXT,
    journal TEXT,
    suite TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment, started_at);
CREATE TABLE IF NOT EXISTS checks (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    passed INTEGER NOT NULL,
    measured REAL,
    shown TEXT,
    limit_shown TEXT
);
"""


@dataclass(frozen=True)
class RunRecord:
    """One run as the history keeps it."""

    id: int
    experiment: str
    source: str | None
    started_at: str | None
    status: str
    reason: str | None
    suite: str | None
    checks: dict[str, tuple[bool, float | None, str | None]] = field(default_factory=dict)
    """name -> (passed, measured as a number when it is one, measured as shown)."""

    @property
    def failing(self) -> list[str]:
        """The checks that failed."""
        return sorted(name for name, (passed, _, _) in self.checks.items() if not passed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = asdict(self)
        data["checks"] = {
            name: {"passed": passed, "measured": number, "shown": shown}
            for name, (passed, number, shown) in self.checks.items()
        }
        return data


@dataclass(frozen=True)
class Trend:
    """Where an experiment is heading, from its last two runs."""

    direction: str
    """first run, improving, regressing, or steady."""
    newly_failing: list[str]
    newly_passing: list[str]
    summary: str


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _shown(value: Any) -> str | None:
    return None if value is None else (value if isinstance(value, str) else json.dumps(value, default=str))


class HistoryError(ConfigError):
    """The history database cannot be opened, read or written (exit code 2 where a command opens it)."""


@contextlib.contextmanager
def _translated(path: Path, doing: str) -> Iterator[None]:
    """sqlite3 and file-system errors as a HistoryError naming the database and the reason."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        reason = str(exc)
        if isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror if exc.filename in (None, str(path)) else f"{exc.strerror}: {exc.filename}"
        raise HistoryError(f"{path}: the history database cannot be {doing}: {reason}") from exc


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class History:
    """The history database (created on first use).

    ``timeout``: how long a write waits for another writer's lock before it fails with HistoryError."""

    def __init__(self, path: Path = DEFAULT_PATH, timeout: float = 30.0) -> None:
        self.path = path
        if path.is_dir():
            raise HistoryError(f"{path}: the history database is a directory; give a file (--db FILE)")
        with _translated(path, "opened"):
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=timeout)
        try:
            with _translated(path, "opened"):
                self._db.execute("PRAGMA foreign_keys = ON")
                with contextlib.suppress(sqlite3.OperationalError):  # another process may hold it: the default works
                    self._db.execute("PRAGMA journal_mode = WAL")
                self._db.executescript(_SCHEMA)
        except HistoryError:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, journal: dict[str, Any], journal_path: Path | None = None, suite: str | None = None) -> int:
        """Keep one finished run (its journal); returns its id in the history."""
        with _translated(self.path, "written"), self._db:
            cursor = self._db.execute(
                "INSERT INTO runs (experiment, source, started_at, ended_at, status, reason, injector, journal, suite)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(journal.get("title", "")),
                    journal.get("source"),
                    journal.get("started_at"),
                    journal.get("ended_at"),
                    str(journal.get("status", "")),
                    journal.get("reason"),
                    journal.get("injector"),
                    None if journal_path is None else str(journal_path),
                    suite,
                ),
            )
            run_id = int(cursor.lastrowid or 0)
            self._db.executemany(
                "INSERT INTO checks (run_id, name, passed, measured, shown, limit_shown) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        str(check.get("name")),
                        1 if check.get("passed") else 0,
                        _number(check.get("measured")),
                        _shown(check.get("measured")),
                        _shown(check.get("limit")),
                    )
                    for check in journal.get("checks", [])
                    if isinstance(check, dict)
                ],
            )
        return run_id

    def experiments(self) -> list[str]:
        """Every experiment the history has runs of."""
        with _translated(self.path, "read"):
            return [row[0] for row in self._db.execute("SELECT DISTINCT experiment FROM runs ORDER BY experiment")]

    def suite_runs_since(self, suite: str, since: datetime) -> list[str]:
        """The start times of the runs recorded for game-day suite ``suite`` that started at or after
        ``since`` (aware), oldest first."""
        with _translated(self.path, "read"):
            rows = list(self._db.execute("SELECT started_at FROM runs WHERE suite = ? ORDER BY id", (suite,)))
        found = []
        for (started,) in rows:
            try:
                moment = datetime.fromisoformat(str(started))
            except ValueError:
                continue
            if moment.tzinfo is None:  # journals write UTC
                moment = moment.replace(tzinfo=timezone.utc)
            if moment >= since:
                found.append(str(started))
        return found

    def runs(self, experiment: str | None = None, limit: int = 1000) -> list[RunRecord]:
        """Runs, oldest first: of one experiment (by title, by source file, or by the file's name whatever
        its directory; ``%`` and ``_`` are plain characters) or of all."""
        query = "SELECT id, experiment, source, started_at, status, reason, suite FROM runs"
        arguments: tuple[Any, ...] = ()
        if experiment is not None:
            query += " WHERE experiment = ? OR source = ? OR source LIKE ? ESCAPE '\\'"
            arguments = (experiment, experiment, f"%/{_escape_like(experiment)}")
        query += " ORDER BY started_at DESC, id DESC LIMIT ?"
        records = []
        with _translated(self.path, "read"):
            rows = list(self._db.execute(query, (*arguments, limit)))
            for row in reversed(rows):
                checks = {
                    name: (bool(passed), measured, shown)
                    for name, passed, measured, shown in self._db.execute(
                        "SELECT name, passed, measured, shown FROM checks WHERE run_id = ?", (row[0],)
                    )
                }
                ident, name, source, started, status, reason, suite = row
                records.append(RunRecord(ident, name, source, started, status, reason, suite, checks=checks))
        return records


#: How good a verdict is (lower is better): what decides the trend when the checks do not.
_RANK = {"passed": 0, "unverified": 1, "failed": 2, "aborted": 3, "error": 3}


def trend(runs: list[RunRecord]) -> Trend:
    """Improving, regressing or steady: the last run against the one before.

    A check newly fails when it fails now and passed before; it newly passes when it failed before and
    passes now (a run without checks, aborted before its verdict, says nothing about them). When the
    checks point one way they decide; otherwise the verdicts do (passed, unverified, failed, then
    aborted or error), and a check that newly fails makes a tie a regression."""
    if not runs:
        return Trend("no runs", [], [], "no run recorded")
    if len(runs) == 1:
        return Trend("first run", [], [], f"first run: {runs[-1].status}")
    previous, latest = runs[-2], runs[-1]
    newly_failing = sorted(name for name in latest.failing if name in previous.checks and previous.checks[name][0])
    newly_passing = sorted(name for name in previous.failing if name in latest.checks and latest.checks[name][0])
    rank = _RANK.get(latest.status, 3) - _RANK.get(previous.status, 3)
    if newly_failing and not newly_passing:
        direction = "regressing"
    elif newly_passing and not newly_failing:
        direction = "improving"
    elif rank > 0 or (rank == 0 and newly_failing):
        direction = "regressing"
    elif rank < 0:
        direction = "improving"
    else:
        direction = "steady"
    parts = [f"{direction}: {previous.status} -> {latest.status}"]
    if newly_failing:
        parts.append(f"newly failing: {', '.join(newly_failing)}")
    if newly_passing:
        parts.append(f"newly passing: {', '.join(newly_passing)}")
    return Trend(direction, newly_failing, newly_passing, "; ".join(parts))
