"""Schedules derived from the window (cron; a GitHub workflow valid against the workflow schema; an
EventBridge Scheduler CreateSchedule input valid for botocore and created on moto) and the history
(several runs, a regression named when a check newly fails)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import yaml
from botocore.session import get_session
from botocore.validate import ParamValidator
from moto import mock_aws

from chaos.history import History, RunRecord, trend

OUTAGE = Path(sys.executable).with_name("outage")
ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "experiments" / "suites" / "weekly-s3.yaml"


def _schedule(fmt: str) -> str:
    return subprocess.run(
        [str(OUTAGE), "gameday", "schedule", str(SUITE), "--print", fmt],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def test_cron() -> None:
    text = _schedule("cron")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines[0] == "CRON_TZ=Europe/Berlin"
    assert lines[1].startswith("0 10 * * 1,2,3,4 cd ")
    assert "outage gameday run" in lines[1] and "--skip-outside-window" in lines[1]


def test_a_github_workflow_valid_against_the_workflow_schema() -> None:
    text = _schedule("github")
    workflow = yaml.safe_load(text)
    schema_file = resources.files("check_jsonschema").joinpath("builtin_schemas/vendor/github-workflows.json")
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(workflow, schema)
    # PyYAML reads the key "on" as True; GitHub reads it as "on".
    triggers = workflow.get("on", workflow.get(True))
    assert [item["cron"] for item in triggers["schedule"]] == ["0 8 * * 1,2,3,4", "0 9 * * 1,2,3,4"]
    steps = workflow["jobs"]["gameday"]["steps"]
    assert any("--skip-outside-window" in step.get("run", "") for step in steps)
    # The history survives the runner (saved whatever the verdict), so the second trigger finds the first run.
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    restore, save = steps[uses.index("actions/cache/restore")], steps[uses.index("actions/cache/save")]
    assert uses.index("actions/cache/restore") < uses.index("actions/cache/save")
    assert restore["with"]["path"] == save["with"]["path"] == ".chaos/history.db" and save["if"].startswith("always()")


def test_an_eventbridge_schedule_valid_for_botocore_and_created_on_moto() -> None:
    schedule: dict[str, Any] = json.loads(_schedule("eventbridge"))
    assert schedule["ScheduleExpression"] == "cron(0 10 ? * MON,TUE,WED,THU *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    model = get_session().get_service_model("scheduler").operation_model("CreateSchedule")
    report = ParamValidator().validate(schedule, model.input_shape)
    assert not report.has_errors(), report.generate_report()
    with mock_aws():
        client = boto3.client("scheduler", region_name="eu-central-1")
        client.create_schedule(**schedule)
        created = client.get_schedule(Name=schedule["Name"])
    assert created["ScheduleExpression"] == schedule["ScheduleExpression"]
    assert json.loads(created["Target"]["Input"])["command"][:3] == ["outage", "gameday", "run"]


def _journal(status: str, checks: dict[str, tuple[bool, float]], started: str) -> dict[str, Any]:
    return {
        "title": "S3 replay",
        "source": "experiments/replay.yaml",
        "started_at": started,
        "status": status,
        "checks": [
            {"name": name, "passed": ok, "measured": value, "limit": 0.9} for name, (ok, value) in checks.items()
        ],
    }


def test_history_names_a_regression(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as history:
        history.record(_journal("failed", {"availability": (False, 0.4), "durability": (True, 0)}, "2026-11-01T10:00"))
        history.record(_journal("passed", {"availability": (True, 0.97), "durability": (True, 0)}, "2026-11-08T10:00"))
        assert trend(history.runs("S3 replay")).direction == "improving"
        history.record(_journal("failed", {"availability": (True, 0.96), "durability": (False, 3)}, "2026-11-15T10:00"))
        runs = history.runs("replay.yaml")  # by file name too
    found = trend(runs)
    assert found.direction == "regressing" and found.newly_failing == ["durability"]
    assert "newly failing: durability" in found.summary
    shown = subprocess.run(
        [str(OUTAGE), "history", "--db", str(tmp_path / "h.db"), "S3 replay"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "S3 replay: regressing: passed -> failed; newly failing: durability" in shown
    assert "availability ok 0.96" in shown and "durability FAIL 3" in shown


def _cron_runs(line: str) -> list[str]:
    """What cron hands the shell for a crontab line (crontab(5): an unescaped % ends the command and starts
    its standard input; \\% is a %), split as the shell splits it."""
    command = line.split(" ", 5)[5]
    kept, escaped = [], False
    for char in command:
        if escaped:
            kept.append(char if char == "%" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            break
        else:
            kept.append(char)
    return shlex.split("".join(kept))


def test_a_percent_sign_survives_cron(tmp_path: Path) -> None:
    suite = tmp_path / "100% s3.yaml"
    suite.write_text(SUITE.read_text().replace("../", str(SUITE.parent.parent) + "/"))
    text = subprocess.run(
        [str(OUTAGE), "gameday", "schedule", str(suite), "--print", "cron", "--report", "reports/%Y-%m"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
    ).stdout
    line = text.splitlines()[-1]
    assert "\\%" in line
    words = _cron_runs(line)
    assert words[words.index("run") + 1] == str(suite) and words[words.index("--report") + 1] == "reports/%Y-%m"
    refused = subprocess.run(
        [str(OUTAGE), "gameday", "schedule", str(suite), "--print", "cron", "--report", "a\nb"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "holds a line break" in refused.stderr, refused.stderr


def _record(history: History, status: str, checks: dict[str, tuple[bool, float]], started: str) -> None:
    history.record(_journal(status, checks, started))


def test_the_trend_compares_what_both_runs_measured(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as history:
        _record(history, "passed", {"availability": (True, 0.97)}, "2026-11-01T10:00")
        _record(history, "aborted", {}, "2026-11-08T10:00")  # stopped before any check
        aborted = trend(history.runs("S3 replay"))
        _record(history, "failed", {"availability": (False, 0.4)}, "2026-11-15T10:00")
        failed = trend(history.runs("S3 replay"))
        _record(history, "failed", {"availability": (True, 0.95), "durability": (False, 2)}, "2026-11-22T10:00")
        swapped = trend(history.runs("S3 replay"))
        _record(history, "passed", {"availability": (True, 0.99), "durability": (True, 0)}, "2026-11-29T10:00")
        passed = trend(history.runs("S3 replay"))
    assert aborted.summary == "regressing: passed -> aborted"
    assert failed.summary == "improving: aborted -> failed"  # a verdict at last; nothing passed before to fail now
    # durability was not measured before: it fails, but it does not newly fail
    assert swapped.summary == "improving: failed -> failed; newly passing: availability"
    assert passed.summary == "improving: failed -> passed; newly passing: durability"
    mixed = [
        RunRecord(1, "S3 replay", None, None, "failed", None, None, {"a": (False, 0, "0"), "b": (True, 1, "1")}),
        RunRecord(2, "S3 replay", None, None, "failed", None, None, {"a": (True, 1, "1"), "b": (False, 0, "0")}),
    ]
    assert trend(mixed).summary == "regressing: failed -> failed; newly failing: b; newly passing: a"


def test_history_wildcards_are_plain_characters(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as history:
        history.record(_journal("passed", {}, "2026-11-01T10:00"))
        assert history.runs("%") == [] and history.runs("replay_yaml") == [] and history.runs("r%.yaml") == []
        assert len(history.runs("replay.yaml")) == 1
    shown = subprocess.run(
        [str(OUTAGE), "history", "--db", str(tmp_path / "h.db"), "%"], capture_output=True, text=True, check=False
    )
    assert shown.returncode == 2 and "no run of '%'" in shown.stderr


def _history(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OUTAGE), "history", *args], capture_output=True, text=True, check=False, cwd=cwd, timeout=60
    )


def test_history_databases_that_cannot_be_read_are_named(tmp_path: Path) -> None:
    (tmp_path / "corrupt.db").write_bytes(b"this is not SQLite, not at all, and longer than a header" * 4)
    for args, expected in [
        (["--db", str(tmp_path)], f"{tmp_path}: the history database is not a file"),
        (["--db", "corrupt.db"], "corrupt.db: the history database cannot be opened: file is not a database"),
        (["--db", "missing.db", "S3 replay"], "no history yet at missing.db"),
    ]:
        result = _history(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr
    assert _history("--db", "missing.db", cwd=tmp_path).returncode == 0  # nothing recorded yet is not an error
    (tmp_path / "pyproject.toml").write_text("[tool.chaos]\nhistory = 5\n")
    result = _history(cwd=tmp_path)
    assert result.returncode == 2 and "pyproject.toml:2:1: tool.chaos.history: a path to a SQLite file" in result.stderr
