"""The experiment file: pydantic models of the whole format (DESIGN.md, "Experiment file").

Only ``version``, ``title`` and ``faults`` are required; a file used from pytest needs nothing else.
Unknown keys are errors. Loading from YAML or JSON, with file, line and column in every error,
lives in :mod:`chaos.loading`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chaos.engine import botodata
from chaos.engine.durations import Duration
from chaos.engine.fault import Fault
from chaos.iam.policy import operations_refusal
from chaos.verify.stop import StopCondition
from chaos.wire import MAX_STATUS, MIN_STATUS, base_url, check_placeholders, header, http_status, os_text, wire_path

__all__ = [
    "MAX_CONCURRENT_FAULTS",
    "MAX_STATUS",
    "MAX_WEIGHT",
    "MIN_RATE",
    "MIN_STATUS",
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


class Expect(BaseModel):
    """What 'degraded gracefully' means for this application: the limits the verifier checks."""

    model_config = _Strict

    availability: float | None = Field(
        default=None, ge=0, le=1, description="Least share of requests answered 2xx during the faults (0..1)."
    )
    graceful_statuses: StatusList = Field(
        default=(503, 429), description="Statuses (100-599) that count as a graceful refusal rather than a failure."
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
        default=None, description="Length of the fault phase, longer than 0s (default: until the last fault ends)."
    )
    recovery: Duration = Field(default=10.0, description="Load after the faults, to observe recovery.")

    @field_validator("faults")
    @classmethod
    def _faults(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise PydanticCustomError(
                "phase", "the fault phase must be longer than 0s: a run with no time under the faults proves nothing"
            )
        return value


class Guardrails(BaseModel):
    """Limits the run refuses to exceed (also read from [tool.chaos] in pyproject.toml; the stricter wins)."""

    model_config = _Strict

    regions: tuple[str, ...] | None = Field(default=None, description="The only regions faults may target.")
    services: tuple[str, ...] | None = Field(default=None, description="The only services faults may target.")
    max_duration: Duration | None = Field(default=None, description="Longest whole run (baseline + faults + recovery).")
    max_probability: float | None = Field(default=None, ge=0, le=1, description="Highest fault probability allowed.")
    max_concurrent_faults: int | None = Field(
        default=None, ge=1, le=MAX_CONCURRENT_FAULTS, description="Most faults active at the same time (1 to 1,000)."
    )
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

    @field_validator("role", "user", "group")
    @classmethod
    def _name(cls, value: str | None, info: ValidationInfo) -> str | None:
        # IAM's own rule for these names; anything else would fail at the AWS API, mid-run.
        longest = 128 if info.field_name == "group" else 64
        if value is not None and not re.fullmatch(rf"[A-Za-z0-9+=,.@_-]{{1,{longest}}}", value):
            raise PydanticCustomError(
                "iam_name",
                f"{value[:80]!r} is not an IAM {info.field_name} name: 1-{longest} letters, digits and +=,.@_- "
                "(a name, not a path or an ARN)",
            )
        return value

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


class Experiment(BaseModel):
    """An outage experiment: what fails, when, what traffic to drive, and what graceful means."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        allow_inf_nan=False,
        json_schema_extra={"title": "chaos-outage experiment"},
    )

    version: Literal[1] = Field(description="Format version: the integer 1.")
    title: str = Field(min_length=1, description="What is rehearsed, in one line.")
    description: str | None = Field(default=None, description="Why, and what a graceful application does.")
    tags: tuple[str, ...] = Field(default=(), description="Free-form tags for catalogues and reports.")
    seed: int | None = Field(
        default=None,
        ge=0,
        lt=2**32,
        description="Seed of probability sampling and of the load's choices (0 to 2**32-1).",
    )
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
    gateway: GatewayRef | None = Field(
        default=None,
        description="A gateway that is already running (a shared outage serve) that the application already "
        "points at: this run's faults are armed there and removed afterwards.",
    )
    stop_when: tuple[StopCondition, ...] = Field(
        default=(),
        description="Conditions watched from the start of the faults to the end of recovery; the first that "
        "holds aborts the run, everything rolled back (exit 3).",
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if type(value) is not int or value != 1:
            huge = isinstance(value, int) and value.bit_length() > 64
            shown = f"an integer of {value.bit_length():,} bits" if huge else repr(value)[:40]
            raise PydanticCustomError(
                "version", f"version must be the integer 1, the only format version (got {shown})"
            )
        return value

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
        found += self._running_app_problems()
        return found

    def _running_app_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        found: list[tuple[tuple[str | int, ...], str]] = []
        running = self.app is not None and self.app.running
        if self.gateway is not None and not running:
            found.append(
                (
                    ("gateway",),
                    "a shared gateway is for an application that is already running: remove app.command/app.wsgi "
                    "(the runner starts its own gateway for an application it starts)",
                )
            )
        if running and self.gateway is None and self.injector != "iam":
            found.append(
                (
                    ("app",),
                    "an application that is already running is judged through the gateway it points at: add "
                    "'gateway: {endpoint: URL}' (or use injector: iam on real AWS)",
                )
            )
        if self.gateway is not None and self.injector in ("hook", "iam"):
            found.append(
                (("injector",), f"'gateway' arms faults in a running gateway; injector {self.injector} does not")
            )
        if any(condition.availability_below is not None for condition in self.stop_when) and self.load is None:
            found.append((("stop_when",), "availability_below needs a 'load' to measure availability"))
        return found
