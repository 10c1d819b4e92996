"""Stop conditions: watched from the start of the faults to the end of recovery; one firing aborts the run.

``availability_below`` reads the load the runner drives; ``http`` polls a URL (a status page, a
pager) with a plain HTTP client; ``cloudwatch_alarm`` reads an alarm with a botocore client that no
injector touches (configured endpoint URLs are ignored, and the hook lets it pass); ``command`` runs
a command (a kill switch) and fires when it exits non-zero. A condition that cannot be checked
(the alarm cannot be read three times in a row, the command times out) fires too: the runner never
goes on blind.
"""

from __future__ import annotations

import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chaos.engine import botodata
from chaos.engine.durations import Duration
from chaos.verify.log import RequestLog

__all__ = ["AlarmRef", "StopCondition", "StopHttp", "StopWatch", "Stopped"]

_KINDS = ("availability_below", "http", "cloudwatch_alarm", "command")


class StopHttp(BaseModel):
    """A URL that must keep answering with one of ``status``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="An http(s) URL, e.g. https://status.example/health.")
    status: tuple[int, ...] = Field(default=(200,), description="Statuses that count as healthy.")
    timeout: Duration = Field(default=2.0, description="How long one poll may take.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise PydanticCustomError("url", f"{value!r} is not an http(s) URL")
        return value

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, int) and not isinstance(value, bool) else value


class AlarmRef(BaseModel):
    """A CloudWatch alarm; the run stops when it is in ALARM."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=255, description="The alarm's name.")
    region: str = Field(description="The region the alarm lives in.")
    endpoint_url: str | None = Field(
        default=None, description="Another CloudWatch endpoint (LocalStack, moto); default: AWS's own."
    )

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        known = botodata.known_regions()
        if value not in known:
            raise PydanticCustomError("region", f"{value!r} is not an AWS region{botodata.suggest(value, known)}")
        return value


