"""The IAM and STS actions that rollback needs, which no deny policy of this tool ever covers.

Whatever a fault says, the deny statements leave these out: ``service: "*"`` becomes a deny on
``NotAction`` these; a whole-service ``iam`` or ``sts`` fault denies every other action of the
service (as wildcards over AWS's action list that stop short of these); an operation that maps to
one of them is dropped, and a fault left with nothing to deny is refused. Together with the refusal
of targets that include the caller, the principal running the tool can always remove what it made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chaos.errors import ConfigError
from chaos.iam.actions import mapping

__all__ = ["ROLLBACK_ACTIONS", "spare_rollback"]

#: Every call rollback makes (chaos.iam.ownership, chaos.iam.principals): listed in docs/iam.md.
ROLLBACK_ACTIONS = (
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:DetachGroupPolicy",
    "iam:DetachRolePolicy",
    "iam:DetachUserPolicy",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListEntitiesForPolicy",
    "iam:ListPolicies",
    "iam:ListPolicyTags",
    "iam:ListPolicyVersions",
    "sts:GetCallerIdentity",
)
_SPARED = {action.lower() for action in ROLLBACK_ACTIONS}


def _cover(prefix: str, names: Iterable[str], spared: set[str]) -> list[str]:
    """Wildcards (and names) over ``prefix``'s actions that match every one of ``names`` but no spared one."""
    wanted = sorted(set(names))
    keep = [name for name in wanted if f"{prefix}:{name}".lower() not in spared]
    protected = [name.lower() for name in wanted if f"{prefix}:{name}".lower() in spared]
    cover: list[str] = []

    def walk(stem: str, members: list[str]) -> None:
        if not any(name.startswith(stem.lower()) for name in protected):
            cover.append(f"{prefix}:{stem}*")
            return
        if stem in members:
            cover.append(f"{prefix}:{stem}")
        children: dict[str, list[str]] = {}
        for name in members:
            if len(name) > len(stem):
                children.setdefault(name[: len(stem) + 1], []).append(name)
        for child, group in sorted(children.items()):
            walk(child, group)

    walk("", keep)
    return cover


def spare_rollback(actions: Sequence[str], where: str) -> tuple[str, list[str]]:
    """``("Action", [...])`` or ``("NotAction", [...])``: ``actions`` without what rollback needs.

    Raises ConfigError when nothing would be left to deny.
    """
    if "*" in actions:
        return "NotAction", list(ROLLBACK_ACTIONS)
    kept: list[str] = []
    for action in actions:
        prefix, _, name = action.partition(":")
        if name == "*" and prefix in ("iam", "sts"):
            defined = mapping().defined_actions(prefix)
            kept += _cover(prefix, defined, _SPARED)
        elif action.lower() not in _SPARED:
            kept.append(action)
    if not kept:
        raise ConfigError(
            f"{where}: it would deny only {', '.join(actions)}, which rollback needs to remove the policies; "
            "the tool never denies them (docs/iam.md)"
        )
    return "Action", kept
