"""run_day in this process with a stand-in runner: where journals live, what stops the day (a journal
held by another run, an experiment that cannot run, a signal between experiments), a history that
another writer holds, a report directory another day holds, and JUnit files whatever the titles hold."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from junitparser import JUnitXml

from chaos.errors import ConfigError
from chaos.gameday.day import ReportBusy, run_day
from chaos.gameday.suite import LoadedSuite, load_suite
from chaos.history import History
from chaos.journal import JournalBusy
from chaos.model import Experiment
from chaos.report.text import xml_document
from chaos.runner import RunResult
from chaos.signals import SignalFlag

EXPERIMENT = """version: 1
title: "{title}"
app: {{wsgi: "chaos.demo.wsgi:resilient", url: "http://127.0.0.1:{{port}}"}}
load: {{rate: 5, requests: [{{method: GET, path: /health}}]}}
faults:
  - {{kind: unavailable, service: s3, region: us-east-1, for: 1s}}
"""


def _suite(folder: Path, *titles: str, stop: str = "never") -> LoadedSuite:
    entries = ""
    for number, title in enumerate(titles, 1):
        (folder / f"e{number}.yaml").write_text(EXPERIMENT.format(title=title))
        entries += f"  - e{number}.yaml\n"
    (folder / "suite.yaml").write_text(f"version: 1\ntitle: Day\nexperiments:\n{entries}stop_the_day: {stop}\n")
    return load_suite(folder / "suite.yaml")


class Fake:
    """A runner that writes a finished journal where it is told, or raises what it is given."""

    started: list[str]

    def __init__(self, raises: dict[str, Exception] | None = None, during: Callable[[], None] | None = None) -> None:
        self.raises, self.during, self.started, self.flags = raises or {}, during, [], []

    def __call__(
        self, experiment: Experiment, *, source: str, journal_path: Path, progress: Any, signals: SignalFlag
    ) -> Fake:
        self.experiment, self.journal_path = experiment, journal_path
        self.flags.append(signals)
        return self

    def run(self) -> RunResult:
        title = self.experiment.title
        if title in self.raises:
            raise self.raises[title]
        self.started.append(title)
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        journal = {
            "title": title,
            "source": "e.yaml",
            "status": "passed",
            "reason": f"all good \ufffe{title}",
            "started_at": datetime.now(timezone.utc).isoformat(),
            "checks": [{"name": "availability", "passed": True, "measured": 1.0, "limit": 0.9}],
        }
        self.journal_path.write_text(json.dumps(journal))
        if self.during is not None:
            self.during()
        return RunResult("passed", 0, [], self.journal_path, "all good", True)


@pytest.fixture
def here(tmp_path: Path) -> Iterator[Path]:
    """The test runs in its own directory: journals go to ./.chaos/runs as outage run's do."""
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(before)


def test_journals_live_in_the_runs_directory_and_are_copied_into_the_report(here: Path) -> None:
    fake = Fake()
    result = run_day(_suite(here, "one", "two"), here / "day", runner_factory=fake)
    assert result.exit_code == 0, result.reason
    journals = sorted((here / ".chaos" / "runs").glob("*.json"))
    assert [path.name.split("-", 1)[1] for path in journals] == ["one.json", "two.json"]
    for number, title in ((1, "one"), (2, "two")):
        copy = here / "day" / f"0{number}-{title}" / "journal.json"
        assert json.loads(copy.read_text())["title"] == title
    assert all(flag is fake.flags[0] for flag in fake.flags)  # the day's own flag, given to every run


