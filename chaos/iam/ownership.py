"""Which policies are this tool's, and removing them with a report that never claims more than it checked.

A policy is this tool's only when it carries the whole signature: the name
``chaos-outage-<run id>-<n>`` with a run id the tool generated (12 hex digits), the run tag equal
to that id, a parseable expiry tag, and a default version whose statements are all deny statements
the tool wrote (``Sid`` ``ChaosFault...``, an ``aws:CurrentTime`` window). A policy with the prefix
but not the signature is listed as "not ours" and never detached or deleted.

Every AWS error while listing, reading tags, detaching, deleting or verifying is kept in the report
with the permission it concerns; throttling is retried with tenacity first. A report is ``clean``
only when every policy it set out to remove was checked to be gone.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from chaos.iam.policy import NAME_PREFIX, SID_PREFIX, TAG_EXPIRES, TAG_RUN, TAG_RUNNER
from chaos.journal import ProcessIdentity

__all__ = [
    "RUN_ID_PATTERN",
    "Candidate",
    "IamStepError",
    "Removal",
    "call",
    "find",
    "inspect",
    "is_gone",
    "remove",
    "runner_tag",
]

RUN_ID_PATTERN = re.compile(r"^[0-9a-f]{12}$")
_NAME = re.compile(rf"^{re.escape(NAME_PREFIX)}(?P<run>[0-9a-f]{{12}})-(?P<index>\d{{1,4}})$")
_THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "SlowDown",
    }
)
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"})
T = TypeVar("T")


class IamStepError(Exception):
    """One IAM call that failed after retries: which action, on what, and why (a permission, throttling)."""

    def __init__(self, action: str, target: str, reason: str) -> None:
        self.action, self.target, self.reason = action, target, reason
        super().__init__(f"{action} on {target}: {reason}")


def _code(exc: BaseException) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""


def _throttled(exc: BaseException) -> bool:
    return _code(exc) in _THROTTLING


def call(action: str, target: str, function: Callable[..., T], /, **kwargs: Any) -> T:
    """``function(**kwargs)``, throttling retried with backoff; any other failure an :class:`IamStepError`."""
    retrying = Retrying(
        retry=retry_if_exception(_throttled),
        stop=stop_after_attempt(6),
        wait=wait_exponential(multiplier=0.2, max=5),
        reraise=True,
    )
    try:
        return retrying(function, **kwargs)
    except ClientError as exc:
        code = _code(exc)
        if code in _DENIED:
            reason = f"permission {action} is missing ({code})"
        elif code in _THROTTLING:
            reason = f"throttled ({code}), still after 6 attempts"
        else:
            reason = f"{code}: {exc.response.get('Error', {}).get('Message', '')}".strip()
        raise IamStepError(action, target, reason) from None
    except BotoCoreError as exc:
        raise IamStepError(action, target, f"{type(exc).__name__}: {exc}") from None


def is_gone(exc: BaseException) -> bool:
    """Whether an error says the entity no longer exists."""
    return _code(exc) == "NoSuchEntity"


@dataclass(frozen=True)
class Candidate:
    """A policy with the tool's name prefix, and whether it carries the whole signature."""

    arn: str
    name: str
    run_id: str | None
    ours: bool
    why_not: str = ""


def _statements_are_ours(document: Any) -> str:
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return "its document has no statements"
    for statement in statements:
        if not isinstance(statement, dict):
            return "its document is not one the tool wrote"
        if statement.get("Effect") != "Deny" or not str(statement.get("Sid", "")).startswith(SID_PREFIX):
            return f"statement {statement.get('Sid', '(no Sid)')!r} is not a deny statement the tool wrote"
        window = statement.get("Condition", {}).get("DateLessThan", {})
        if not isinstance(window, dict) or "aws:CurrentTime" not in window:
            return f"statement {statement.get('Sid')!r} has no expiry (aws:CurrentTime)"
    return ""


def runner_tag(identity: ProcessIdentity) -> str:
    """The value of the runner tag for a process: host, pid and start time."""
    return f"{socket.gethostname()[:100]}/{identity.pid}/{identity.start_ticks}"


