"""Schedules derived from the window (cron; a GitHub workflow valid against the workflow schema; an
EventBridge Scheduler CreateSchedule input valid for botocore and created on moto) and the history
(several runs, a regression named when a check newly fails)."""

from __future__ import annotations

import json
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

from chaos.history import History, trend

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