class StopCondition(BaseModel):
    """One condition that aborts the run (everything rolled back) as soon as it holds."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, description="What the condition protects, for the journal and reports.")
    availability_below: float | None = Field(
        default=None, gt=0, le=1, description="Stop when the load's share of 2xx stays below this for 'for'."
    )
    for_: Duration = Field(default=3.0, alias="for", description="With availability_below: for how long.")
    http: StopHttp | None = Field(default=None, description="Stop when this URL stops answering as expected.")
    failures: int = Field(default=3, ge=1, le=1000, description="With http: consecutive failed polls that stop.")
    cloudwatch_alarm: AlarmRef | None = Field(default=None, description="Stop when this alarm is in ALARM.")
    command: tuple[str, ...] | None = Field(
        default=None, min_length=1, description="Stop when this command exits non-zero (a kill switch)."
    )
    timeout: Duration = Field(default=5.0, description="With command: how long it may run (longer stops the run).")

    @model_validator(mode="after")
    def _exactly_one(self) -> StopCondition:
        given = [kind for kind in _KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise PydanticCustomError(
                "stop_when", "give exactly one of availability_below, http, cloudwatch_alarm, command"
            )
        return self

    @property
    def kind(self) -> str:
        """Which of the four kinds this is."""
        return next(kind for kind in _KINDS if getattr(self, kind) is not None)


@dataclass(frozen=True)
class Stopped:
    """A condition that fired."""

    name: str
    kind: str
    detail: str
    at: float
    """Seconds from the start of the run."""

    def __str__(self) -> str:
        return f"stop condition {self.name!r} ({self.kind}): {self.detail}"


def monitoring_client(alarm: AlarmRef) -> Any:
    """A CloudWatch client that shares nothing with the outage: configured endpoint URLs (the gateway's
    ``AWS_ENDPOINT_URL``) are ignored, timeouts are short, and the hook injector lets it pass."""
    import boto3  # noqa: PLC0415 - only runs with an alarm to watch
    from botocore.config import Config  # noqa: PLC0415

    from chaos.injectors.exempt import exempt  # noqa: PLC0415

    config = Config(  # type: ignore[call-arg]  # the stubs lag botocore
        ignore_configured_endpoint_urls=True,
        connect_timeout=2,
        read_timeout=2,
        retries={"mode": "standard", "total_max_attempts": 2},
    )
    client = boto3.session.Session().client(
        "cloudwatch", region_name=alarm.region, endpoint_url=alarm.endpoint_url, config=config
    )
    return exempt(client)


class StopWatch:
    """Checks every condition twice a second; the first that fires calls ``on_stop`` once."""

    def __init__(
        self,
        conditions: Sequence[StopCondition],
        on_stop: Callable[[Stopped], None],
        *,
        log: RequestLog | None = None,
        clock: Callable[[], float] = time.monotonic,
        origin: float | None = None,
        every: float = 0.5,
    ) -> None:
        self.conditions, self.on_stop, self.log, self.every = list(conditions), on_stop, log, every
        self.clock = clock
        self.origin = clock() if origin is None else origin
        self.fired: Stopped | None = None
        self._stop = threading.Event()
        self._failures: dict[str, int] = {}
        self._clients: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, name="chaos-stop-watch", daemon=True)

    def prepare(self) -> None:
        """Check, before any fault, that every alarm exists (a typo must not leave the run unguarded)."""
        for condition in self.conditions:
            if condition.cloudwatch_alarm is not None:
                alarm = condition.cloudwatch_alarm
                client = self._clients.setdefault(condition.name, monitoring_client(alarm))
                found = client.describe_alarms(AlarmNames=[alarm.name]).get("MetricAlarms", [])
                found += client.describe_alarms(AlarmNames=[alarm.name], AlarmTypes=["CompositeAlarm"]).get(
                    "CompositeAlarms", []
                )
                if not found:
                    raise LookupError(f"stop condition {condition.name!r}: no alarm {alarm.name!r} in {alarm.region}")

    def start(self) -> StopWatch:
        """Start watching."""
        if self.conditions:
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            for condition in self.conditions:
                detail = self._check(condition)
                if detail is not None and self.fired is None:
                    self.fired = Stopped(condition.name, condition.kind, detail, round(self.clock() - self.origin, 3))
                    self.on_stop(self.fired)
                    return
            self._stop.wait(self.every)

    def _check(self, condition: StopCondition) -> str | None:
        """Why ``condition`` fires now, or None."""
        try:
            if condition.availability_below is not None:
                return self._availability(condition)
            if condition.http is not None:
                return self._counted(condition, self._http(condition.http), condition.failures)
            if condition.cloudwatch_alarm is not None:
                return self._alarm(condition)
            return self._command(condition)
        except Exception as exc:  # a check that cannot be made counts against the run
            return self._counted(condition, f"cannot be checked: {type(exc).__name__}: {exc}", 3)

    def _counted(self, condition: StopCondition, failure: str | None, limit: int) -> str | None:
        if failure is None:
            self._failures[condition.name] = 0
            return None
        count = self._failures.get(condition.name, 0) + 1
        self._failures[condition.name] = count
        return f"{failure} ({count} times in a row)" if count >= limit else None

    def _availability(self, condition: StopCondition) -> str | None:
        if self.log is None:
            return None
        threshold = condition.availability_below or 0.0
        now = int(self.clock() - self.origin)
        seconds = range(now - max(round(condition.for_), 1), now)  # complete seconds only
        shares = []
        for second in seconds:
            row = self.log.per_second.get(second)
            if not row or not row[0]:
                return None
            shares.append(row[1] / row[0])
        if shares and all(share < threshold for share in shares):
            lowest = max(shares)
            return f"availability below {threshold:.0%} for {len(shares)} s (at most {lowest:.1%})"
        return None

    @staticmethod
    def _http(check: StopHttp) -> str | None:
        try:
            with urllib.request.urlopen(check.url, timeout=check.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except (OSError, ValueError) as exc:
            return f"{check.url} did not answer ({exc})"
        return None if status in check.status else f"{check.url} answered {status}"

    def _alarm(self, condition: StopCondition) -> str | None:
        alarm = condition.cloudwatch_alarm
        assert alarm is not None
        client = self._clients.get(condition.name) or self._clients.setdefault(condition.name, monitoring_client(alarm))
        answer = client.describe_alarms(AlarmNames=[alarm.name])
        states = [item.get("StateValue") for item in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])]
        self._failures[condition.name] = 0
        return f"alarm {alarm.name} is in ALARM" if "ALARM" in states else None

    @staticmethod
    def _command(condition: StopCondition) -> str | None:
        assert condition.command is not None
        try:
            done = subprocess.run(
                list(condition.command),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=condition.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"{condition.command[0]} did not finish within {condition.timeout:g} s"
        except OSError as exc:
            return f"{condition.command[0]} cannot run: {exc.strerror or exc}"
        if done.returncode != 0:
            return f"{' '.join(condition.command)} exited {done.returncode}"
        return None
