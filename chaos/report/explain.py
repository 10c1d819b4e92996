"""What each check means, its measured value and limit in words with units, and the moment it failed.

Every report format uses these, so HTML, Markdown and JUnit say the same thing: ``41.1 %``,
``651 ms``, ``0.79`` times the baseline, never a raw ``0.4108`` next to a limit of ``2s`` and never ``None``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from chaos.engine.durations import parse_duration
from chaos.report.view import Check, ReportView

__all__ = [
    "Moment",
    "description",
    "failure_moments",
    "limit_text",
    "measured_text",
    "note",
    "seconds_of",
    "seconds_text",
]

DESCRIPTIONS = {
    "availability": "The share of requests answered successfully while the faults were active: how many of your "
    "users could still work during the outage.",
    "graceful_errors": "Every answer that was not a success was a declared refusal (such as a 503 with Retry-After) "
    "that came in time, never a 500, a hang or a wrong 404: clients and load balancers cope with a refusal, "
    "not with a crash.",
    "latency": "The {p} request latency while the faults were active: an application that stays up but answers "
    "after its clients gave up is down for them.",
    "durability": "Every write the application acknowledged during the run reads back intact afterwards: an "
    "acknowledged write that disappears is silent data loss, the worst thing an outage can leave behind.",
    "recovery": "How long after the faults ended requests kept failing: the time the application goes on hurting "
    "once AWS is back (a stuck circuit breaker, a poisoned cache, a backlog).",
    "retry_amplification": "AWS calls per application request during the faults, divided by the same ratio at "
    "baseline: far above 1, retries multiply the load on a service that is already failing (a retry storm) "
    "and slow its recovery.",
    "health_honesty": "The health endpoint answered throughout the outage and said it was degraded: a status page "
    "must neither go down with the outage nor say all is well (in 2017 the AWS status page itself depended on "
    "the S3 it should have reported on).",
    "steady_state_before": "The steady-state probes passed before any fault: otherwise the run would judge an "
    "application that was already broken.",
    "steady_state_after": "The steady-state probes passed again after the faults were removed: the application "
    "came back by itself, without a restart or a person.",
    "denial_in_effect": "A call made with a target's credentials was denied while the deny policies were attached: "
    "the proof that the outage really happened (IAM changes take a while to propagate).",
    "access_restored": "The same call succeeded again after the policies were removed: the proof that rollback "
    "gave the access back.",
}
_LATENCY = re.compile(r"^latency_p(\d+)$")
_PHASE = re.compile(r"(\d+(?:\.\d+)?\s?(?:ms|s|m|h)) recovery phase")


def description(name: str) -> str:
    """One sentence: what the check measures and why it matters ("" for a check this version does not know)."""
    latency = _LATENCY.match(name)
    if latency:
        return DESCRIPTIONS["latency"].format(p=f"p{latency.group(1)}")
    return DESCRIPTIONS.get(name, "")


def seconds_text(seconds: float) -> str:
    """``651 ms`` below a second, ``2.3 s`` or ``12.5 s`` above, ``125 s`` from 100 s."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def seconds_of(value: Any) -> float | None:
    """Seconds from a number or a duration such as ``"2s"``; None when it is neither."""
    number = _number(value)
    if number is not None:
        return number
    try:
        return parse_duration(value)
    except ValueError:  # pydantic's custom error is a ValueError
        return None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def measured_text(check: Check) -> str:
    """The measured value with its unit, or what happened instead of a value."""
    name, value = check.name, check.measured
    number = _number(value)
    if name == "recovery" and value is None and ("still failing" in check.reason or "never recovered" in check.reason):
        phase = _PHASE.search(check.reason)
        length = seconds_of(phase.group(1).replace(" ", "")) if phase else None
        return f"never recovered within the {seconds_text(length)} recovery phase" if length else "never recovered"
    if name == "denial_in_effect":
        return f"in effect after {seconds_text(number)}" if number is not None else "never seen in effect"
    if name == "access_restored":
        return f"restored after {seconds_text(number)}" if number is not None else "not restored"
    if value is None:
        return "no data"
    if number is not None:
        if name == "availability":
            return f"{number * 100:.1f} %"
        if _LATENCY.match(name):
            return seconds_text(number)
        if name == "recovery":
            return "0 s: no failure after the faults" if number == 0 else seconds_text(number)
        if name == "retry_amplification":
            return f"{number:.2f}\N{MULTIPLICATION SIGN}"
        if name == "graceful_errors":
            return "none" if number == 0 else _plural(int(number), "ungraceful answer")
        if name == "durability":
            return "none lost" if number == 0 else f"{_plural(int(number), 'write')} lost"
        return f"{number:.4g}"
    text = str(value)
    probes = re.fullmatch(r"(\d+)/(\d+) passed", text)
    if probes:
        return f"{probes.group(1)} of {_plural(int(probes.group(2)), 'probe')} passed"
    return text


