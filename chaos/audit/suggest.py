"""Experiment files that would hurt most, written from what an audit saw.

For each region the application depended on, that region's outage (every service seen there, plus
the global endpoints when it is us-east-1 and they were called); for each bucket, that bucket's
outage; and throttling on the busiest operation. Each file is a valid experiment (it is validated
before it is written) whose guardrails allow exactly what was seen: its regions and its services.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chaos.audit.findings import AuditReport, Dependency
from chaos.loading import parse_experiment

__all__ = ["Suggestion", "suggest", "write_suggestions"]

#: How long each suggested fault lasts, and the run's longest allowed duration.
FAULT_FOR = "30s"
MAX_DURATION = "2m"
THROTTLE_PROBABILITY = 0.5


@dataclass(frozen=True)
class Suggestion:
    """One experiment file to write: its name, why, and its content."""

    name: str
    why: str
    document: dict[str, Any]

    def text(self) -> str:
        """The file's YAML."""
        header = f"# Suggested by outage audit: {self.why}\n"
        return header + yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True, width=100)


def _where(dependencies: list[Dependency]) -> str:
    first = next((d.first_call for d in dependencies if d.first_call is not None), None)
    return f", first from {first}" if first is not None else ""


def _document(
    title: str, description: str, tags: list[str], fault: dict[str, Any], guardrails: dict[str, Any]
) -> dict[str, Any]:
    return {
        "version": 1,
        "title": title,
        "description": description,
        "tags": ["audit", *tags],
        "faults": [fault],
        "guardrails": {**guardrails, "max_duration": MAX_DURATION},
    }


def _region_outages(report: AuditReport) -> list[Suggestion]:
    by_region: dict[str, list[Dependency]] = defaultdict(list)
    for dependency in report.dependencies:
        if dependency.region and dependency.region != "aws-global":
            by_region[dependency.region].append(dependency)
    global_services = sorted({d.service for d in report.dependencies if d.global_endpoint})
    found = []
    for region, dependencies in sorted(by_region.items()):
        services = sorted({d.service for d in dependencies})
        include_global = region == "us-east-1" and bool(global_services)
        if include_global:
            services = sorted({*services, *global_services})
        calls = sum(d.calls for d in dependencies)
        why = (
            f"{calls} calls to {', '.join(sorted({d.service for d in dependencies}))} in {region}{_where(dependencies)}"
        )
        fault: dict[str, Any] = {"kind": "connection_error", "service": services, "region": region, "for": FAULT_FOR}
        if include_global:
            fault["include_global"] = True
            why += f"; global endpoints called: {', '.join(global_services)}"
        found.append(
            Suggestion(
                f"region-outage-{region}.yaml",
                why,
                _document(
                    f"{region} goes dark for every service the application was seen calling there",
                    f"Suggested by outage audit of {report.source}: {why}.",
                    ["region", region],
                    fault,
                    {"regions": [region], "services": list(services)},  # a copy: no YAML alias
                ),
            )
        )
    return found


def _bucket_outages(report: AuditReport) -> list[Suggestion]:
    found = []
    for dependency in report.dependencies:
        if dependency.service != "s3" or dependency.resource_kind != "bucket" or not dependency.resource:
            continue
        if dependency.region in ("", "aws-global"):
            continue
        bucket, region = dependency.resource, dependency.region
        why = f"{dependency.calls} calls to bucket {bucket} in {region}{_where([dependency])}"
        fault = {"kind": "unavailable", "service": "s3", "region": region, "buckets": [bucket], "for": FAULT_FOR}
        found.append(
            Suggestion(
                f"bucket-outage-{bucket}.yaml",
                why,
                _document(
                    f"Bucket {bucket} is unavailable, the rest of S3 works",
                    f"Suggested by outage audit of {report.source}: {why}.",
                    ["s3", "bucket"],
                    fault,
                    {"regions": [region], "services": ["s3"]},
                ),
            )
        )
    return found


def _busiest_throttle(report: AuditReport) -> list[Suggestion]:
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for dependency in report.dependencies:
        if dependency.region:
            for operation, count in dependency.operations.items():
                counts[(dependency.service, dependency.region, operation)] += count
    if not counts:
        return []
    (service, region, operation), calls = max(counts.items(), key=lambda item: (item[1], item[0]))
    kind = "slow_down" if service == "s3" else "throttle"
    why = f"{operation} on {service} in {region} was the busiest operation ({calls} calls)"
    fault = {
        "kind": kind,
        "service": service,
        "region": region,
        "operations": [operation],
        "probability": THROTTLE_PROBABILITY,
        "for": FAULT_FOR,
    }
    slug = re.sub(r"[^a-z0-9]+", "-", f"{service}-{operation}".lower())
    return [
        Suggestion(
            f"throttle-{slug}.yaml",
            why,
            _document(
                f"Half of {service} {operation} calls in {region} are throttled",
                f"Suggested by outage audit of {report.source}: {why}.",
                [service, "throttling"],
                fault,
                {"regions": [region], "services": [service], "max_probability": THROTTLE_PROBABILITY},
            ),
        )
    ]


def suggest(report: AuditReport) -> list[Suggestion]:
    """The experiments that would hurt most, given what ``report`` saw (each validated)."""
    found = _region_outages(report) + _bucket_outages(report) + _busiest_throttle(report)
    for suggestion in found:
        parse_experiment(suggestion.text(), suggestion.name)  # an invalid suggestion is a bug: fail loudly
    return found


def write_suggestions(report: AuditReport, directory: Path) -> list[Path]:
    """Write :func:`suggest`'s files into ``directory`` (created if needed); their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for suggestion in suggest(report):
        path = directory / suggestion.name
        path.write_text(suggestion.text(), encoding="utf-8")
        written.append(path)
    return written
