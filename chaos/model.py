"""The experiment file: pydantic models of the whole format (DESIGN.md, "Experiment file").

Only ``version``, ``title`` and ``faults`` are required; a file used from pytest needs nothing else.
Unknown keys are errors. Loading from YAML or JSON, with file, line and column in every error,
lives in :mod:`chaos.loading`.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chaos.engine import botodata
from chaos.engine.durations import Duration
from chaos.engine.fault import Fault
from chaos.iam.policy import operations_refusal

__all__ = [
    "App",
    "Expect",
    "Experiment",
    "Guardrails",
    "HttpCheck",
    "IamSettings",
    "IamTarget",
    "Load",
    "Phases",
    "Probe",
    "RequestSpec",
]

_Strict = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
_ID_SPACE_MAX = 10_000_000
_HTTP_METHODS = Literal["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]
StatusList = Annotated[
    tuple[int, ...],
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]}),
]


def _placeholders(text: str) -> list[str]:
    """The ``{name}`` placeholders in ``text``."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise PydanticCustomError("placeholder", f"unbalanced braces in {text!r}: {exc}") from exc


def _check_placeholders(text: str, allowed: tuple[str, ...]) -> str:
    for name in _placeholders(text):
        if name not in allowed:
            hint = botodata.suggest(name, list(allowed))
            raise PydanticCustomError(
                "placeholder",
                f"unknown placeholder {{{name}}}{hint} here you can use "
                + ", ".join("{" + item + "}" for item in allowed),
            )
    return text


