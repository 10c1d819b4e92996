"""Who is calling, whom the IAM injector may deny, and the guarantee that the caller never locks itself out.

A target is refused when it matches ``guardrails.protected_principals`` (case-insensitively: IAM
names are) or when it includes the caller: the caller's own user or role, a group the caller's user
belongs to, or the role the caller's session assumed. The deny policies would otherwise take away
the permissions the rollback needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chaos.errors import ConfigError
from chaos.gate import Refused, protected_by
from chaos.guardrails import Limits, Violation
from chaos.iam.ownership import call, is_gone
from chaos.model import IamTarget

__all__ = ["Caller", "Target", "caller_of", "resolve_targets"]


@dataclass(frozen=True)
class Target:
    """A principal the injector denies."""

    kind: str
    """role, user or group."""
    name: str
    arn: str


@dataclass(frozen=True)
class Caller:
    """The principal running the tool, as STS names it."""

    account: str
    arn: str
    kind: str
    """user, role (an assumed-role session), root, or other (federated and the like)."""
    name: str | None

    @property
    def principal(self) -> str:
        """The IAM principal behind the call: an assumed-role session is its role."""
        if self.kind == "role" and self.name:
            return f"arn:aws:iam::{self.account}:role/{self.name}"
        return self.arn


def caller_of(session: Any) -> Caller:
    """Who ``session`` is (sts:GetCallerIdentity)."""
    sts = session.client("sts")
    identity = call("sts:GetCallerIdentity", "the caller", sts.get_caller_identity)
    account, arn = str(identity["Account"]), str(identity["Arn"])
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    if resource.startswith("assumed-role/"):
        return Caller(account, arn, "role", resource.split("/")[1])
    if resource.startswith("user/"):
        return Caller(account, arn, "user", resource.rsplit("/", 1)[1])
    if resource == "root":
        return Caller(account, arn, "root", None)
    return Caller(account, arn, "other", None)


def _refuse(limit: str, message: str, limits: Limits) -> Refused:
    return Refused([Violation(limit, message)], limits.sources)


def _group_members(iam: Any, group: str) -> set[str]:
    members: set[str] = set()
    paginator = iam.get_paginator("get_group")
    pages = call("iam:GetGroup", f"group/{group}", lambda: list(paginator.paginate(GroupName=group)))
    for page in pages:
        members.update(user["UserName"].casefold() for user in page.get("Users", []))
    return members


def _includes_caller(iam: Any, kind: str, name: str, caller: Caller) -> str | None:
    same = caller.name is not None and name.casefold() == caller.name.casefold()
    if kind == "user" and caller.kind == "user" and same:
        return "it is the caller's own user"
    if kind == "role" and caller.kind == "role" and same:
        return "it is the role the caller's session assumed"
    member = kind == "group" and caller.kind == "user" and caller.name is not None
    if member and str(caller.name).casefold() in _group_members(iam, name):
        return f"the caller's user {caller.name} is a member"
    return None


def _getter(iam: Any, kind: str, name: str) -> Callable[[], Any]:
    """iam:GetRole/GetUser/GetGroup for one target: its description, or None when it does not exist."""

    def get() -> Any:
        try:
            return getattr(iam, f"get_{kind}")(**{f"{kind.title()}Name": name})
        except ClientError as exc:
            if is_gone(exc):
                return None
            raise

    return get


def resolve_targets(iam: Any, specs: Sequence[IamTarget], caller: Caller, limits: Limits) -> list[Target]:
    """The targets as they exist in the account; refuses protected ones and any that include the caller."""
    protected = limits.guardrails.protected_principals
    targets = []
    for spec in specs:
        kind = "role" if spec.role else "user" if spec.user else "group"
        name = str(spec.role or spec.user or spec.group)
        found = call(f"iam:Get{kind.title()}", f"{kind}/{name}", _getter(iam, kind, name))
        if found is None:
            raise ConfigError(f"iam.targets: {kind} {name!r} does not exist in account {caller.account}")
        arn = str(found[kind.title()]["Arn"])
        plain = f"arn:aws:iam::{caller.account}:{kind}/{found[kind.title()][f'{kind.title()}Name']}"
        pattern = protected_by(arn, protected) or protected_by(plain, protected)  # with and without its path
        if pattern is not None:
            raise _refuse("protected_principals", f"{arn} matches the protected pattern {pattern!r}", limits)
        lockout = _includes_caller(iam, kind, name, caller)
        if lockout is not None:
            raise _refuse(
                "caller",
                f"{arn} includes the caller ({caller.arn}): {lockout}; denying it would lock the rollback out",
                limits,
            )
        targets.append(Target(kind, name, arn))
    return targets
