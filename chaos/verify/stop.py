"""Stop conditions: watched from the start of the faults to the end of recovery; one firing aborts the run.

``availability_below`` reads the load the runner drives; ``http`` polls a URL (a status page, a
pager) with a plain HTTP client; ``cloudwatch_alarm`` reads an alarm with a botocore client that no
injector touches (configured endpoint URLs are ignored, and the hook lets it pass); ``command`` runs
a command (a kill switch) and fires when it exits non-zero. A condition that cannot be checked
(the alarm cannot be read three times in a row, the command times out) fires too: the runner never
goes on blind.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chaos.engine import botodata
from chaos.engine.durations import Duration

__all__ = ["AlarmRef", "StopCondition", "StopHttp", "Stopped", "monitoring_client"]

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

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise PydanticCustomError("url", f"{value!r} is not an http(s) URL")
        return value

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
    moto = sys.modules.get("moto.core.models")  # an in-process run's AWS is moto's: the alarm is not there
    stubber = getattr(moto, "botocore_stubber", None)
    if stubber is not None:
        client.meta.events.unregister("before-send", stubber)
    return exempt(client)
