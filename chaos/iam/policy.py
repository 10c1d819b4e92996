"""Deny policies that reproduce an experiment's faults as AccessDenied, and expire by themselves.

For each fault: a statement denying its actions on its resources within its time window
(``aws:CurrentTime`` ``DateGreaterThan`` its start, ``DateLessThan`` its end, or the run's end plus
a margin when it has none), so a policy that is never removed is harmless once the window is over.
Regions are expressed twice: S3 buckets resolved to the region they live in (their ARNs carry no
region), and an ``aws:RequestedRegion`` condition that also covers buckets created later and every
regional service; other services also get region-bearing resource ARNs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from chaos.engine.fault import ERROR_KINDS, Fault, FaultKind
from chaos.errors import ConfigError
from chaos.iam.actions import iam_actions, iam_prefix, service_actions
from chaos.iam.spare import spare_rollback

__all__ = [
    "IAM_UNSUPPORTED",
    "NAME_PREFIX",
    "SID_PREFIX",
    "TAG_EXPERIMENT",
    "TAG_EXPIRES",
    "TAG_RUN",
    "TAG_RUNNER",
    "PlannedPolicy",
    "fault_policies",
    "operations_refusal",
    "refusal",
]

NAME_PREFIX = "chaos-outage-"
TAG_RUN = "chaos-outage:run"
TAG_EXPERIMENT = "chaos-outage:experiment"
TAG_EXPIRES = "chaos-outage:expires"
#: The process that created the policy (host, pid, start time): rollback from a journal removes only
#: policies whose runner is the journal's, and only once that runner is gone.
TAG_RUNNER = "chaos-outage:runner"
#: Every statement the tool writes has a Sid starting with this (part of the signature of its policies).
SID_PREFIX = "ChaosFault"
#: Fault kinds that deny policies cannot reproduce.
IAM_UNSUPPORTED = frozenset({FaultKind.LATENCY, FaultKind.TIMEOUT, FaultKind.LOST_RESPONSE})


@dataclass(frozen=True)
class PlannedPolicy:
    """One managed policy to create and attach: its name, document, tags and the fault it stands for."""

    name: str
    document: dict[str, Any]
    tags: dict[str, str]
    fault_index: int
    description: str = ""
    statements: list[str] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def refusal(fault: Fault) -> str | None:
    """Why deny policies cannot reproduce ``fault``, or None when they can."""
    if fault.kind in IAM_UNSUPPORTED:
        return f"{fault.kind.value} cannot be reproduced by deny policies; use --injector hook or --injector gateway"
    if fault.probability < 1:
        return (
            f"probability {fault.probability:g} cannot be reproduced by deny policies (IAM denies every matching call)"
        )
    return operations_refusal(fault)


def operations_refusal(fault: Fault) -> str | None:
    """Why the IAM actions of ``fault``'s services and operations are unknown, or None when they are known."""
    try:
        _actions(fault)
    except ConfigError as exc:
        return str(exc)
    return None


def _actions(fault: Fault) -> list[str]:
    """The actions a deny names for ``fault``, from AWS's reference (ConfigError when one is unknown)."""
    if "*" in fault.service:
        if fault.operations:
            # An operation name means a different action in each service (Invoke is lambda:InvokeFunction):
            # "*:Invoke" would deny nothing while the plan said DENIED.
            raise ConfigError(
                f"operations {', '.join(fault.operations)} on every service ('*') have no one IAM action: "
                "name the services, or use the hook or gateway injector"
            )
        return ["*"]
    if not fault.operations:
        return sorted({action for service in fault.service for action in service_actions(service)})
    return sorted(
        {
            action
            for service in fault.service
            for operation in fault.operations
            for action in iam_actions(service, operation)
        }
    )


def _s3_resources(fault: Fault, buckets: Sequence[str]) -> list[str]:
    resources = []
    for bucket in buckets:
        if fault.key_prefix is None:
            resources.append(f"arn:aws:s3:::{bucket}")
        resources.append(f"arn:aws:s3:::{bucket}/{fault.key_prefix or ''}*")
    return resources