@pytest.mark.parametrize(
    ("error", "code"),
    [(JournalBusy("j.json: another run (pid 1) holds this journal"), 3), (ConfigError("e2.yaml: no app"), 2)],
)
def test_an_experiment_that_cannot_start_stops_the_day_and_the_report_is_written(
    here: Path, error: Exception, code: int
) -> None:
    fake = Fake(raises={"two": error})
    result = run_day(_suite(here, "one", "two", "three"), here / "day", runner_factory=fake)
    assert result.exit_code == code and result.verdict == "STOPPED"
    assert f"two could not start: {error}" in result.reason
    assert fake.started == ["one"]
    assert [played.status for played in result.played] == ["passed", "error", "skipped"]
    xml = JUnitXml.fromfile(str(here / "day" / "junit.xml"))
    two = next(suite for suite in xml if suite.name == "two")
    assert two.errors == 1 and str(error) in (here / "day" / "report.md").read_text()


def test_a_signal_between_experiments_stops_the_day_before_the_next_outage(here: Path) -> None:
    # SIGINT lands while the first experiment is tearing down (after its runner stopped watching).
    fake = Fake(during=lambda: os.kill(os.getpid(), signal.SIGINT))
    result = run_day(_suite(here, "one", "two"), here / "day", runner_factory=fake)
    assert fake.started == ["one"]
    assert result.exit_code == 3 and "stopped by SIGINT before two started" in result.reason
    assert [played.status for played in result.played] == ["passed", "skipped"]
    flag = SignalFlag()
    flag.signal = "SIGTERM"  # came while the suite was loading
    fake = Fake()
    result = run_day(_suite(here, "one"), here / "day", runner_factory=fake, signals=flag)
    assert fake.started == [] and "stopped by SIGTERM before one started" in result.reason


def test_a_history_another_writer_holds_costs_a_warning_not_the_day(here: Path) -> None:
    path = here / "history.db"
    History(path).close()
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with History(path, timeout=0.1) as history:
            result = run_day(_suite(here, "one", "two"), here / "day", runner_factory=Fake(), history=history)
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 0
    assert len(result.warnings) == 2 and "could not be recorded in the history" in result.warnings[0]
    assert "database is locked" in result.warnings[0] and str(path) in result.warnings[0]
    assert (here / "day" / "junit.xml").is_file()


def test_a_report_directory_is_one_days_at_a_time(here: Path) -> None:
    (here / "day").mkdir()
    with (here / "day" / ".gameday.lock").open("a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(json.dumps({"suite": "Other day", "pid": 4242, "started_at": "2026-11-30T10:00:00+00:00"}))
        held.flush()
        with pytest.raises(ReportBusy, match=r"the game day 'Other day' \(pid 4242, started 2026-11-30"):
            run_day(_suite(here, "one"), here / "day", runner_factory=Fake())
    assert run_day(_suite(here, "one"), here / "day", runner_factory=Fake()).exit_code == 0  # released
    (here / "file").write_text("")
    with pytest.raises(ConfigError, match="file: the report directory is a file"):
        run_day(_suite(here, "one"), here / "file", runner_factory=Fake())


def test_junit_files_parse_whatever_the_titles_hold(here: Path) -> None:
    title = "S3 \\ufffe outage \\uffff"  # noncharacters YAML accepts and XML 1.0 forbids
    result = run_day(_suite(here, title), here / "day", runner_factory=Fake())
    assert result.exit_code == 0
    day = JUnitXml.fromfile(str(here / "day" / "junit.xml"))
    assert [suite.name for suite in day] == ["S3 \ufffd outage \ufffd"]
    folder = next(path for path in (here / "day").iterdir() if path.is_dir())
    (run,) = JUnitXml.fromfile(str(folder / "junit.xml"))
    assert run.name == "outage: S3 \ufffd outage \ufffd"
    # control characters and lone surrogates (an application's output in a reason) are replaced as well
    root = ElementTree.Element("testsuite", name="a\x01b")
    ElementTree.SubElement(root, "system-out").text = "c\x1b[31md\ud800"
    parsed = ElementTree.fromstring(xml_document(root).encode("utf-8", "replace"))
    assert parsed.get("name") == "a\ufffdb" and parsed[0].text == "c\ufffd[31md\ufffd"