def _statuses(value: object) -> object:
    return (value,) if isinstance(value, int) and not isinstance(value, bool) else value


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
            _check_placeholders(item, ("port",))
        return value

    @field_validator("wsgi")
    @classmethod
    def _wsgi(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", value):
            raise PydanticCustomError("wsgi", f"{value!r} is not 'module:attribute', e.g. 'myapp.web:application'")
        return value

    @model_validator(mode="after")
    def _one_way_to_start(self) -> App:
        if (self.command is None) == (self.wsgi is None):
            raise PydanticCustomError("app", "give exactly one of command (a process) or wsgi (a Python application)")
        return self

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise PydanticCustomError("url", f"{value!r} is not an http(s) URL; write e.g. 'http://127.0.0.1:{{port}}'")
        return _check_placeholders(value, ("port",))

    @field_validator("ready", "health")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise PydanticCustomError("path", f"{value!r} must be a path starting with '/', e.g. '/health'")
        return value


class RequestSpec(BaseModel):
    """One kind of request the load generator sends."""

    model_config = _Strict

    method: _HTTP_METHODS = Field(default="GET", description="HTTP method.")
    path: str = Field(description="Path, with '{id}' replaced by a document id, e.g. '/docs/{id}'.")
    weight: float = Field(default=1.0, gt=0, description="Relative share of this request in the load.")
    body: str | None = Field(
        default=None, description="Request body; '{id}' is replaced. Writes are checked for durability."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    name: str | None = Field(default=None, description="A name for reports (default: 'METHOD path').")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise PydanticCustomError("path", f"{value!r} must start with '/', e.g. '/docs/{{id}}'")
        return _check_placeholders(value, ("id",))

    @field_validator("body")
    @classmethod
    def _body(cls, value: str | None) -> str | None:
        return None if value is None else _check_placeholders(value, ("id",))


class Load(BaseModel):
    """The traffic driven through the application during the run."""

    model_config = _Strict

    rate: float = Field(gt=0, le=10_000, description="Requests per second, in total.")
    concurrency: int = Field(default=4, ge=1, le=1024, description="Requests in flight at most.")
    requests: tuple[RequestSpec, ...] = Field(min_length=1, description="The requests, chosen by weight.")
    timeout: Duration = Field(default=5.0, description="A request unanswered after this long counts as a hang.")
    ids: int = Field(default=100, ge=1, le=_ID_SPACE_MAX, description="How many distinct '{id}' values to use.")


class HttpCheck(BaseModel):
    """An HTTP request and the answer it must get."""

    model_config = _Strict

    path: str = Field(description="Path on the application, e.g. '/health'.")
    method: _HTTP_METHODS = Field(default="GET", description="HTTP method.")
    status: StatusList = Field(default=(200,), description="Accepted status code, or a list of them.")
    contains: str | None = Field(default=None, description="Text the body must contain.")
    timeout: Duration = Field(default=5.0, description="How long to wait for the answer.")

    _statuses = field_validator("status", mode="before")(classmethod(lambda cls, value: _statuses(value)))


class Probe(BaseModel):
    """A steady-state probe: checked before the faults and after recovery."""

    model_config = _Strict

    name: str = Field(min_length=1, description="What the probe checks, for reports.")
    http: HttpCheck = Field(description="The request and the expected answer.")


class Expect(BaseModel):
    """What 'degraded gracefully' means for this application: the limits the verifier checks."""

    model_config = _Strict

    availability: float | None = Field(
        default=None, ge=0, le=1, description="Least share of requests answered 2xx during the faults (0..1)."
    )
    graceful_statuses: StatusList = Field(
        default=(503, 429), description="Statuses that count as a graceful refusal rather than a failure."
    )
    latency_p50: Duration | None = Field(default=None, description="Most 50th-percentile latency during the faults.")
    latency_p95: Duration | None = Field(default=None, description="Most 95th-percentile latency during the faults.")
    latency_p99: Duration | None = Field(default=None, description="Most 99th-percentile latency during the faults.")
    durability: bool = Field(
        default=False, description="Every write acknowledged during the run must read back intact after recovery."
    )
    recovery: Duration | None = Field(
        default=None, description="Most time after the faults end until the steady state holds again."
    )
    retry_amplification: float | None = Field(
        default=None, ge=1, description="Most AWS calls per application request during the faults, against baseline."
    )
    health_reports_degraded: bool = Field(
        default=False, description="The health endpoint must stay reachable and say 'degraded' during the outage."
    )

    _statuses = field_validator("graceful_statuses", mode="before")(classmethod(lambda cls, value: _statuses(value)))


class Phases(BaseModel):
    """How long each phase of a run lasts."""

    model_config = _Strict

    baseline: Duration = Field(default=5.0, description="Load before the faults, to measure the steady state.")
    faults: Duration | None = Field(
        default=None, description="Length of the fault phase (default: until the last fault ends)."
    )
    recovery: Duration = Field(default=10.0, description="Load after the faults, to observe recovery.")


class Guardrails(BaseModel):
    """Limits the run refuses to exceed (also read from [tool.chaos] in pyproject.toml; the stricter wins)."""

    model_config = _Strict

    regions: tuple[str, ...] | None = Field(default=None, description="The only regions faults may target.")
    services: tuple[str, ...] | None = Field(default=None, description="The only services faults may target.")
    max_duration: Duration | None = Field(default=None, description="Longest whole run (baseline + faults + recovery).")
    max_probability: float | None = Field(default=None, ge=0, le=1, description="Highest fault probability allowed.")
    max_concurrent_faults: int | None = Field(default=None, ge=1, description="Most faults active at the same time.")
    accounts: tuple[str, ...] | None = Field(
        default=None, description="IAM injector: the AWS account ids it may change (required for real AWS)."
    )
    protected_principals: tuple[str, ...] = Field(
        default=(), description="IAM injector: principal ARN patterns that are never targeted."
    )

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        known = botodata.known_regions()
        for region in value or ():
            if region not in known:
                raise PydanticCustomError("region", f"{region!r} is not an AWS region{botodata.suggest(region, known)}")
        return value

    @field_validator("services")
    @classmethod
    def _services(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        known = botodata.known_services()
        for service in value or ():
            if service not in known:
                raise PydanticCustomError(
                    "service", f"{service!r} is not a botocore service name{botodata.suggest(service, known)}"
                )
        return value

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for account in value or ():
            if not re.fullmatch(r"\d{12}", account):
                raise PydanticCustomError("account", f"{account!r} is not a 12-digit AWS account id (quote it in YAML)")
        return value


class IamTarget(BaseModel):
    """A principal the IAM injector denies: exactly one of role, user or group."""

    model_config = _Strict

    role: str | None = Field(default=None, description="IAM role name.")
    user: str | None = Field(default=None, description="IAM user name.")
    group: str | None = Field(default=None, description="IAM group name.")

    @model_validator(mode="after")
    def _exactly_one(self) -> IamTarget:
        given = [name for name in ("role", "user", "group") if getattr(self, name)]
        if len(given) != 1:
            raise PydanticCustomError("iam_target", "name exactly one of role, user or group")
        return self


class IamSettings(BaseModel):
    """How the IAM injector applies the experiment on a real account."""

    model_config = _Strict

    targets: tuple[IamTarget, ...] = Field(min_length=1, description="The principals whose calls are denied.")
    expiry_margin: Duration = Field(
        default=300.0, description="Policies expire by themselves this long after the run's planned end."
    )
    propagation: Duration = Field(
        default=15.0,
        description="How long a denial may take to be in effect: waited out, or the bound of the probe below.",
    )
    probe_profile: str | None = Field(
        default=None,
        description="An AWS profile with a target's credentials: the run polls an S3 call with it until it is denied.",
    )


class Experiment(BaseModel):
    """An outage experiment: what fails, when, what traffic to drive, and what graceful means."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, json_schema_extra={"title": "chaos-outage experiment"}
    )

    version: Literal[1] = Field(description="Format version; 1.")
    title: str = Field(min_length=1, description="What is rehearsed, in one line.")
    description: str | None = Field(default=None, description="Why, and what a graceful application does.")
    tags: tuple[str, ...] = Field(default=(), description="Free-form tags for catalogues and reports.")
    seed: int | None = Field(default=None, ge=0, lt=2**32, description="Seed of probability sampling.")
    injector: Literal["hook", "gateway", "iam"] | None = Field(
        default=None, description="How faults are injected (default: gateway when 'app' is set, else hook)."
    )
    app: App | None = Field(default=None, description="The application the runner starts, drives and stops.")
    load: Load | None = Field(default=None, description="The traffic driven through the application.")
    steady_state: tuple[Probe, ...] = Field(default=(), description="Probes that must pass before and after.")
    phases: Phases = Field(default_factory=Phases, description="How long each phase lasts.")
    faults: tuple[Fault, ...] = Field(
        min_length=1, description="The faults, on a timeline relative to the fault phase."
    )
    expect: Expect = Field(default_factory=Expect, description="The limits the verifier checks.")
    guardrails: Guardrails = Field(default_factory=Guardrails, description="Limits the run refuses to exceed.")
    iam: IamSettings | None = Field(default=None, description="Settings of the IAM injector.")

    @property
    def fault_phase(self) -> float | None:
        """Length of the fault phase in seconds: given, or the end of the last fault (None if one never ends)."""
        if self.phases.faults is not None:
            return self.phases.faults
        ends = [fault.end for fault in self.faults]
        return None if any(end is None for end in ends) else max(end or 0.0 for end in ends)

    @property
    def total_duration(self) -> float | None:
        """Baseline + faults + recovery, in seconds (None when the fault phase has no end)."""
        phase = self.fault_phase
        return None if phase is None else self.phases.baseline + phase + self.phases.recovery

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Problems that span fields: (path in the document, message); empty when consistent."""
        found: list[tuple[tuple[str | int, ...], str]] = []
        phase = self.phases.faults
        for index, fault in enumerate(self.faults):
            if phase is not None and fault.after >= phase > 0:
                found.append(
                    (("faults", index, "after"), f"starts at {fault.after:g}s, after the {phase:g}s fault phase ended")
                )
            elif phase is not None and fault.end is not None and fault.end > phase:
                found.append(
                    (("faults", index, "for"), f"ends at {fault.end:g}s, after the {phase:g}s fault phase ended")
                )
        if self.injector == "iam" and self.iam is None:
            found.append((("injector",), "the iam injector needs an 'iam' section naming the targets"))
        if self.injector == "iam":
            for index, fault in enumerate(self.faults):
                reason = operations_refusal(fault)
                if reason is not None:
                    found.append((("faults", index, "operations"), reason))
        if self.app is not None and self.load is None:
            found.append((("app",), "an application to drive needs a 'load' section saying how"))
        if self.load is not None and self.app is None:
            found.append((("load",), "'load' needs an 'app' section saying where to send it"))
        if self.expect.health_reports_degraded and self.app is None:
            found.append((("expect", "health_reports_degraded"), "needs an 'app' whose health endpoint is checked"))
        return found
