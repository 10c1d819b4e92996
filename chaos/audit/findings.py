"""From observations to dependencies and findings, each finding with the evidence that supports it.

Findings (each only where the observations show it):

* ``single_region``: every call of a service went to one region;
* ``global_endpoint``: calls to a global endpoint served from us-east-1 (IAM, global STS,
  ``s3.amazonaws.com``); through a gateway, calls of a global service;
* ``no_timeout``: calls from clients whose read timeout is botocore's default of 60 s (or longer);
* ``no_retry_budget``: calls from clients in botocore's legacy retry mode (no retry quota);
* ``monitoring_shares_fate``: monitoring code (a function, class or module named health, metrics,
  status...) calls the same service in the same region as the data path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from chaos.audit.observe import Observation, ProcessRecord, Site, merge

__all__ = ["FINDING_KINDS", "AuditReport", "Dependency", "Finding", "analyse", "is_read"]

FindingKind = Literal["single_region", "global_endpoint", "no_timeout", "no_retry_budget", "monitoring_shares_fate"]
#: Every kind of finding, in the order reports list them.
FINDING_KINDS: tuple[FindingKind, ...] = (
    "single_region",
    "global_endpoint",
    "no_timeout",
    "no_retry_budget",
    "monitoring_shares_fate",
)
#: botocore's default read (and connect) timeout, in seconds.
DEFAULT_TIMEOUT = 60.0
_READS = ("Get", "Head", "List", "Describe", "Query", "Scan", "BatchGet", "Select", "Receive")
_NAMES = {"s3": "S3", "dynamodb": "DynamoDB", "sqs": "SQS", "sns": "SNS", "sts": "STS", "iam": "IAM", "kms": "KMS"}
_GLOBAL_HINTS = {
    "s3": "a client for us-east-1 uses it unless told otherwise; the regional one is s3.us-east-1.amazonaws.com",
    "sts": "give the client a region (and AWS_STS_REGIONAL_ENDPOINTS=regional on older SDKs)",
    "iam": "IAM's control plane lives in us-east-1: keep IAM calls off the request path",
}


def is_read(operation: str) -> bool:
    """Whether an operation reads (Get..., List..., Describe..., Query, Scan...) rather than writes."""
    return operation.startswith(_READS)


def _name(service: str) -> str:
    return _NAMES.get(service, service)


@dataclass(frozen=True)
class Dependency:
    """Calls to one resource (or to one service in one region, when the calls name no resource)."""

    service: str
    region: str
    resource_kind: str | None
    resource: str | None
    calls: int
    retries: int
    operations: dict[str, int] = field(hash=False)
    endpoints: tuple[str, ...]
    global_endpoint: bool
    first_call: Site | None
    monitoring_calls: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "service": self.service,
            "region": self.region,
            "resource_kind": self.resource_kind,
            "resource": self.resource,
            "calls": self.calls,
            "retries": self.retries,
            "operations": dict(sorted(self.operations.items(), key=lambda item: (-item[1], item[0]))),
            "endpoints": list(self.endpoints),
            "global_endpoint": self.global_endpoint,
            "first_call": None if self.first_call is None else str(self.first_call),
            "monitoring_calls": self.monitoring_calls,
        }


@dataclass(frozen=True)
class Finding:
    """One risk the calls show, with its evidence in words and the code locations behind it."""

    kind: FindingKind
    service: str
    region: str | None
    message: str
    calls: int
    where: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "service": self.service,
            "region": self.region,
            "message": self.message,
            "calls": self.calls,
            "where": list(self.where),
            "resources": list(self.resources),
        }


@dataclass(frozen=True)
class AuditReport:
    """What an audit found: the processes seen, the dependencies, the findings, and what limits them."""

    source: str
    processes: tuple[ProcessRecord, ...]
    dependencies: tuple[Dependency, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    @property
    def calls(self) -> int:
        """Every call attempt seen."""
        return sum(dependency.calls for dependency in self.dependencies)

    def findings_of(self, kind: FindingKind) -> list[Finding]:
        """The findings of one kind."""
        return [finding for finding in self.findings if finding.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"dependencies": [...], "findings": [...]}`` and what was audited."""
        return {
            "source": self.source,
            "calls": self.calls,
            "processes": [
                {"pid": record.pid, "argv": list(record.argv), "calls": record.calls, "error": record.error}
                for record in self.processes
            ],
            "dependencies": [dependency.to_dict() for dependency in self.dependencies],
            "findings": [finding.to_dict() for finding in self.findings],
            "notes": list(self.notes),
        }


def _earliest(observations: Iterable[Observation]) -> Site | None:
    placed = [item for item in observations if item.first_site is not None]
    return min(placed, key=lambda item: item.first_time).first_site if placed else None


def _sites(observations: Iterable[Observation], limit: int = 3) -> tuple[str, ...]:
    ordered = sorted((item for item in observations if item.first_site), key=lambda item: item.first_time)
    return tuple(dict.fromkeys(str(item.first_site) for item in ordered))[:limit]


def _dependencies(observations: Sequence[Observation]) -> list[Dependency]:
    groups: dict[tuple[str, str, str | None, str | None], list[Observation]] = defaultdict(list)
    for item in observations:
        groups[(item.service, item.region, item.resource_kind, item.resource)].append(item)
    found = []
    for (service, region, kind, resource), items in groups.items():
        operations: dict[str, int] = defaultdict(int)
        for item in items:
            operations[item.operation] += item.calls
        found.append(
            Dependency(
                service,
                region,
                kind,
                resource,
                sum(item.calls for item in items),
                sum(item.retries for item in items),
                dict(operations),
                tuple(sorted({item.endpoint for item in items if item.endpoint})),
                any(item.global_endpoint for item in items),
                _earliest(items),
                sum(item.calls for item in items if item.monitoring is not None),
            )
        )
    return sorted(found, key=lambda d: (d.service, d.region, -d.calls, d.resource or ""))


