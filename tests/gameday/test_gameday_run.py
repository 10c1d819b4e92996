"""``outage gameday run``: refused outside its window, the demo variants run with --ignore-window, the
combined reports (JUnit parsed with junitparser, HTML rendered in Chromium), the day stopped at the
first failure, and every run recorded in the history."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from junitparser import JUnitXml

OUTAGE = Path(sys.executable).with_name("outage")
EXPERIMENT = """
version: 1
title: the {variant} service loses S3
app: {{wsgi: "chaos.demo.wsgi:{variant}", url: "http://127.0.0.1:{{port}}"}}
load:
  rate: 20
  requests:
    - {{method: GET, path: "/docs/{{id}}", weight: 2}}
    - {{method: PUT, path: "/docs/{{id}}", body: "doc {{id}}"}}
  ids: 20
phases: {{baseline: 0.5s, recovery: 1s}}
faults:
  - {{kind: unavailable, service: s3, region: us-east-1, for: 1.5s}}
expect: {{availability: 0.9, durability: true}}
"""


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium package is needed (make test installs it)"
    return found


def _closed_window() -> str:
    """A window that is closed now: one hour, twelve hours from now, every day."""
    start = (datetime.now(timezone.utc) + timedelta(hours=12)).replace(minute=0)
    return f"{{days: [mon, tue, wed, thu, fri, sat, sun], hours: '{start:%H}:00-{start:%H}:59', timezone: UTC}}"


def _suite(folder: Path, order: list[str], stop: str) -> Path:
    for variant in ("naive", "resilient"):
        (folder / f"{variant}.yaml").write_text(EXPERIMENT.format(variant=variant))
    entries = "".join(f"  - {variant}.yaml\n" for variant in order)
    suite = folder / "suite.yaml"
    suite.write_text(
        f"version: 1\ntitle: Demo game day\nwindow: {_closed_window()}\nexperiments:\n{entries}"
        f"stop_the_day: {stop}\nnotes: on call - the tests\n"
    )
    return suite


def _gameday(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OUTAGE), "gameday", "run", "suite.yaml", "--db", "history.db", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_outside_its_window_the_day_is_refused(tmp_path: Path) -> None:
    _suite(tmp_path, ["resilient"], "never")
    result = _gameday(tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "refused: outside the game day's window (mon, tue, wed, thu, fri, sat, sun" in result.stderr
    assert "it next opens" in result.stderr
    assert not (tmp_path / "gameday-report").exists()
    skipped = _gameday(tmp_path, "--skip-outside-window")
    assert skipped.returncode == 0 and "nothing run" in skipped.stdout


def test_the_demo_variants_under_ignore_window(tmp_path: Path, chromium: str) -> None:
    _suite(tmp_path, ["naive", "resilient"], "never")
    result = _gameday(tmp_path, "--ignore-window", "--report", "day")
    assert result.returncode == 1, result.stdout + result.stderr  # naive was not graceful, the day went on
    assert "NOT GRACEFUL: an experiment was not graceful" in result.stdout
    day = tmp_path / "day"
    xml = JUnitXml.fromfile(str(day / "junit.xml"))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {"the naive service loses S3", "the resilient service loses S3"}
    naive = {case.name: case for case in suites["the naive service loses S3"]}
    assert {"availability", "durability", "graceful_errors"} <= set(naive)
    assert not naive["availability"].is_passed
    assert all(case.is_passed for case in suites["the resilient service loses S3"])
    for folder in ("01-the-naive-service-loses-s3", "02-the-resilient-service-loses-s3"):
        assert (day / folder / "report.html").is_file() and (day / folder / "journal.json").is_file()
    html = (day / "report.html").read_text()
    assert (
        "NOT GRACEFUL" in html and "on call - the tests" in html and "01-the-naive-service-loses-s3/report.html" in html
    )
    screenshot = tmp_path / "day.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            "--window-size=1200,900",
            (day / "report.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from PIL import Image

    with Image.open(screenshot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 20  # rendered text and a table, not a blank page
    history = subprocess.run(
        [str(OUTAGE), "history", "--db", "history.db", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    recorded = {entry["experiment"]: entry for entry in json.loads(history.stdout)}
    assert recorded["the naive service loses S3"]["runs"][0]["status"] == "failed"
    assert recorded["the naive service loses S3"]["runs"][0]["suite"] == "Demo game day"


def test_the_first_failure_stops_the_day(tmp_path: Path) -> None:
    _suite(tmp_path, ["naive", "resilient"], "first_failure")
    result = _gameday(tmp_path, "--ignore-window")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "STOPPED: the day was stopped: the naive service loses S3 was not graceful" in result.stdout
    assert "SKIPPED    the resilient service loses S3" in result.stdout
    xml = JUnitXml.fromfile(str(tmp_path / "gameday-report" / "junit.xml"))
    resilient = next(suite for suite in xml if suite.name == "the resilient service loses S3")
    assert [case.name for case in resilient] == ["run"] and resilient.skipped == 1


def _open_suite(folder: Path, *extra: str) -> Path:
    """The resilient variant in a window that is open all day, every day (UTC)."""
    (folder / "resilient.yaml").write_text(EXPERIMENT.format(variant="resilient"))
    suite = folder / "suite.yaml"
    suite.write_text(
        "version: 1\ntitle: Open day\nwindow: {days: [mon, tue, wed, thu, fri, sat, sun], hours: '00:00-24:00'}\n"
        "experiments: [resilient.yaml]\n" + "".join(extra)
    )
    return suite


def test_a_killed_day_is_found_by_rollback_and_the_day_runs_again(tmp_path: Path) -> None:
    _open_suite(tmp_path)
    day = subprocess.Popen(
        [str(OUTAGE), "gameday", "run", "suite.yaml", "--db", "history.db"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runs = tmp_path / ".chaos" / "runs"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # killed once its faults are armed
            journals = list(runs.glob("*.json"))
            if journals and '"inject"' in journals[0].read_text():
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the day's journal never showed its faults armed in .chaos/runs")
    finally:
        day.kill()
        day.wait()
    (journal,) = runs.glob("*.json")
    assert json.loads(journal.read_text())["status"] == "running"
    rollback = subprocess.run(
        [str(OUTAGE), "rollback"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    assert f".chaos/runs/{journal.name}: rolled back after a crash" in rollback.stdout
    again = _gameday(tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    (copied,) = (tmp_path / "gameday-report").glob("01-*/journal.json")
    assert json.loads(copied.read_text())["status"] == "passed"
    assert len(list(runs.glob("*.json"))) == 2  # each run keeps its journal where outage rollback looks


def test_a_second_trigger_in_the_same_opening_is_a_no_op(tmp_path: Path) -> None:
    # GitHub's summer schedule: 08:00 and 09:00 UTC both land in 10:00-16:00 Berlin.
    _open_suite(tmp_path)
    first = _gameday(tmp_path, "--skip-outside-window")
    assert first.returncode == 0, first.stdout + first.stderr
    second = _gameday(tmp_path, "--skip-outside-window")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "the game day already ran in this opening of its window" in second.stdout
    assert "nothing run" in second.stdout and "experiment 1/1" not in second.stderr
    history = subprocess.run(
        [str(OUTAGE), "history", "--db", "history.db", "--json"], cwd=tmp_path, capture_output=True, check=True
    )
    assert len(json.loads(history.stdout)[0]["runs"]) == 1
    forced = _gameday(tmp_path, "--report", "again")  # a person running it again is not a trigger
    assert forced.returncode == 0 and (tmp_path / "again" / "junit.xml").is_file()


def test_what_the_day_cannot_use_is_named_before_it_starts(tmp_path: Path) -> None:
    _open_suite(tmp_path)
    (tmp_path / "corrupt.db").write_bytes(b"not a database " * 20)
    (tmp_path / "a-file").write_text("")
    for args, expected in [
        (["--db", "corrupt.db"], "corrupt.db: the history database cannot be opened: file is not a database"),
        (["--db", str(tmp_path)], f"{tmp_path}: the history database is a directory"),
        (["--db", "/sys/x.db"], "/sys/x.db: the history database cannot be opened: unable to open database file"),
        (["--report", "a-file"], "a-file: the report directory is a file"),
    ]:
        result = subprocess.run(
            [str(OUTAGE), "gameday", "run", "suite.yaml", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.glob(".chaos/runs/*.json"))  # nothing started
    (tmp_path / "pyproject.toml").write_text("[tool.chaos]\nhistory = 5\n")
    result = subprocess.run(
        [str(OUTAGE), "gameday", "run", "suite.yaml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "pyproject.toml:2:1: tool.chaos.history" in result.stderr


def test_two_days_never_share_a_report_directory(tmp_path: Path) -> None:
    _open_suite(tmp_path)
    (tmp_path / "day").mkdir()
    with (tmp_path / "day" / ".gameday.lock").open("a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(json.dumps({"suite": "Weekly S3 game day", "pid": 4242, "started_at": "2026-11-30T10:00:00+00:00"}))
        held.flush()
        result = _gameday(tmp_path, "--report", "day")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "day: the game day 'Weekly S3 game day' (pid 4242" in result.stderr
    assert "give this one another --report" in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.glob(".chaos/runs/*.json"))
