"""Suite files (located errors, every experiment checked) and windows (containment, next opening, DST)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from chaos.gameday.suite import load_suite
from chaos.gameday.window import Window
from chaos.loading import ExperimentError

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "version: 1\ntitle: {title}\nfaults:\n  - {{kind: unavailable, service: s3, region: us-east-1, for: 1s}}\n"


def test_the_catalogue_suite_is_valid() -> None:
    loaded = load_suite(ROOT / "experiments" / "suites" / "weekly-s3.yaml")
    assert [entry.continue_on_failure for entry, _, _ in loaded.experiments] == [False, True]
    assert loaded.suite.window is not None and loaded.suite.window.timezone == "Europe/Berlin"


def test_problems_are_located_in_the_suite_and_in_its_experiments(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(EXPERIMENT.format(title="good"))
    (tmp_path / "bad.yaml").write_text(EXPERIMENT.format(title="bad").replace("unavailable", "unavailble"))
    (tmp_path / "suite.yaml").write_text(
        "version: 1\ntitle: day\nwindow: {days: [mon, funday], hours: '16:00-10:00', timezone: Europe/Berln}\n"
        "experiments:\n  - good.yaml\n  - {file: bad.yaml, contine: true}\nstop_the_day: sometimes\n"
    )
    with pytest.raises(ExperimentError) as raised:
        load_suite(tmp_path / "suite.yaml")
    text = str(raised.value)
    assert "suite.yaml:3:" in text and "window.days" in text
    assert "window.hours: '16:00-10:00': the window must end after it starts" in text
    assert "window.timezone: 'Europe/Berln' is not an IANA time zone" in text
    assert "suite.yaml:6:" in text and "experiments[1].contine: unknown field" in text
    assert "stop_the_day" in text
    (tmp_path / "suite.yaml").write_text("version: 1\ntitle: day\nexperiments: [good.yaml, bad.yaml, missing.yaml]\n")
    with pytest.raises(ExperimentError) as raised:
        load_suite(tmp_path / "suite.yaml")
    text = str(raised.value)
    assert "experiments[1]: bad.yaml is not runnable:" in text
    assert "bad.yaml:4:" in text and "unknown fault kind 'unavailble'" in text
    assert "experiments[2]: missing.yaml is not runnable:" in text


def test_a_window_knows_when_it_is_open_and_when_it_opens_next() -> None:
    window = Window(days=("mon", "tue", "wed", "thu"), hours="10:00-16:00", timezone="Europe/Berlin")
    winter_monday_morning = datetime(2026, 11, 30, 9, 30, tzinfo=timezone.utc)  # 10:30 in Berlin (UTC+1)
    summer_monday_morning = datetime(2026, 6, 1, 8, 30, tzinfo=timezone.utc)  # 10:30 in Berlin (UTC+2)
    assert window.contains(winter_monday_morning) and window.contains(summer_monday_morning)
    assert not window.contains(datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc))  # 16:00 Berlin: closed
    friday = datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc)
    assert not window.contains(friday)
    assert window.next_open(friday).isoformat() == "2026-12-07T10:00:00+01:00"
    # GitHub schedules in UTC: one opening per offset of the zone (winter 09:00, summer 08:00 UTC).
    assert window.utc_openings() == [(8, 0, (1, 2, 3, 4)), (9, 0, (1, 2, 3, 4))]


def test_a_window_past_midnight_utc_moves_to_the_previous_day() -> None:
    window = Window(days=("mon",), hours="00:30-02:00", timezone="Asia/Tokyo")  # UTC+9, no DST
    assert window.utc_openings() == [(15, 30, (0,))]  # Sunday 15:30 UTC


def test_the_published_suite_schema_is_current_and_rejects_what_the_loader_rejects() -> None:
    import json

    import jsonschema

    from chaos.schema import schema_text

    published = ROOT / "docs" / "suite-schema.json"
    assert published.read_text() == schema_text(suite=True), "run: outage schema --suite -o docs/suite-schema.json"
    schema = json.loads(published.read_text())
    jsonschema.validate({"version": 1, "title": "t", "experiments": ["a.yaml", {"file": "b.yaml"}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": 1, "title": "t", "experiments": [], "stop_the_day": "later"}, schema)


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)  # type: ignore[misc]


def test_openings_are_instants_across_daylight_saving_changes() -> None:
    # 2026-03-29: Berlin's clocks jump from 02:00 to 03:00, so 02:30 does not exist; the window is open
    # from the jump (03:00+02:00, 01:00Z) until 03:30+02:00, which is when it closes, not when it opens.
    spring = Window(days=("sun",), hours="02:30-03:30", timezone="Europe/Berlin")
    assert spring.next_open(_utc(2026, 3, 28, 12, 0)).isoformat() == "2026-03-29T03:00:00+02:00"
    assert spring.contains(_utc(2026, 3, 29, 1, 0)) and not spring.contains(_utc(2026, 3, 29, 1, 30))
    assert spring.current_opening(_utc(2026, 3, 29, 1, 10)) == _utc(2026, 3, 29, 1, 0)
    # 2026-10-25: the hour 02:00-03:00 happens twice (at +02:00, then at +01:00); at 00:45Z the first
    # 02:00-02:30 is over and the second one opens at 01:00Z, not next week.
    autumn = Window(days=("sun",), hours="02:00-02:30", timezone="Europe/Berlin")
    assert not autumn.contains(_utc(2026, 10, 25, 0, 45))
    assert autumn.next_open(_utc(2026, 10, 25, 0, 45)).isoformat() == "2026-10-25T02:00:00+01:00"
    assert autumn.current_opening(_utc(2026, 10, 25, 1, 10)) == _utc(2026, 10, 25, 1, 0)
    assert autumn.current_opening(_utc(2026, 10, 25, 0, 10)) == _utc(2026, 10, 25, 0, 0)
    # A window the repeated hour only extends opens once that day.
    long = Window(days=("sun",), hours="02:00-04:00", timezone="Europe/Berlin")
    assert long.current_opening(_utc(2026, 10, 25, 1, 45)) == _utc(2026, 10, 25, 0, 0)
    assert long.next_open(_utc(2026, 10, 25, 0, 45)).isoformat() == "2026-11-01T02:00:00+01:00"
    # An ordinary day, and a window open all day: each day's window is an opening of its own.
    normal = Window(days=("mon", "wed"), hours="10:00-16:00", timezone="Europe/Berlin")
    assert normal.next_open(_utc(2026, 6, 1, 7, 59)).isoformat() == "2026-06-01T10:00:00+02:00"
    assert normal.next_open(_utc(2026, 6, 1, 8, 0)).isoformat() == "2026-06-03T10:00:00+02:00"  # strictly after
    assert normal.current_opening(_utc(2026, 6, 1, 13, 0)) == _utc(2026, 6, 1, 8, 0)
    assert normal.current_opening(_utc(2026, 6, 2, 13, 0)) is None
    always = Window(days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), hours="00:00-24:00")
    assert always.current_opening(_utc(2026, 6, 2, 13, 0)) == _utc(2026, 6, 2, 0, 0)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("{days: [mon], hours: '10:00-11:00', timezone: Europe}", "'Europe' is not an IANA time zone"),
        ("{days: [mon], hours: '10:00-11:00', timezone: " + "x" * 5000 + "}", "(5000 characters) is not an IANA"),
        ("{days: [mon], hours: '10:00-11:00', timezone: localtime}", "'localtime' is not an IANA time zone"),
        ("{days: [mon], hours: '10:00-11:00', timezone: posix/Europe/Berlin}", "'posix/Europe/Berlin' is not"),
        ("{days: [mon], hours: '10:00-11:00', timezone: right/UTC}", "'right/UTC' is not an IANA time zone"),
        ("{days: [mon], hours: '10:00-11:00', timezone: Factory}", "'Factory' is not an IANA time zone"),
        ("{days: [mon], hours: '10:00-11:00', timezone: ../../../etc/passwd}", "is not an IANA time zone"),
        ('{days: [mon], hours: "10:00-11:00\\n"}', "window.hours: '10:00-11:00\\n' is not 'HH:MM-HH:MM'"),
    ],
)
def test_zones_and_hours_that_are_not_what_they_seem_are_located_errors(
    tmp_path: Path, window: str, expected: str
) -> None:
    (tmp_path / "suite.yaml").write_text(f"version: 1\ntitle: day\nwindow: {window}\nexperiments: [e.yaml]\n")
    with pytest.raises(ExperimentError) as raised:
        load_suite(tmp_path / "suite.yaml")
    assert "suite.yaml:3:" in str(raised.value) and expected in str(raised.value)


def test_every_experiment_is_checked_runnable_before_the_day(tmp_path: Path) -> None:
    app = "app: {wsgi: 'chaos.demo.wsgi:resilient', url: 'http://127.0.0.1:{port}'}\nload: {rate: 5, requests: [{method: GET, path: /}]}\n"
    (tmp_path / "good.yaml").write_text(EXPERIMENT.format(title="good") + app)
    (tmp_path / "endless.yaml").write_text(EXPERIMENT.format(title="endless").replace(", for: 1s", "") + app)
    (tmp_path / "no-app.yaml").write_text(EXPERIMENT.format(title="no app"))
    (tmp_path / "suite.yaml").write_text(
        "version: 1\ntitle: day\nexperiments: [good.yaml, endless.yaml, no-app.yaml]\n"
    )
    with pytest.raises(ExperimentError) as raised:
        load_suite(tmp_path / "suite.yaml")
    text = str(raised.value)
    assert "experiments[0]" not in text
    assert "experiments[1]: endless.yaml cannot be run:" in text and "a fault has no 'for'" in text
    assert "experiments[2]: no-app.yaml cannot be run:" in text and "add 'app' and 'load'" in text
