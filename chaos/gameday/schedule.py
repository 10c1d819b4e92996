"""A suite's schedule, derived from its window, for three schedulers: cron, GitHub Actions, EventBridge.

Each runs ``outage gameday run SUITE --skip-outside-window`` when the window opens. The guard makes
a trigger that lands outside the window (a UTC-only scheduler across a daylight-saving change, a
cron in another time zone) a harmless no-op instead of a game day nobody is watching, and so is a
second trigger in the same opening of the window (the history records the first).
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import yaml

from chaos.errors import ConfigError
from chaos.gameday.window import DAYS, Window
from chaos.history import DEFAULT_PATH

__all__ = ["FORMATS", "cron", "eventbridge", "github", "run_command"]

FORMATS = ("cron", "github", "eventbridge")
_CRON_DAYS = {day: (index + 1) % 7 for index, day in enumerate(DAYS)}  # cron: 0 = Sunday
_CACHE_KEY = "gameday-history-${{ github.run_id }}-${{ github.run_attempt }}"


def run_command(suite: str, report: str | None = None) -> list[str]:
    """The command every schedule runs."""
    command = ["outage", "gameday", "run", suite, "--skip-outside-window"]
    if report:
        command += ["--report", report]
    return command


def _days(numbers: tuple[int, ...]) -> str:
    return ",".join(str(number) for number in numbers)


def cron(window: Window, suite: str, report: str | None = None, directory: str = ".") -> str:
    """A crontab entry: ``CRON_TZ`` (cronie, systemd-cron) and the line at the window's opening time.

    Raises ConfigError for a path a crontab line cannot hold (a line break)."""
    days = _days(tuple(sorted(_CRON_DAYS[day] for day in window.days)))
    for what, value in (("the suite path", suite), ("--report", report or ""), ("the directory", directory)):
        if "\n" in value or "\r" in value:
            raise ConfigError(f"{what} {value!r} holds a line break, which a crontab line cannot hold")
    command = f"cd {shlex.quote(directory)} && {shlex.join(run_command(suite, report))}"
    # cron turns every unescaped % of the command into a line break (quotes do not protect it); \% is a %.
    command = command.replace("%", "\\%")
    return (
        f"# {window.describe()}; crons without CRON_TZ read the line in the machine's time zone,\n"
        "# and the run refuses to start outside the window whatever the cron thinks\n"
        f"CRON_TZ={window.timezone}\n"
        f"{window.opens.minute} {window.opens.hour} * * {days} {command}\n"
    )


def github(window: Window, suite: str, title: str, report: str = "gameday-report") -> str:
    """A GitHub Actions workflow: UTC crons for each offset of the zone, the run, the reports kept."""
    schedules = [{"cron": f"{minute} {hour} * * {_days(days)}"} for hour, minute, days in window.utc_openings()]
    workflow: dict[str, Any] = {
        "name": f"Game day: {title}",
        "on": {"schedule": schedules, "workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "concurrency": {"group": "gameday", "cancel-in-progress": False},
        "jobs": {
            "gameday": {
                "runs-on": "ubuntu-latest",
                "timeout-minutes": 120,
                "steps": [
                    {"uses": "actions/checkout@v4"},
                    {"uses": "actions/setup-python@v5", "with": {"python-version": "3.12"}},
                    {"run": "pip install chaos-outage"},
                    # The history outlives the runner, so the second UTC trigger of a summer day finds the
                    # first one's run and does nothing (a cache entry per run; the newest is restored).
                    {
                        "uses": "actions/cache/restore@v4",
                        "with": {
                            "path": DEFAULT_PATH.as_posix(),
                            "key": _CACHE_KEY,
                            "restore-keys": "gameday-history-",
                        },
                    },
                    {"run": shlex.join(run_command(suite, report))},
                    {
                        "if": f"always() && hashFiles('{DEFAULT_PATH.as_posix()}') != ''",  # none when nothing ran
                        "uses": "actions/cache/save@v4",
                        "with": {"path": DEFAULT_PATH.as_posix(), "key": _CACHE_KEY},
                    },
                    {
                        "if": "always()",
                        "uses": "actions/upload-artifact@v4",
                        "with": {"name": "gameday-report", "path": report, "if-no-files-found": "ignore"},
                    },
                ],
            }
        },
    }
    header = f"# {window.describe()}: GitHub runs schedules in UTC, so one trigger per UTC offset of the zone;\n"
    header += "# --skip-outside-window turns the one outside the window, or a second one in it, into a no-op.\n"
    return header + yaml.safe_dump(workflow, sort_keys=False, width=1000)


def eventbridge(
    window: Window, suite: str, title: str, target_arn: str, role_arn: str, report: str | None = None
) -> dict[str, Any]:
    """The input of EventBridge Scheduler's CreateSchedule (which takes the time zone itself)."""
    days = ",".join(day.upper() for day in window.days)
    name = re.sub(r"[^0-9A-Za-z_.-]+", "-", f"gameday-{title}").strip("-")[:64]
    return {
        "Name": name,
        "Description": f"Game day: {title} ({window.describe()})"[:512],
        "ScheduleExpression": f"cron({window.opens.minute} {window.opens.hour} ? * {days} *)",
        "ScheduleExpressionTimezone": window.timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": target_arn,
            "RoleArn": role_arn,
            "Input": json.dumps({"command": run_command(suite, report)}),
        },
    }
