"""The plan: what an experiment would inject, when and where, and whether that is within the limits.

Making a plan changes nothing anywhere: it reads the experiment, the project's guardrails and
botocore's models, nothing else.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from chaos.engine.durations import format_duration
from chaos.engine.fault import ERROR_KINDS, Fault, FaultKind
from chaos.engine.render import error_spec
from chaos.errors import ConfigError
from chaos.guardrails import GuardrailCheck, check_guardrails
from chaos.iam.actions import iam_actions, iam_prefix
from chaos.iam.evaluate import Request, evaluate
from chaos.iam.policy import IAM_UNSUPPORTED, fault_policies, refusal
from chaos.model import Experiment

__all__ = ["InjectorName", "Plan", "PlannedFault", "check_runnable", "make_plan", "resolve_injector"]

InjectorName = Literal["hook", "gateway", "iam"]


_INJECTORS = {
    "hook": "in-process: botocore itself fails the calls (Python applications, pytest)",
    "gateway": "outage gateway: moto behind a fault middleware; the application's AWS_ENDPOINT_URL points at it",
    "iam": "real AWS: self-expiring deny policies attached to the target principals",
}


@dataclass(frozen=True)
class PlannedFault:
    """One fault of the plan, with its window on the run's clock and what it does."""

    index: int
    label: str
    kind: str
    services: list[str]
    regions: list[str]
    operations: list[str]
    buckets: list[str]
    key_prefix: str | None
    probability: float
    include_global: bool
    start: float
    """Seconds from the start of the run."""
    end: float | None
    effect: str


