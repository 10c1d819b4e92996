"""The application side of an experiment: how the runner starts the application (or finds it
running), the load it drives, the probes it makes, and a shared gateway it works through.

Part of the experiment file's models (:mod:`chaos.model` re-exports them).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chaos.engine.durations import Duration
from chaos.wire import MAX_STATUS, MIN_STATUS, base_url, check_placeholders, header, http_status, os_text, wire_path

__all__ = [
    "MAX_STATUS",
    "MAX_WEIGHT",
    "MIN_RATE",
    "MIN_STATUS",
    "App",
    "GatewayRef",
    "HttpCheck",
    "Load",
    "Probe",
    "RequestSpec",
    "StatusList",
]

_Strict = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)
_ID_SPACE_MAX = 10_000_000
_HTTP_METHODS = Literal["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]
MAX_WEIGHT = 1_000_000.0
MIN_RATE = 0.01
MAX_CONCURRENT_FAULTS = 1000


_STATUS_SCHEMA = {"type": "integer", "minimum": MIN_STATUS, "maximum": MAX_STATUS}
StatusList = Annotated[
    tuple[Annotated[int, AfterValidator(http_status)], ...],
    WithJsonSchema({"anyOf": [_STATUS_SCHEMA, {"type": "array", "items": _STATUS_SCHEMA}]}),
]
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _statuses(value: object) -> object:
    return (value,) if isinstance(value, int) and not isinstance(value, bool) else value


def _positive(value: float, what: str) -> float:
    if value <= 0:
        raise PydanticCustomError("timeout", f"{what} must be longer than 0s")
    return value


class App(BaseModel):
    """The application under test, started and stopped by the runner."""

    model_config = _Strict

    command: tuple[str, ...] | None = Field(
        default=None,
        min_length=1,
        description="The command that starts the application; '{port}' is replaced by a free port (gateway injector).",
    )
    wsgi: str | None = Field(
        default=None,
        description="Instead of command, a Python WSGI application 'module:attribute' (or a factory of one) run "
        "inside the runner on moto's in-process AWS, with the hook injector.",
    )
    url: str = Field(description="Where the application answers, e.g. 'http://127.0.0.1:{port}'.")
    ready: str = Field(default="/health", description="A path polled until it answers 2xx before anything starts.")
    ready_timeout: Duration = Field(default=30.0, description="How long to wait for 'ready' before giving up.")
    health: str | None = Field(
        default=None, description="The health endpoint checked for honesty during the outage (default: 'ready')."
    )
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables for the command.")
    cwd: str | None = Field(default=None, description="Working directory of the command (default: the current one).")
    stop_timeout: Duration = Field(default=10.0, description="How long the application gets to stop on SIGTERM.")

    @field_validator("command")
    @classmethod
    def _command(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for item in value or ():
            check_placeholders(item, ("port",))
            os_text(item, "a command argument")
        if value and not value[0]:
            raise PydanticCustomError("command", "the command's first word, the program to run, is empty")
        return value

    @field_validator("wsgi")
    @classmethod
    def _wsgi(cls, value: str | None) -> str | None:
        if value is None:
            return value
        module, _, attribute = value.partition(":")
        names = [*module.split("."), attribute]
        if not all(name.isidentifier() and name.isascii() for name in names):
            raise PydanticCustomError("wsgi", f"{value!r} is not 'module:attribute', e.g. 'myapp.web:application'")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _ENV_NAME.fullmatch(name):
                raise PydanticCustomError(
                    "env", f"{name!r} is not an environment variable name: letters, digits and '_', not a digit first"
                )
            os_text(text, f"the value of {name}")
        return value

    @field_validator("cwd")
    @classmethod
    def _cwd(cls, value: str | None) -> str | None:
        return None if value is None else os_text(value, "the directory")

    @field_validator("ready_timeout")
    @classmethod
    def _ready_timeout(cls, value: float) -> float:
        return _positive(value, "ready_timeout")

    @model_validator(mode="after")
    def _one_way_to_start(self) -> App:
        if self.command is not None and self.wsgi is not None:
            raise PydanticCustomError("app", "give one of command (a process) or wsgi (a Python application), not both")
        if self.running and "{port}" in self.url:
            raise PydanticCustomError(
                "app",
                "an application that is already running (no command, no wsgi) has a fixed address: "
                "write its url without '{port}'",
            )
        return self

    @property
    def running(self) -> bool:
        """Whether the application is already running: the tool neither starts nor stops it."""
        return self.command is None and self.wsgi is None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return base_url(value)

    @field_validator("ready", "health")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else wire_path(value, "/health")


class RequestSpec(BaseModel):
    """One kind of request the load generator sends."""

    model_config = _Strict

    method: _HTTP_METHODS = Field(default="GET", description="HTTP method.")
    path: str = Field(description="Path, with '{id}' replaced by a document id, e.g. '/docs/{id}'.")
    weight: float = Field(
        default=1.0, gt=0, le=MAX_WEIGHT, description="Relative share of this request in the load (0 < weight <= 1e6)."
    )
    body: str | None = Field(
        default=None, description="Request body; '{id}' is replaced. Writes are checked for durability."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers: token names, printable ASCII values."
    )
    name: str | None = Field(default=None, description="A name for reports (default: 'METHOD path').")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return check_placeholders(wire_path(value, "/docs/{id}"), ("id",))

    @field_validator("body")
    @classmethod
    def _body(cls, value: str | None) -> str | None:
        if value is not None and any("\ud800" <= char <= "\udfff" for char in value):
            raise PydanticCustomError("body", "the body contains a lone surrogate, which is not Unicode text")
        return None if value is None else check_placeholders(value, ("id",))

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            header(name, text)
        return value


class Load(BaseModel):
    """The traffic driven through the application during the run."""

    model_config = _Strict

    rate: float = Field(ge=MIN_RATE, le=10_000, description="Requests per second, in total (0.01 to 10,000).")
    concurrency: int = Field(default=4, ge=1, le=1024, description="Requests in flight at most (1 to 1,024).")
    requests: tuple[RequestSpec, ...] = Field(min_length=1, description="The requests, chosen by weight.")
    timeout: Duration = Field(
        default=5.0, description="A request unanswered after this long counts as a hang (longer than 0s)."
    )
    ids: int = Field(
        default=100, ge=1, le=_ID_SPACE_MAX, description="How many distinct '{id}' values to use (1 to 10,000,000)."
    )

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: float) -> float:
        return _positive(value, "the load's timeout")


class HttpCheck(BaseModel):
    """An HTTP request and the answer it must get."""

    model_config = _Strict

    path: str = Field(description="Path on the application, e.g. '/health'.")
    method: _HTTP_METHODS = Field(default="GET", description="HTTP method.")
    status: StatusList = Field(
        default=(200,), min_length=1, description="Accepted status code (100-599), or a list of them."
    )
    contains: str | None = Field(default=None, description="Text the body must contain.")
    timeout: Duration = Field(default=5.0, description="How long to wait for the answer (longer than 0s).")

    _statuses = field_validator("status", mode="before")(classmethod(lambda cls, value: _statuses(value)))

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return wire_path(value, "/health")

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: float) -> float:
        return _positive(value, "the probe's timeout")


class Probe(BaseModel):
    """A steady-state probe: checked before the faults and after recovery."""

    model_config = _Strict

    name: str = Field(min_length=1, description="What the probe checks, for reports.")
    http: HttpCheck = Field(description="The request and the expected answer.")


class GatewayRef(BaseModel):
    """A running outage gateway (``outage serve``) and its token."""

    model_config = _Strict

    endpoint: str = Field(description="Its URL, e.g. http://127.0.0.1:4566.")
    token: str | None = Field(
        default=None,
        exclude=True,  # never written into journals, plans or reports
        description="Its bearer token (better: set OUTAGE_TOKEN, which rollback uses too).",
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return base_url(value)
