"""An experiment as the input of AWS FIS's ``CreateExperimentTemplate``: the outage at the infrastructure level.

FIS does not answer API calls with errors, except EC2's; it cuts networks. So each fault becomes:

* a whole region, in the application's region: ``aws:network:disrupt-connectivity`` with scope
  ``all`` on the application's subnets; in another region:
  ``aws:network:route-table-disrupt-cross-region-connectivity`` towards that region;
* S3 or DynamoDB as a whole, in the application's region: ``aws:network:disrupt-connectivity`` with
  scope ``s3`` or ``dynamodb``;
* EC2 API errors (unavailable, internal_error, throttle): ``aws:fis:inject-api-*`` on the
  application's IAM roles, with the operations and the percentage of calls;
* ``after``: an ``aws:fis:wait`` action first; ``stop_when`` CloudWatch alarms: stop conditions.

The subnets are chosen by tags; FIS's own role is a parameter. Everything else (one bucket or some
operations of S3, latency, probabilities on networks, lost responses, AccessDenied, windows
shorter than FIS's one minute...) is listed, never dropped silently: :attr:`Exported.untranslated`,
and the template's description.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from chaos.engine.fault import Fault, FaultKind
from chaos.errors import ConfigError
from chaos.export.common import Exported, Untranslated
from chaos.model import Experiment

__all__ = ["DEFAULT_SUBNET_TAGS", "FIS_LONGEST", "FIS_SHORTEST", "FisOptions", "iso_duration", "to_fis"]

#: FIS action durations run from one minute to 12 hours.
FIS_SHORTEST, FIS_LONGEST = 60, 12 * 3600
#: The tag that marks the application's subnets, unless told otherwise.
DEFAULT_SUBNET_TAGS = {"chaos-outage": "target"}
_API_ACTIONS = {
    FaultKind.UNAVAILABLE: "aws:fis:inject-api-unavailable-error",
    FaultKind.INTERNAL_ERROR: "aws:fis:inject-api-internal-error",
    FaultKind.THROTTLE: "aws:fis:inject-api-throttle-error",
    FaultKind.SLOW_DOWN: "aws:fis:inject-api-throttle-error",
}
_NETWORK_SCOPES = {"*": "all", "s3": "s3", "dynamodb": "dynamodb"}
_BLACKHOLE_KINDS = (FaultKind.CONNECTION_ERROR, FaultKind.TIMEOUT)
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/\S+")
_DESCRIPTION_MAX = 512


@dataclass(frozen=True)
class FisOptions:
    """What the experiment file cannot say and FIS needs."""

    role_arn: str
    """The IAM role FIS assumes to run the experiment."""
    region: str | None = None
    """Where the template is created and the application runs (default: the first fault's region)."""
    subnet_tags: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SUBNET_TAGS))
    app_roles: tuple[str, ...] = ()
    """The application's IAM role ARNs, for EC2 API faults (at most 5)."""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def account(self) -> str:
        """The account of the role (and of the alarms)."""
        match = _ROLE_ARN.fullmatch(self.role_arn)
        if match is None:
            raise ConfigError(f"--role-arn: {self.role_arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
        return match.group(1)


def iso_duration(seconds: float) -> str:
    """``PT1M30S`` for 90 seconds (whole seconds)."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    return text if text != "PT" else "PT0S"


def _words(seconds: float) -> str:
    return f"{seconds:g}s" if seconds < 60 else iso_duration(seconds)[2:].lower()


class _Template:
    """The template being built, and what did not fit."""

    def __init__(self, experiment: Experiment, options: FisOptions) -> None:
        self.experiment, self.options = experiment, options
        self.region = options.region or next((r for f in experiment.faults for r in f.region if r != "*"), "us-east-1")
        self.actions: dict[str, dict[str, Any]] = {}
        self.targets: dict[str, dict[str, Any]] = {}
        self.untranslated: list[Untranslated] = []
        self.exported: set[int] = set()

    def miss(self, where: str, what: str, why: str, dropped: bool = True) -> None:
        self.untranslated.append(Untranslated(where, what, why, dropped))

    def fis_duration(self, where: str, what: str, seconds: float) -> str:
        """An action duration within FIS's limits; a change is listed."""
        if seconds < FIS_SHORTEST:
            self.miss(
                where, f"{what} {_words(seconds)}", "FIS's shortest action lasts 1 minute: exported as PT1M", False
            )
            return "PT1M"
        if seconds > FIS_LONGEST:
            self.miss(
                where, f"{what} {_words(seconds)}", "FIS's longest action lasts 12 hours: exported as PT12H", False
            )
            return "PT12H"
        return iso_duration(seconds)

    def lasts(self, where: str, fault: Fault) -> float | None:
        """How long ``fault`` lasts, in seconds; None (listed) when nothing says."""
        if fault.for_ is not None:
            return fault.for_
        if self.experiment.phases.faults is not None:
            return self.experiment.phases.faults - fault.after
        limit = self.experiment.guardrails.max_duration
        if limit is not None:
            self.miss(
                where,
                "a fault that lasts until it is removed",
                f"FIS needs a duration: exported as max_duration {_words(limit)}",
                False,
            )
            return limit
        self.miss(
            where,
            "a fault that lasts until it is removed",
            "FIS needs a duration: give it 'for' (or guardrails.max_duration)",
        )
        return None

    def target(self, name: str, spec: dict[str, Any]) -> str:
        self.targets.setdefault(name, spec)
        return name

    def subnets(self) -> str:
        return self.target(
            "app-subnets",
            {"resourceType": "aws:ec2:subnet", "resourceTags": dict(self.options.subnet_tags), "selectionMode": "ALL"},
        )

    def add(
        self, index: int, fault: Fault, action_id: str, parameters: dict[str, str], targets: dict[str, str], note: str
    ) -> None:
        where = f"faults[{index}]"
        seconds = self.lasts(where, fault)
        if seconds is None:
            return
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"fault{index}-{fault.label}").strip("-")[:56]
        name, number = base, 2
        while name in self.actions:
            name, number = f"{base[:52]}-{number}", number + 1
        action: dict[str, Any] = {
            "actionId": action_id,
            "description": f"{fault.label}: {note}"[:_DESCRIPTION_MAX],
            "parameters": {**parameters, "duration": self.fis_duration(where, "for", seconds)},
            "targets": targets,
        }
        if fault.after > 0:
            wait = f"wait-{name}"[:64]
            self.actions[wait] = {
                "actionId": "aws:fis:wait",
                "description": f"{fault.label} starts {_words(fault.after)} into the fault phase",
                "parameters": {"duration": self.fis_duration(where, "after", fault.after)},
            }
            action["startAfter"] = [wait]
        self.actions[name] = action
        self.exported.add(index)