def limit_text(check: Check) -> str:
    """The limit with its unit and direction: ``≥ 95 %``, ``≤ 2 s``, ``≤ 4`` times the baseline."""
    name, limit = check.name, check.limit
    if limit is None:
        return "—"
    if name == "availability" and _number(limit) is not None:
        return f"≥ {float(limit) * 100:g} %"
    if _LATENCY.match(name) or name == "recovery":
        seconds = seconds_of(limit)
        return f"≤ {seconds_text(seconds)}" if seconds is not None else str(limit)
    if name == "retry_amplification" and _number(limit) is not None:
        return f"≤ {float(limit):g}\N{MULTIPLICATION SIGN}"
    if name == "durability" and limit == "0 lost":
        return "none lost"
    if name == "health_honesty" and limit == "answers, says degraded":
        return "answers every poll, says degraded"
    if name in ("denial_in_effect", "access_restored"):
        seconds = seconds_of(limit)
        return f"within {seconds_text(seconds)}" if seconds is not None else str(limit)
    number = _number(limit)
    return f"{number:g}" if number is not None else str(limit)


def note(check: Check) -> str:
    """What a reader needs besides the reason (journals of older versions lack it in their reasons)."""
    number = _number(check.measured)
    if check.name == "retry_amplification" and number is not None and number < 1 and "fewer" not in check.reason:
        return (
            "Below 1: fewer AWS calls per request during the outage than before; the application stopped calling "
            "what was failing (a circuit breaker, a fallback to another region, its own cache)."
        )
    return ""


@dataclass(frozen=True)
class Moment:
    """When a failed check went wrong, seconds into the run, and what happened then."""

    check: str
    t: float
    what: str


def failure_moments(view: ReportView) -> tuple[list[Moment], list[Check]]:
    """The moment of each failed check that has one, and the failed checks that have none."""
    phases = dict(view.phases)
    starts = [fault.start for fault in view.faults]
    fault_start = min(starts) if starts else phases.get("faults")
    fault_end = max((fault.end for fault in view.faults), default=phases.get("recovery"))
    moments, unplaced = [], []
    for check in view.checks:
        if check.passed:
            continue
        found = _moment(check, view, phases, fault_start, fault_end)
        if found is None:
            unplaced.append(check)
        else:
            moments.append(Moment(check.name, round(found[0], 3), found[1]))
    return moments, unplaced


def _moment(
    check: Check, view: ReportView, phases: dict[str, float], fault_start: float | None, fault_end: float | None
) -> tuple[float, str] | None:
    name = check.name
    if check.at is not None:
        if name == "durability":
            return check.at, "first lost write acknowledged"
        if name == "recovery":
            return check.at, "still failing" if check.measured is None else "last failed request"
        return check.at, "failed"
    during = [
        s
        for s in view.seconds
        if fault_start is not None and fault_end is not None and s.t + 1 > fault_start and s.t < fault_end
    ]
    if name == "availability":
        first = next((s for s in during if s.successes < s.requests), None)
        return (max(first.t, fault_start or 0.0), "first failed request") if first else None
    if name == "graceful_errors":
        first = next((s for s in view.seconds if s.failures), None)
        if first is None:
            return None
        straddles = fault_start is not None and first.t < fault_start < first.t + 1
        return (fault_start if straddles and fault_start else float(first.t)), "first ungraceful answer"
    latency = _LATENCY.match(name)
    if latency:
        limit = seconds_of(check.limit)
        first = next((s for s in during if limit is not None and s.latency_max > limit), None)
        return (max(first.t, fault_start or 0.0), "first request over the limit") if first else None
    if name == "recovery" and "steady_state_after" in phases:
        return phases["steady_state_after"], "still failing"
    if name in ("health_honesty", "denial_in_effect") and fault_start is not None:
        return fault_start, "from the start of the faults"
    if name in ("steady_state_before", "steady_state_after") and name in phases:
        return phases[name], "probe failed"
    if name == "access_restored" and "recovery" in phases:
        return phases["recovery"], "after removal"
    return None