def _sid(index: int, part: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", f"{SID_PREFIX}{index}{part.title()}")


def fault_policies(
    faults: Sequence[Fault],
    *,
    run_id: str,
    experiment: str,
    start: datetime,
    run_end: datetime,
    margin: timedelta,
    bucket_regions: Mapping[str, str] | None = None,
    region_conditions: bool = True,
) -> list[PlannedPolicy]:
    """One policy per fault. ``bucket_regions`` maps existing buckets to their regions (for S3).

    ``region_conditions=False`` leaves out the statements that only ``aws:RequestedRegion`` scopes:
    for backends that do not evaluate conditions (moto); never on real AWS.
    """
    expires = run_end + margin
    slug = re.sub(r"[^a-z0-9-]+", "-", experiment.lower()).strip("-")[:40] or "experiment"
    planned = []
    for index, fault in enumerate(faults):
        reason = refusal(fault)
        if reason is not None:
            raise ConfigError(f"fault {index} ({fault.label}): {reason}")
        if fault.kind not in ERROR_KINDS:
            raise ConfigError(f"fault {index} ({fault.label}): {fault.kind.value} has no IAM rendering")
        window_start = start + timedelta(seconds=fault.after)
        window_end = start + timedelta(seconds=fault.end) if fault.end is not None else expires
        window: dict[str, dict[str, Any]] = {
            "DateGreaterThan": {"aws:CurrentTime": _iso(window_start)},
            "DateLessThan": {"aws:CurrentTime": _iso(min(window_end, expires))},
        }
        regional = "*" not in fault.region
        key, actions = spare_rollback(_actions(fault), f"fault {index} ({fault.label})")
        statements: list[dict[str, Any]] = []
        if fault.service == ("s3",):
            if fault.buckets:
                statements.append(
                    {
                        "Sid": _sid(index, "buckets"),
                        "Effect": "Deny",
                        key: actions,
                        "Resource": _s3_resources(fault, fault.buckets),
                        "Condition": window,
                    }
                )
            else:
                in_region = sorted(
                    bucket
                    for bucket, region in (bucket_regions or {}).items()
                    if not regional or region in fault.region
                )
                if in_region:
                    statements.append(
                        {
                            "Sid": _sid(index, "existing buckets"),
                            "Effect": "Deny",
                            key: actions,
                            "Resource": _s3_resources(fault, in_region),
                            "Condition": window,
                        }
                    )
                if not regional or region_conditions:
                    resources = (
                        ["arn:aws:s3:::*"] if fault.key_prefix is None else [f"arn:aws:s3:::*/{fault.key_prefix}*"]
                    )
                    condition: dict[str, dict[str, Any]] = dict(window)
                    if regional:
                        condition["StringEquals"] = {"aws:RequestedRegion": list(fault.region)}
                    statements.append(
                        {
                            "Sid": _sid(index, "region"),
                            "Effect": "Deny",
                            key: actions,
                            "Resource": resources,
                            "Condition": condition,
                        }
                    )
        else:
            if regional:
                resources = sorted(
                    {
                        f"arn:aws:{'*' if '*' in fault.service else iam_prefix(service)}:{region}:*:*"
                        for service in fault.service
                        for region in fault.region
                    }
                )
                statements.append(
                    {
                        "Sid": _sid(index, "regional resources"),
                        "Effect": "Deny",
                        key: actions,
                        "Resource": resources,
                        "Condition": window,
                    }
                )
            if not regional or region_conditions:
                condition = dict(window)
                if regional:
                    condition["StringEquals"] = {"aws:RequestedRegion": list(fault.region)}
                statements.append(
                    {
                        "Sid": _sid(index, "requested region"),
                        "Effect": "Deny",
                        key: actions,
                        "Resource": "*",
                        "Condition": condition,
                    }
                )
        document = {"Version": "2012-10-17", "Statement": statements}
        planned.append(
            PlannedPolicy(
                name=f"{NAME_PREFIX}{run_id}-{index}",
                document=document,
                tags={TAG_RUN: run_id, TAG_EXPERIMENT: slug, TAG_EXPIRES: _iso(expires)},
                fault_index=index,
                description=f"chaos-outage run {run_id}: {fault.label} (expires {_iso(expires)})"[:1000],
                statements=[statement["Sid"] for statement in statements],
            )
        )
    return planned