def _operations(items: Iterable[Observation]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item.operation] += item.calls
    ordered = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return ", ".join(f"{name} {count}" for name, count in ordered)


def _resources(items: Iterable[Observation]) -> tuple[str, ...]:
    return tuple(sorted({f"{item.resource_kind} {item.resource}" for item in items if item.resource}))


def _single_region(observations: Sequence[Observation]) -> list[Finding]:
    by_service: dict[str, list[Observation]] = defaultdict(list)
    for item in observations:
        if item.region and item.region != "aws-global":
            by_service[item.service].append(item)
    found = []
    for service, items in sorted(by_service.items()):
        regions = {item.region for item in items}
        if len(regions) != 1:
            continue
        [region] = regions
        reads = [item for item in items if is_read(item.operation)]
        writes = [item for item in items if not is_read(item.operation)]
        parts = [
            f"{sum(i.calls for i in group)} {word} ({_operations(group)})"
            for word, group in (("reads", reads), ("writes and other calls", writes))
            if group
        ]
        resources = _resources(items)
        on = f" on {', '.join(resources)}" if resources else ""
        found.append(
            Finding(
                "single_region",
                service,
                region,
                f"every {_name(service)} call went to {region}{on}: {'; '.join(parts)}; no other region seen",
                sum(item.calls for item in items),
                _sites(items),
                resources,
            )
        )
    return found


def _global_endpoints(observations: Sequence[Observation]) -> list[Finding]:
    groups: dict[tuple[str, str], list[Observation]] = defaultdict(list)
    for item in observations:
        if item.global_endpoint:
            groups[(item.service, item.endpoint)].append(item)
    found = []
    for (service, endpoint), items in sorted(groups.items()):
        calls = sum(item.calls for item in items)
        where = endpoint or f"{_name(service)}'s global endpoint"
        hint = _GLOBAL_HINTS.get(service)
        message = (
            f"{calls} {_name(service)} calls went to {where}, served from us-east-1 only: "
            "an outage of us-east-1 takes it down"
        )
        found.append(
            Finding(
                "global_endpoint",
                service,
                "us-east-1",
                message + (f" ({hint})" if hint else ""),
                calls,
                _sites(items),
                _resources(items),
            )
        )
    return found


def _by_service_region(items: Iterable[Observation]) -> dict[tuple[str, str], list[Observation]]:
    groups: dict[tuple[str, str], list[Observation]] = defaultdict(list)
    for item in items:
        groups[(item.service, item.region)].append(item)
    return dict(sorted(groups.items()))


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:g} s"


def _client_findings(observations: Sequence[Observation]) -> list[Finding]:
    found = []
    slow = [
        item
        for item in observations
        if item.settings is not None
        and (item.settings.read_timeout is None or item.settings.read_timeout >= DEFAULT_TIMEOUT)
    ]
    for (service, region), items in _by_service_region(slow).items():
        settings = sorted(
            {(item.settings.read_timeout, item.settings.connect_timeout) for item in items if item.settings}
        )
        shown = ", ".join(f"read {_seconds(read)} / connect {_seconds(connect)}" for read, connect in settings)
        calls = sum(item.calls for item in items)
        message = (
            f"{calls} {_name(service)} calls in {region} came from clients with botocore's default timeouts or longer "
            f"({shown}): in an outage that answers slowly, each waits that long before it fails or retries"
        )
        found.append(Finding("no_timeout", service, region, message, calls, _sites(items), _resources(items)))
    legacy = [item for item in observations if item.settings is not None and item.settings.retry_mode == "legacy"]
    for (service, region), items in _by_service_region(legacy).items():
        calls = sum(item.calls for item in items)
        message = (
            f"{calls} {_name(service)} calls in {region} came from clients in botocore's legacy retry mode: retries "
            "without a retry quota (standard and adaptive modes stop retrying when too many calls fail)"
        )
        found.append(Finding("no_retry_budget", service, region, message, calls, _sites(items), _resources(items)))
    return found


def _shared_fate(observations: Sequence[Observation]) -> list[Finding]:
    found = []
    for (service, region), items in _by_service_region(observations).items():
        watching = [item for item in items if item.monitoring is not None]
        serving = [item for item in items if item.monitoring is None]
        if not watching or not serving:
            continue
        monitors = tuple(dict.fromkeys(str(item.monitoring) for item in watching))
        calls = sum(item.calls for item in watching)
        message = (
            f"monitoring code ({', '.join(monitors[:3])}) made {calls} {_name(service)} calls in {region}, "
            f"where the data path makes {sum(item.calls for item in serving)} "
            f"(first at {', '.join(_sites(serving, 2)) or 'an unknown place'}): an outage there takes the health "
            "signal down with the service it reports on"
        )
        found.append(
            Finding(
                "monitoring_shares_fate",
                service,
                region,
                message,
                calls,
                monitors[:3] + _sites(serving, 2),
                _resources(items),
            )
        )
    return found


def analyse(
    observations: Iterable[Observation],
    *,
    source: str,
    processes: Sequence[ProcessRecord] = (),
    notes: Sequence[str] = (),
) -> AuditReport:
    """The dependencies and findings of ``observations`` (merged first)."""
    merged = merge(observations)
    findings = _single_region(merged) + _global_endpoints(merged) + _client_findings(merged) + _shared_fate(merged)
    findings.sort(key=lambda finding: FINDING_KINDS.index(finding.kind))
    return AuditReport(source, tuple(processes), tuple(_dependencies(merged)), tuple(findings), tuple(notes))