def _network(template: _Template, index: int, fault: Fault, service: str, region: str) -> None:
    where = f"faults[{index}]"
    what = f"{fault.kind.value} {service} {region}".replace("*", "every service")
    blockers = []
    if fault.kind in (FaultKind.LATENCY, FaultKind.LOST_RESPONSE, FaultKind.ACCESS_DENIED):
        blockers.append(f"kind {fault.kind.value}: FIS has no action that does this to {service} calls")
    if fault.probability < 1:
        blockers.append(f"probability {fault.probability:g}: FIS cuts the network for every call or none")
    if fault.operations:
        blockers.append(f"operations {', '.join(fault.operations)}: FIS cuts the network for every operation or none")
    if fault.buckets or fault.key_prefix is not None:
        blockers.append("one bucket or key prefix: FIS cuts the network to all of S3 or none")
    if region != template.region and service != "*":
        blockers.append(
            f"{service} of another region ({region}, the application runs in {template.region}): FIS can cut the "
            "application off from a whole region, not from one of its services"
        )
    if blockers:
        for reason in blockers:
            template.miss(where, what, reason)
        return
    if fault.kind not in _BLACKHOLE_KINDS:
        template.miss(
            where,
            f"kind {fault.kind.value}",
            "FIS cuts the network: calls time out instead of being answered with an error",
            False,
        )
    if region == template.region:
        scope = _NETWORK_SCOPES[service]
        if fault.include_global and scope != "all" and region != "us-east-1":
            template.miss(
                where, "include_global", "the global endpoints live in us-east-1: this cuts only its own region"
            )
        note = f"the application's subnets lose their connectivity ({scope})"
        template.add(
            index, fault, "aws:network:disrupt-connectivity", {"scope": scope}, {"Subnets": template.subnets()}, note
        )
        return
    if fault.include_global:
        template.miss(where, "include_global", "cutting another region off does not cut the global endpoints")
    note = f"the application's subnets cannot reach {region}"
    template.add(
        index,
        fault,
        "aws:network:route-table-disrupt-cross-region-connectivity",
        {"region": region},
        {"Subnets": template.subnets()},
        note,
    )


