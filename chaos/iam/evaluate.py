"""AWS's policy evaluation logic, for the policy language the IAM injector generates and around it.

Explicit deny wins; otherwise an allow allows; otherwise the request is implicitly denied.
Statements match on Action/NotAction (case-insensitive wildcards), Resource/NotResource
(case-sensitive wildcards) and Condition: every operator block must hold, every key in a block must
hold, and a key holds when any of its values matches. Operators: StringEquals, StringNotEquals,
StringEqualsIgnoreCase, StringLike, StringNotLike, ArnEquals, ArnLike, ArnNotEquals, ArnNotLike,
DateEquals, DateLessThan, DateLessThanEquals, DateGreaterThan, DateGreaterThanEquals, Bool, and
each with ``IfExists``. A key missing from the request makes a condition false, except for negated
operators (true) and ``IfExists`` forms (true), as AWS documents.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = ["Decision", "Request", "evaluate"]


@dataclass(frozen=True)
class Request:
    """One request as IAM sees it: the action, the resource, the context keys."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """``Allow``, ``ExplicitDeny`` or ``ImplicitDeny``, and the statement that decided."""

    effect: str
    statement: str | None = None

    @property
    def allowed(self) -> bool:
        return self.effect == "Allow"


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return bool(_wildcard(pattern, ignore_case).match(value))


def _arn_like(pattern: str, value: str) -> bool:
    expected, actual = pattern.split(":", 5), value.split(":", 5)
    if len(expected) != 6 or len(actual) != 6:
        return False
    return all(_like(e, a) for e, a in zip(expected, actual, strict=True))


def _date(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


_OPERATORS: dict[str, tuple[Callable[[Any, Any], bool], bool]] = {
    # name: (does the request value match the policy value, is the operator negated)
    "StringEquals": (lambda policy, actual: str(actual) == str(policy), False),
    "StringNotEquals": (lambda policy, actual: str(actual) == str(policy), True),
    "StringEqualsIgnoreCase": (lambda policy, actual: str(actual).lower() == str(policy).lower(), False),
    "StringNotEqualsIgnoreCase": (lambda policy, actual: str(actual).lower() == str(policy).lower(), True),
    "StringLike": (lambda policy, actual: _like(str(policy), str(actual)), False),
    "StringNotLike": (lambda policy, actual: _like(str(policy), str(actual)), True),
    "ArnEquals": (lambda policy, actual: _arn_like(str(policy), str(actual)), False),
    "ArnLike": (lambda policy, actual: _arn_like(str(policy), str(actual)), False),
    "ArnNotEquals": (lambda policy, actual: _arn_like(str(policy), str(actual)), True),
    "ArnNotLike": (lambda policy, actual: _arn_like(str(policy), str(actual)), True),
    "DateEquals": (lambda policy, actual: _date(actual) == _date(policy), False),
    "DateNotEquals": (lambda policy, actual: _date(actual) == _date(policy), True),
    "DateLessThan": (lambda policy, actual: _date(actual) < _date(policy), False),
    "DateLessThanEquals": (lambda policy, actual: _date(actual) <= _date(policy), False),
    "DateGreaterThan": (lambda policy, actual: _date(actual) > _date(policy), False),
    "DateGreaterThanEquals": (lambda policy, actual: _date(actual) >= _date(policy), False),
    "Bool": (lambda policy, actual: _bool(actual) == _bool(policy), False),
}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition_holds(operator: str, block: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    if_exists = operator.endswith("IfExists")
    name = operator[: -len("IfExists")] if if_exists else operator
    if name not in _OPERATORS:
        raise ValueError(f"condition operator {operator!r} is not supported by this evaluator")
    matches, negated = _OPERATORS[name]
    lowered = {key.lower(): value for key, value in context.items()}
    for key, expected in block.items():
        if key.lower() not in lowered:
            if if_exists or negated:
                continue
            return False
        actual_values = _listed(lowered[key.lower()])
        any_match = any(matches(policy, actual) for policy in _listed(expected) for actual in actual_values)
        if any_match == negated:
            return False
    return True


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    actions = [_like(pattern, request.action, ignore_case=True) for pattern in _listed(statement.get("Action", []))]
    if "Action" in statement and not any(actions):
        return False
    if "NotAction" in statement and any(
        _like(pattern, request.action, ignore_case=True) for pattern in _listed(statement["NotAction"])
    ):
        return False
    if "Resource" in statement:
        if not any(_like(pattern, request.resource) for pattern in _listed(statement["Resource"])):
            return False
    elif "NotResource" in statement and any(_like(p, request.resource) for p in _listed(statement["NotResource"])):
        return False
    return all(
        _condition_holds(operator, block, request.context) for operator, block in statement.get("Condition", {}).items()
    )


def evaluate(policies: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    """The decision of a set of identity policies for one request."""
    allowed: str | None = None
    for policy in policies:
        for index, statement in enumerate(_listed(policy.get("Statement", []))):
            if not _applies(statement, request):
                continue
            sid = statement.get("Sid") or f"statement {index}"
            if statement.get("Effect") == "Deny":
                return Decision("ExplicitDeny", sid)
            if statement.get("Effect") == "Allow" and allowed is None:
                allowed = sid
    return Decision("Allow", allowed) if allowed is not None else Decision("ImplicitDeny")