@dataclass(frozen=True)
class Plan:
    """What a run of an experiment would do."""

    title: str
    source: str
    injector: str
    injector_description: str
    seed: int | None
    phases: dict[str, tuple[float, float | None]]
    faults: list[PlannedFault]
    guardrails: GuardrailCheck
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Reasons the chosen injector cannot carry out this plan at all."""
    policies: list[dict[str, Any]] = field(default_factory=list)
    """For the IAM injector: the policy documents and the principals they would be attached to."""
    denied_calls: list[str] = field(default_factory=list)
    """For the IAM injector: sample calls and whether the policies would deny them (the evaluator's verdict)."""

    @property
    def within_guardrails(self) -> bool:
        """Whether every limit holds."""
        return self.guardrails.ok

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the plan."""
        limits = self.guardrails.limits.model_dump(mode="json", exclude_none=True)
        return {
            "title": self.title,
            "source": self.source,
            "injector": self.injector,
            "seed": self.seed,
            "phases": {name: {"start": start, "end": end} for name, (start, end) in self.phases.items()},
            "faults": [asdict(fault) for fault in self.faults],
            "guardrails": {
                "sources": self.guardrails.sources,
                "limits": limits,
                "within": self.within_guardrails,
                "violations": [asdict(violation) for violation in self.guardrails.violations],
            },
            "notes": self.notes,
            "problems": self.problems,
            "policies": self.policies,
            "denied_calls": self.denied_calls,
            "changes_made": False,
        }

    def render(self) -> str:
        """The plan as text for a terminal."""
        lines = [f"Plan: {self.title}  ({self.source})", f"Injector: {self.injector} — {self.injector_description}"]
        lines.append(f"Seed: {self.seed if self.seed is not None else 'random (recorded in the journal)'}")
        phases = ", ".join(f"{name} {_window(start, end)}" for name, (start, end) in self.phases.items())
        lines += [f"Phases: {phases}", "", "Faults (times from the start of the run):"]
        for fault in self.faults:
            lines.append(f"  [{fault.index}] {_window(fault.start, fault.end):<14} {fault.label}")
            lines.append(f"      {fault.effect}")
        sources = " + ".join(self.guardrails.sources)
        limits = self.guardrails.limits.model_dump(exclude_none=True, exclude_defaults=True)
        lines += ["", f"Guardrails ({sources}):"]
        if not limits:
            lines.append("  none set")
        for name, value in limits.items():
            shown = (
                format_duration(value)
                if name == "max_duration"
                else (", ".join(value) if isinstance(value, tuple) else value)
            )
            lines.append(f"  {name}: {shown}")
        for violation in self.guardrails.violations:
            lines.append(f"  EXCEEDED {violation}")
        lines.append(f"Within guardrails: {'yes' if self.within_guardrails else 'no'}")
        lines += [f"Note: {note}" for note in self.notes]
        for policy in self.policies:
            lines += [
                "",
                f"Policy {policy['name']} -> {', '.join(policy['principals'])}",
                json.dumps(policy["document"], indent=2),
            ]
        if self.denied_calls:
            lines += ["", "Calls the policies would deny (policy evaluator, in the middle of each window):"]
            lines += [f"  {line}" for line in self.denied_calls]
        lines += [f"Cannot inject: {problem}" for problem in self.problems]
        lines.append("Nothing has been changed.")
        return "\n".join(lines)


def _window(start: float, end: float | None) -> str:
    return f"{format_duration(start)}-{format_duration(end) if end is not None else 'end'}"


def _effect(fault: Fault, injector: str) -> str:
    services = "every service" if "*" in fault.service else ", ".join(fault.service)
    regions = "every region" if "*" in fault.region else ", ".join(fault.region)
    what = f"{services} in {regions}"
    if fault.include_global:
        what += " and the global endpoints (IAM, global STS, s3.amazonaws.com)"
    if fault.operations:
        what += f", operations {', '.join(fault.operations)}"
    if fault.buckets:
        what += f", buckets {', '.join(fault.buckets)}"
    if fault.key_prefix is not None:
        what += f", keys under {fault.key_prefix!r}"
    share = "" if fault.probability >= 1 else f"{fault.probability:.0%} of "
    if injector == "iam":
        if fault.kind in IAM_UNSUPPORTED:
            return f"{what}: {fault.kind.value} cannot be injected by IAM"
        return f"{share}calls to {what} are denied: AccessDenied (403)"
    if fault.kind in ERROR_KINDS:
        if len(fault.service) == 1 and fault.service[0] != "*":
            spec = error_spec(fault.kind, fault.service[0])
            answer = f"{spec.status} {spec.code}"
        else:
            answer = f"each service's own {fault.kind.value} error"
        return f"{share}calls to {what} answer {answer}; the backend never sees them"
    effects = {
        FaultKind.CONNECTION_ERROR: "cannot connect (no HTTP answer)",
        FaultKind.TIMEOUT: "time out after the client's read timeout"
        + (f" ({format_duration(fault.latency)})" if fault.latency else ""),
        FaultKind.LATENCY: f"are delayed by {format_duration(fault.latency or 0)}"
        + (f" + up to {format_duration(fault.jitter)}" if fault.jitter else ""),
        FaultKind.LOST_RESPONSE: "are executed, then the answer is lost (read timeout)",
    }
    return f"{share}calls to {what} {effects[fault.kind]}"


def resolve_injector(experiment: Experiment, override: str | None = None) -> str:
    """The injector a run uses: the override, the experiment's, gateway for an app command, else hook."""
    if override:
        return override
    if experiment.injector:
        return experiment.injector
    if experiment.gateway is not None:
        return "gateway"
    if experiment.app is not None and experiment.app.command is not None:
        return "gateway"
    return "hook"


def make_plan(
    experiment: Experiment,
    source: str = "<experiment>",
    injector: str | None = None,
    project_dir: str | os.PathLike[str] | None = None,
) -> Plan:
    """The plan of ``experiment``: timeline, targets, injector and guardrails. Changes nothing."""
    chosen = resolve_injector(experiment, injector)
    baseline = experiment.phases.baseline
    phase = experiment.fault_phase
    phases: dict[str, tuple[float, float | None]] = {"baseline": (0.0, baseline)}
    phases["faults"] = (baseline, None if phase is None else baseline + phase)
    if phase is not None:
        phases["recovery"] = (baseline + phase, baseline + phase + experiment.phases.recovery)
    faults = [
        PlannedFault(
            index=index,
            label=fault.label,
            kind=fault.kind.value,
            services=list(fault.service),
            regions=list(fault.region),
            operations=list(fault.operations),
            buckets=list(fault.buckets),
            key_prefix=fault.key_prefix,
            probability=fault.probability,
            include_global=fault.include_global,
            start=baseline + fault.after,
            end=None
            if fault.end is None and phase is None
            else baseline + (fault.end if fault.end is not None else phase or 0),
            effect=_effect(fault, chosen),
        )
        for index, fault in enumerate(experiment.faults)
    ]
    notes, problems = [], []
    if chosen == "iam":
        kinds = sorted({fault.kind.value for fault in experiment.faults if fault.kind in ERROR_KINDS})
        for kind in kinds:
            notes.append(f"{kind} is rendered as AccessDenied under IAM")
        if any(fault.service == ("s3",) and not fault.buckets for fault in experiment.faults):
            notes.append(
                "S3 buckets that already exist in the target region are added to the policies when the run starts"
            )
        if experiment.iam is None:
            problems.append("the iam injector needs an 'iam' section naming the target principals")
        for index, fault in enumerate(experiment.faults):
            reason = refusal(fault)
            if reason is not None:
                problems.append(f"fault {index}: {reason}")
    policies, denied = _iam_details(experiment) if chosen == "iam" and not problems else ([], [])
    return Plan(
        title=experiment.title,
        source=source,
        injector=chosen,
        injector_description=(
            f"the running outage gateway at {experiment.gateway.endpoint}: this run's faults are armed there, "
            "tagged with the run's id, and removed afterwards; the application already points at it"
            if chosen == "gateway" and experiment.gateway is not None
            else _INJECTORS[chosen]
        ),
        seed=experiment.seed,
        phases=phases,
        faults=faults,
        guardrails=check_guardrails(experiment, project_dir),
        notes=notes,
        problems=problems,
        policies=policies,
        denied_calls=denied,
    )


def _iam_details(experiment: Experiment) -> tuple[list[dict[str, Any]], list[str]]:
    """The policy documents, their principals, and sample calls judged by the policy evaluator."""
    if experiment.iam is None:
        return [], []
    start = datetime.now(timezone.utc)
    planned = fault_policies(
        experiment.faults,
        run_id="<run-id>",
        experiment=experiment.title,
        start=start,
        run_end=start + timedelta(seconds=experiment.fault_phase or 0.0),
        margin=timedelta(seconds=experiment.iam.expiry_margin),
        bucket_regions=None,
    )
    principals = [
        f"{kind}/{name}"
        for target in experiment.iam.targets
        for kind, name in (("role", target.role), ("user", target.user), ("group", target.group))
        if name
    ]
    policies = [{"name": policy.name, "principals": principals, "document": policy.document} for policy in planned]
    allow_all = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    documents = [allow_all, *(policy.document for policy in planned)]
    lines = []
    for fault in experiment.faults:
        middle = start + timedelta(seconds=fault.after + ((fault.for_ or 60.0) / 2))
        when = middle.strftime("%Y-%m-%dT%H:%M:%SZ")
        services = [name for name in fault.service if name != "*"] or ["s3"]
        regions = [name for name in fault.region if name != "*"] or ["us-east-1"]
        other = next(name for name in ("eu-west-1", "us-west-2", "us-east-1") if name not in regions)
        for service in services:
            operations = list(fault.operations) or (
                ["GetObject", "PutObject", "ListObjectsV2"] if service == "s3" else []
            )
            prefix = iam_prefix(service)
            # The actions AWS's reference says authorise each operation, never a guess from its name.
            actions = list(
                dict.fromkeys(action for operation in operations for action in iam_actions(service, operation))
            )
            for action in actions or [f"{prefix}:*"]:
                for region in (*regions, other):
                    if service == "s3":
                        bucket = (fault.buckets or ("a-new-bucket",))[0]
                        resource = f"arn:aws:s3:::{bucket}/{fault.key_prefix or ''}key"
                    else:
                        resource = f"arn:aws:{prefix}:{region}:123456789012:resource"
                    decision = evaluate(
                        documents, Request(action, resource, {"aws:RequestedRegion": region, "aws:CurrentTime": when})
                    )
                    verdict = "DENIED" if decision.effect == "ExplicitDeny" else "allowed"
                    lines.append(f"{action:<28} {resource:<55} requested in {region:<10} {verdict}")
    return policies, lines


def check_runnable(experiment: Experiment, plan: Plan, source: str) -> None:
    """Raise ConfigError (exit 2) when ``outage run`` cannot carry out ``plan``; nothing has started then."""
    if plan.problems:
        raise ConfigError("; ".join(plan.problems))
    if experiment.fault_phase is None:
        raise ConfigError(f"{source}: a fault has no 'for' and phases.faults is unset: the run would never end")
    if plan.injector == "iam":
        if experiment.iam is not None and experiment.iam.probe_profile:
            import boto3  # noqa: PLC0415 - only to check the profile exists before anything starts
            from botocore.exceptions import ProfileNotFound  # noqa: PLC0415

            try:
                boto3.Session(profile_name=experiment.iam.probe_profile)
            except ProfileNotFound:
                raise ConfigError(
                    f"{source}: iam.probe_profile: there is no AWS profile {experiment.iam.probe_profile!r}"
                ) from None
        if experiment.app is not None or experiment.load is not None:
            raise ConfigError(
                f"{source}: with the iam injector, outage run arms the deny policies for the timeline and "
                "removes them; it does not start or drive the application (it runs where it always runs): "
                "remove 'app' and 'load'"
            )
        return
    if experiment.app is None or experiment.load is None:
        raise ConfigError(
            f"{source}: outage run drives an application: add 'app' and 'load' sections "
            "(for faults inside a test suite, use the pytest plugin or chaos.inject)"
        )
    if plan.injector == "gateway" and experiment.app.wsgi is not None:
        raise ConfigError(f"{source}: a wsgi application runs inside this process: use the hook injector")
    if plan.injector == "gateway" and experiment.app.running and experiment.gateway is None:
        raise ConfigError(f"{source}: an application that is already running needs 'gateway: {{endpoint: URL}}'")
    if plan.injector == "hook" and experiment.app.wsgi is None:  # a command, or a running application
        raise ConfigError(
            f"{source}: the hook injector works inside this Python process; an application started as a "
            "command needs --injector gateway (or give app.wsgi: 'module:application')"
        )