def inspect(iam: Any, arn: str, name: str, run_id: str | None = None, runner: str | None = None) -> Candidate:
    """Whether the policy ``arn`` carries the whole signature (of run ``run_id``, created by ``runner``,
    when given)."""
    match = _NAME.match(name)
    if match is None:
        return Candidate(arn, name, None, False, "its name is not chaos-outage-<run id>-<n>")
    found_run = match["run"]
    if run_id is not None and found_run != run_id:
        return Candidate(arn, name, found_run, False, f"it belongs to run {found_run}, not {run_id}")
    tags_list = call("iam:ListPolicyTags", arn, iam.list_policy_tags, PolicyArn=arn).get("Tags", [])
    tags = {tag["Key"]: tag["Value"] for tag in tags_list}
    if tags.get(TAG_RUN) != found_run:
        shown = repr(tags[TAG_RUN]) if TAG_RUN in tags else "missing"
        return Candidate(arn, name, found_run, False, f"its {TAG_RUN} tag is {shown}, not {found_run!r}")
    if runner is not None and tags.get(TAG_RUNNER) != runner:
        return Candidate(
            arn, name, found_run, False, f"it was created by runner {tags.get(TAG_RUNNER)!r}, not {runner!r}"
        )
    try:
        datetime.strptime(tags.get(TAG_EXPIRES, ""), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return Candidate(arn, name, found_run, False, f"its {TAG_EXPIRES} tag is missing or not a time")
    policy = call("iam:GetPolicy", arn, iam.get_policy, PolicyArn=arn)["Policy"]
    version = call(
        "iam:GetPolicyVersion", arn, iam.get_policy_version, PolicyArn=arn, VersionId=policy["DefaultVersionId"]
    )["PolicyVersion"]
    why = _statements_are_ours(version.get("Document"))
    if why:
        return Candidate(arn, name, found_run, False, why)
    return Candidate(arn, name, found_run, True)


def find(iam: Any, run_id: str | None = None) -> tuple[list[Candidate], list[IamStepError]]:
    """Every customer-managed policy with the tool's name prefix, each inspected (one run's when given),
    and the errors that kept some from being listed or inspected."""
    found: list[Candidate] = []
    errors: list[IamStepError] = []
    paginator = iam.get_paginator("list_policies")
    try:
        pages = call("iam:ListPolicies", "the account", lambda: list(paginator.paginate(Scope="Local")))
    except IamStepError as error:
        return [], [error]
    for page in pages:
        for policy in page["Policies"]:
            name = policy["PolicyName"]
            if not name.startswith(NAME_PREFIX):
                continue
            match = _NAME.match(name)
            if run_id is not None and (match is None or match["run"] != run_id):
                continue  # another run's (or no run's): not in scope
            try:
                found.append(inspect(iam, policy["Arn"], name, run_id))
            except IamStepError as error:
                errors.append(error)
    return found, errors


@dataclass
class Removal:
    """What a removal did, left alone, failed at, and checked."""

    removed: list[str] = field(default_factory=list)
    """ARNs detached, deleted, and checked to be gone."""
    not_ours: list[Candidate] = field(default_factory=list)
    errors: list[IamStepError] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    """ARNs the removal could not check to be gone (an error on the way says why)."""

    @property
    def clean(self) -> bool:
        """Whether every policy set out to be removed is checked to be gone, with no error on the way."""
        return not self.errors and not self.unverified

    def merge(self, other: Removal) -> None:
        """Add ``other``'s findings to these."""
        self.removed += other.removed
        self.not_ours += other.not_ours
        self.errors += other.errors
        self.unverified += other.unverified

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record for the journal."""
        return {
            "removed": self.removed,
            "not_ours": [{"arn": c.arn, "why": c.why_not} for c in self.not_ours],
            "errors": [str(error) for error in self.errors],
            "unverified": self.unverified,
            "clean": self.clean,
        }


def _detach_everywhere(iam: Any, arn: str) -> None:
    entities = call("iam:ListEntitiesForPolicy", arn, iam.list_entities_for_policy, PolicyArn=arn)
    for role in entities.get("PolicyRoles", []):
        call("iam:DetachRolePolicy", arn, iam.detach_role_policy, RoleName=role["RoleName"], PolicyArn=arn)
    for user in entities.get("PolicyUsers", []):
        call("iam:DetachUserPolicy", arn, iam.detach_user_policy, UserName=user["UserName"], PolicyArn=arn)
    for group in entities.get("PolicyGroups", []):
        call("iam:DetachGroupPolicy", arn, iam.detach_group_policy, GroupName=group["GroupName"], PolicyArn=arn)


def _delete(iam: Any, arn: str) -> None:
    _detach_everywhere(iam, arn)
    versions = call("iam:ListPolicyVersions", arn, iam.list_policy_versions, PolicyArn=arn).get("Versions", [])
    for version in versions:
        if not version["IsDefaultVersion"]:
            call(
                "iam:DeletePolicyVersion",
                arn,
                iam.delete_policy_version,
                PolicyArn=arn,
                VersionId=version["VersionId"],
            )
    call("iam:DeletePolicy", arn, iam.delete_policy, PolicyArn=arn)


def _gone(iam: Any, arn: str) -> bool:
    try:
        iam.get_policy(PolicyArn=arn)
    except ClientError as exc:
        if is_gone(exc):
            return True
        raise
    return False


def remove(
    iam: Any,
    arns: Iterable[str],
    *,
    run_id: str | None = None,
    journal: Callable[..., None] | None = None,
    runner: str | None = None,
) -> Removal:
    """Remove each of ``arns`` that carries the signature (of ``run_id``), and check that it is gone.

    An ARN that no longer exists counts as removed once checked; one without the signature is left alone.
    """
    report = Removal()
    for arn in dict.fromkeys(arns):
        name = arn.rsplit("/", 1)[-1]
        try:
            if call("iam:GetPolicy", arn, lambda arn=arn: _gone(iam, arn)):
                report.removed.append(arn)
                continue
            candidate = inspect(iam, arn, name, run_id, runner)
            if not candidate.ours:
                report.not_ours.append(candidate)
                continue
            if journal is not None:
                journal("iam_remove", policy=arn)
            _delete(iam, arn)
            if not call("iam:GetPolicy", arn, lambda arn=arn: _gone(iam, arn)):
                report.unverified.append(arn)
                report.errors.append(IamStepError("iam:DeletePolicy", arn, "the policy is still there after deletion"))
                continue
            report.removed.append(arn)
        except IamStepError as error:
            report.errors.append(error)
            report.unverified.append(arn)
    return report