def _api_errors(template: _Template, index: int, fault: Fault, region: str) -> None:
    where = f"faults[{index}]"
    action = _API_ACTIONS.get(fault.kind)
    reasons = []
    if action is None:
        reasons.append(
            f"kind {fault.kind.value}: FIS injects unavailable, internal and throttling errors into EC2 calls only"
        )
    if not fault.operations:
        reasons.append("no operations: FIS's API fault actions need the EC2 operations named")
    if not template.options.app_roles:
        reasons.append("FIS injects API errors into the calls of IAM roles: give the application's role (--app-role)")
    if region != template.region:
        reasons.append(f"EC2 in {region}: the template acts in {template.region}")
    if reasons:
        for reason in reasons:
            template.miss(where, f"{fault.kind.value} ec2 {region}", reason)
        return
    percentage = max(1, min(100, round(fault.probability * 100)))
    if percentage != fault.probability * 100:
        template.miss(
            where,
            f"probability {fault.probability:g}",
            f"FIS takes whole percentages: exported as {percentage}%",
            False,
        )
    roles = template.target(
        "app-roles",
        {"resourceType": "aws:iam:role", "resourceArns": list(template.options.app_roles[:5]), "selectionMode": "ALL"},
    )
    parameters = {"service": "ec2", "operations": ",".join(fault.operations), "percentage": str(percentage)}
    template.add(index, fault, action or "", parameters, {"Roles": roles}, "EC2 API errors for the application's roles")


def _fault(template: _Template, index: int, fault: Fault) -> None:
    for region in fault.region:
        if region == "*":
            template.miss(f"faults[{index}]", "region '*'", "a FIS experiment acts from one region: name the regions")
            continue
        for service in fault.service:
            if service == "ec2":
                _api_errors(template, index, fault, region)
            elif service in _NETWORK_SCOPES:
                _network(template, index, fault, service, region)
            else:
                template.miss(
                    f"faults[{index}]", f"{fault.kind.value} {service} {region}", f"FIS has no action for {service}"
                )


def _stop_conditions(template: _Template) -> list[dict[str, str]]:
    found = []
    for index, condition in enumerate(template.experiment.stop_when):
        alarm = condition.cloudwatch_alarm
        where = f"stop_when[{index}]"
        if alarm is None:
            template.miss(where, f"{condition.kind} ({condition.name})", "FIS stops on CloudWatch alarms only")
        elif alarm.region != template.region:
            template.miss(
                where,
                f"alarm {alarm.name} in {alarm.region}",
                f"FIS reads alarms in the template's region ({template.region})",
            )
        else:
            arn = f"arn:aws:cloudwatch:{alarm.region}:{template.options.account}:alarm:{alarm.name}"
            found.append({"source": "aws:cloudwatch:alarm", "value": arn})
    return found or [{"source": "none"}]


def _description(template: _Template, source: str) -> str:
    text = f"{template.experiment.title} (from {source} by outage export; the application runs in {template.region})."
    if template.untranslated:
        items = [
            f"{item.where} {item.what} ({'dropped' if item.dropped else 'changed'})" for item in template.untranslated
        ]
        text += " Not as written: " + "; ".join(items) + "."
        if len(text) > _DESCRIPTION_MAX:
            suffix = f"... ({len(items)} items: see outage export's output)."
            text = text[: _DESCRIPTION_MAX - len(suffix)] + suffix
    return text


def to_fis(experiment: Experiment, options: FisOptions, source: str = "<experiment>") -> Exported:
    """The CreateExperimentTemplate input for ``experiment``, and what FIS cannot do of it."""
    options.account  # noqa: B018 - an invalid role ARN is refused before anything else
    template = _Template(experiment, options)
    for index, fault in enumerate(experiment.faults):
        _fault(template, index, fault)
    stop = _stop_conditions(template)
    tags = {"chaos-outage:source": source[-256:], "chaos-outage:title": experiment.title[:256], **options.tags}
    document: dict[str, Any] = {
        "description": _description(template, source),
        "targets": template.targets,
        "actions": template.actions,
        "stopConditions": stop,
        "roleArn": options.role_arn,
        "tags": tags,
        "experimentOptions": {"accountTargeting": "single-account", "emptyTargetResolutionMode": "fail"},
    }
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]
    document = {"clientToken": f"outage-{digest}", **document}  # the same template twice is created once
    return Exported("fis", document, tuple(template.untranslated), len(template.exported))
