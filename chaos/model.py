"""The experiment file: pydantic models of the whole format (DESIGN.md, "Experiment file").

Only ``version``, ``title`` and ``faults`` are required; a file used from pytest needs nothing else.
Unknown keys are errors. Loading from YAML or JSON, with file, line and column in every error,
lives in :mod:`chaos.loading`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chaos.engine import botodata
from chaos.engine.durations import Duration
from chaos.engine.fault import Fault
from chaos.iam.policy import operations_refusal
from chaos.traffic import (
    MAX_CONCURRENT_FAULTS,
    MAX_STATUS,
    MAX_WEIGHT,
    MIN_RATE,
    MIN_STATUS,
    App,
    GatewayRef,
    HttpCheck,
    Load,
    Probe,
    RequestSpec,
    StatusList,
    _statuses,
    _Strict,
)
from chaos.verify.stop import StopCondition

__all__ = [
    "MAX_CONCURRENT_FAULTS",
    "MAX_STATUS",
    "MAX_WEIGHT",
    "MIN_RATE",
    "MIN_STATUS",
    "App",
    "Expect",
    "Experiment",
    "GatewayRef",
    "Guardrails",
    "HttpCheck",
    "IamSettings",
    "IamTarget",
    "Load",
    "Phases",
    "Probe",
    "RequestSpec",
]


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
