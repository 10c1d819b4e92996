"""A fault: which AWS calls it matches and what happens to them."""

from __future__ import annotations

import enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chaos.engine import botodata
from chaos.engine.durations import Duration

__all__ = ["ERROR_KINDS", "Fault", "FaultKind"]


class FaultKind(str, enum.Enum):
    """What happens to a matched call."""

    UNAVAILABLE = "unavailable"
    """503 ServiceUnavailable in the service's own error format."""
    SLOW_DOWN = "slow_down"
    """S3's 503 SlowDown (other services: their own throttling error)."""
    THROTTLE = "throttle"
    """The service's own throttling error (ThrottlingException, ProvisionedThroughputExceededException...)."""
    INTERNAL_ERROR = "internal_error"
    """500 InternalError."""
    ACCESS_DENIED = "access_denied"
    """403 AccessDenied: not retried by the SDKs."""
    CONNECTION_ERROR = "connection_error"
    """The endpoint cannot be reached: no HTTP answer at all."""
    TIMEOUT = "timeout"
    """The request is sent, no answer comes back before the client's read timeout."""
    LATENCY = "latency"
    """The call is delayed, then made for real."""
    LOST_RESPONSE = "lost_response"
    """The call is made for real (a write is stored), then the client sees a read timeout."""


#: Kinds answered with an HTTP error response.
ERROR_KINDS = frozenset(
    {
        FaultKind.UNAVAILABLE,
        FaultKind.SLOW_DOWN,
        FaultKind.THROTTLE,
        FaultKind.INTERNAL_ERROR,
        FaultKind.ACCESS_DENIED,
    }
)

_KIND_VALUES = [kind.value for kind in FaultKind]
_WAITING_KINDS = (FaultKind.LATENCY, FaultKind.TIMEOUT, FaultKind.LOST_RESPONSE)

#: A name or a list of names (in files and JSON); held as a tuple.
Names = Annotated[
    tuple[str, ...],
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


def _names(value: Any, field: str) -> tuple[str, ...]:
    """A name or a list of names as a tuple; ``"*"`` stays a one-element tuple."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        if not value:
            raise PydanticCustomError("empty", f"{field} must name at least one value, or be '*'")
        return tuple(value)
    raise PydanticCustomError("names", f"{field} must be a name, a list of names, or '*'")


class Fault(BaseModel):
    """One fault: the calls it matches (service, region, operations, buckets) and what happens to them.

    >>> Fault(kind="unavailable", service="s3", region="us-east-1").label
    'unavailable s3 us-east-1'
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_enum_values=False, allow_inf_nan=False
    )

    kind: FaultKind = Field(description="What happens to a matched call: " + ", ".join(_KIND_VALUES) + ".")
    service: Names = Field(
        default=("*",), description="botocore service name (s3, dynamodb, ...), a list of them, or '*'."
    )
    region: Names = Field(default=("*",), description="An AWS region (us-east-1), a list of regions, or '*'.")
    operations: Names = Field(
        default=(), description="Operation names as in botocore (GetObject, PutItem); empty means all."
    )
    buckets: Names = Field(default=(), description="S3 only: bucket names; empty means all.")
    key_prefix: str | None = Field(default=None, description="S3 only: only keys starting with this.")
    probability: float = Field(default=1.0, description="Share of matching calls that fail, 0..1; sampling is seeded.")
    latency: Duration | None = Field(
        default=None,
        description="For latency: the delay. For timeout and lost_response: how long the request is held "
        "before the client gets no answer (default: the client's read timeout; the gateway holds at most 60s).",
    )
    jitter: Duration | None = Field(default=None, description="For latency: up to this much is added at random.")
    after: Duration = Field(default=0.0, description="When the fault starts, relative to the fault phase.")
    for_: Duration | None = Field(
        default=None,
        alias="for",
        description="How long the fault lasts, longer than 0s; unset means until it is removed.",
    )
    include_global: bool = Field(
        default=False,
        description="Also fail the global endpoints that live in us-east-1: IAM, global STS, s3.amazonaws.com.",
    )
    name: str | None = Field(default=None, description="A name to refer to this fault in reports and markers.")

    @field_validator("kind", mode="before")
    @classmethod
    def _known_kind(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in _KIND_VALUES:
            hint = botodata.suggest(value, _KIND_VALUES)
            raise PydanticCustomError(
                "fault_kind", f"unknown fault kind {value!r}{hint} valid kinds: {', '.join(_KIND_VALUES)}"
            )
        return value

    @field_validator("service", mode="before")
    @classmethod
    def _known_service(cls, value: Any) -> tuple[str, ...]:
        names = _names(value, "service")
        services = botodata.known_services()
        for name in names:
            if name != "*" and name not in services:
                hint = botodata.suggest(name, services)
                raise PydanticCustomError(
                    "service", f"{name!r} is not a botocore service name{hint} (examples: s3, dynamodb, sqs)"
                )
        return names

    @field_validator("region", mode="before")
    @classmethod
    def _known_region(cls, value: Any) -> tuple[str, ...]:
        names = _names(value, "region")
        regions = botodata.known_regions()
        for name in names:
            if name != "*" and name not in regions:
                hint = botodata.suggest(name, regions) or " (examples: us-east-1, eu-west-1)"
                raise PydanticCustomError("region", f"{name!r} is not an AWS region in botocore's endpoint data{hint}")
        return names

    @field_validator("operations", "buckets", mode="before")
    @classmethod
    def _name_list(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("probability")
    @classmethod
    def _probability(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise PydanticCustomError(
                "probability", f"probability {value} is outside 0..1; write 0.3 for 30% of matching calls"
            )
        return value

    @field_validator("for_")
    @classmethod
    def _lasts(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise PydanticCustomError(
                "for", "a fault that lasts 0s never fires; leave 'for' out for a fault that lasts until it is removed"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Fault:
        if self.operations and "*" not in self.service:
            for service in self.service:
                known = botodata.operation_names(service)
                for operation in self.operations:
                    if operation not in known:
                        hint = botodata.suggest(operation, known)
                        raise PydanticCustomError(
                            "operation",
                            f"operations: {operation!r} is not an operation of {service}{hint}",
                        )
        if (self.buckets or self.key_prefix is not None) and self.service != ("s3",):
            raise PydanticCustomError("s3_only", "buckets and key_prefix apply to S3 only: set service: s3")
        if self.kind is FaultKind.LATENCY and self.latency is None:
            raise PydanticCustomError("latency", "a latency fault needs latency: a duration such as '500ms'")
        if self.jitter is not None and self.kind is not FaultKind.LATENCY:
            raise PydanticCustomError("jitter", "jitter applies to latency faults only")
        if self.latency is not None and self.kind not in _WAITING_KINDS:
            raise PydanticCustomError(
                "latency", f"latency applies to latency, timeout and lost_response faults, not to {self.kind.value}"
            )
        return self

    def to_json(self) -> dict[str, Any]:
        """The fault as written in files and the control API: only what differs from the defaults."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)

    @property
    def end(self) -> float | None:
        """Seconds after the start of the fault phase at which this fault stops, or None."""
        return None if self.for_ is None else self.after + self.for_

    @property
    def label(self) -> str:
        """A short human name: its ``name``, or a summary such as ``unavailable s3 us-east-1``."""
        if self.name:
            return self.name
        parts = [self.kind.value, ",".join(self.service), ",".join(self.region)]
        if self.operations:
            parts.append(",".join(self.operations))
        if self.buckets:
            parts.append("buckets=" + ",".join(self.buckets))
        if self.probability < 1:
            parts.append(f"p={self.probability:g}")
        return " ".join(parts)
