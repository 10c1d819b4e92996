"""What an audit saw: AWS calls counted by where they went, with how and from where they were made.

One :class:`Observation` is a count of call attempts that share everything the audit tells apart:
service, region, operation, resource (bucket, table, queue...), endpoint host, whether that host is a
global endpoint living in us-east-1, the client's timeout and retry settings, and whether the call
was made from monitoring code (a health, metrics or status function). Each keeps the code location
of its first call. Observations are typed here and turned into dicts only where they are written to
or read from the per-process files that the parent ``outage audit`` merges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

__all__ = ["ClientSettings", "Observation", "ProcessRecord", "Site", "merge"]


class ClientSettings(NamedTuple):
    """The timeout and retry settings of the botocore client that made a call (None: unknown)."""

    read_timeout: float | None
    connect_timeout: float | None
    retry_mode: str | None
    max_attempts: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return self._asdict()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClientSettings:
        """From :meth:`to_dict`."""
        return cls(
            data.get("read_timeout"), data.get("connect_timeout"), data.get("retry_mode"), data.get("max_attempts")
        )


class Site(NamedTuple):
    """A place in the application's code: file (relative to the working directory when under it), line, function."""

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return self._asdict()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Site:
        """From :meth:`to_dict`."""
        return cls(str(data["file"]), int(data["line"]), str(data["function"]))


@dataclass(frozen=True)
class Observation:
    """Call attempts that went to the same place in the same way, and the first of them."""

    service: str
    region: str
    operation: str
    resource_kind: str | None
    """``bucket``, ``table``, ``queue``, ``topic``, ``stream``, ``function``, ``secret`` or None."""
    resource: str | None
    endpoint: str
    """The host the calls were sent to (``s3.amazonaws.com``), or ``""`` when unknown (a gateway's ledger)."""
    global_endpoint: bool
    """Whether the host is a global endpoint served from us-east-1 (IAM, global STS, ``s3.amazonaws.com``)."""
    settings: ClientSettings | None
    monitoring: Site | None
    """Where monitoring code (a function or module named health, metrics, status...) is on the stack, else None."""
    calls: int
    retries: int
    """Attempts after the first of their call (botocore's attempt number above 1)."""
    first_time: float
    """Wall-clock time of the first call (to pick the earliest across processes)."""
    first_site: Site | None
    """The application code that made the first call, or None when no frame outside the SDK was found."""

    def key(self) -> tuple[Any, ...]:
        """What makes two observations the same (counts, time and site aside)."""
        return (
            self.service,
            self.region,
            self.operation,
            self.resource_kind,
            self.resource,
            self.endpoint,
            self.global_endpoint,
            self.settings,
            self.monitoring,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "service": self.service,
            "region": self.region,
            "operation": self.operation,
            "resource_kind": self.resource_kind,
            "resource": self.resource,
            "endpoint": self.endpoint,
            "global_endpoint": self.global_endpoint,
            "settings": None if self.settings is None else self.settings.to_dict(),
            "monitoring": None if self.monitoring is None else self.monitoring.to_dict(),
            "calls": self.calls,
            "retries": self.retries,
            "first_time": self.first_time,
            "first_site": None if self.first_site is None else self.first_site.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observation:
        """From :meth:`to_dict` (raises KeyError, TypeError or ValueError on a malformed one)."""
        settings, monitoring, site = data.get("settings"), data.get("monitoring"), data.get("first_site")
        return cls(
            service=str(data["service"]),
            region=str(data["region"]),
            operation=str(data["operation"]),
            resource_kind=data.get("resource_kind"),
            resource=data.get("resource"),
            endpoint=str(data.get("endpoint") or ""),
            global_endpoint=bool(data.get("global_endpoint")),
            settings=None if settings is None else ClientSettings.from_dict(settings),
            monitoring=None if monitoring is None else Site.from_dict(monitoring),
            calls=int(data["calls"]),
            retries=int(data.get("retries") or 0),
            first_time=float(data.get("first_time") or 0.0),
            first_site=None if site is None else Site.from_dict(site),
        )


@dataclass(frozen=True)
class ProcessRecord:
    """What one audited Python process saw, or why it could not be audited."""

    pid: int
    argv: tuple[str, ...]
    python: str
    observations: tuple[Observation, ...] = ()
    error: str | None = None
    """Why this process was not (or not completely) audited; None when it was."""

    @property
    def calls(self) -> int:
        """Call attempts it made."""
        return sum(observation.calls for observation in self.observations)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the per-process file's content)."""
        return {
            "version": 1,
            "pid": self.pid,
            "argv": list(self.argv),
            "python": self.python,
            "error": self.error,
            "observations": [observation.to_dict() for observation in self.observations],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessRecord:
        """From :meth:`to_dict`."""
        return cls(
            pid=int(data["pid"]),
            argv=tuple(str(arg) for arg in data.get("argv") or ()),
            python=str(data.get("python") or ""),
            observations=tuple(Observation.from_dict(item) for item in data.get("observations") or ()),
            error=data.get("error"),
        )


def merge(observations: Iterable[Observation]) -> list[Observation]:
    """The same observations from several processes (or snapshots) summed; the earliest first call kept."""
    merged: dict[tuple[Any, ...], Observation] = {}
    for observation in observations:
        key = observation.key()
        found = merged.get(key)
        if found is None:
            merged[key] = observation
            continue
        earliest = observation if observation.first_time < found.first_time else found
        merged[key] = replace(
            earliest,
            calls=found.calls + observation.calls,
            retries=found.retries + observation.retries,
            first_site=earliest.first_site or found.first_site or observation.first_site,
        )
    return list(merged.values())
