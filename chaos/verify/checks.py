"""The checks that decide whether an application degraded gracefully.

Each check takes measurements and a limit and returns a :class:`CheckResult`: passed, the value
measured, the limit, a one-line reason and, where the failure has one, its moment. A check whose
data is missing fails and says so: it is never skipped silently. Reasons write units the way the
reports do: ``41.1 %``, ``651 ms``, ``2.3 s``; ratios with a multiplication sign.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from chaos.engine.durations import format_duration
from chaos.verify.log import PhaseStats, RequestLog
from chaos.verify.probes import ProbeResult

__all__ = [
    "CheckResult",
    "availability",
    "durability",
    "graceful_errors",
    "health_honesty",
    "latency",
    "percentile",
    "recovery",
    "retry_amplification",
    "steady_state",
]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check."""

    name: str
    passed: bool
    measured: Any
    limit: Any
    reason: str
    at: float | None = None
    """Seconds into the run of the moment that decided it (the first lost write, the last failure), if any."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``at`` only when there is one)."""
        data = asdict(self)
        if self.at is None:
            del data["at"]
        return data


def _ms(seconds: float) -> str:
    """``651 ms`` under a second, ``2.3 s`` above."""
    if seconds >= 1:
        return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"
    return f"{seconds * 1000:.0f} ms"


def _seconds(seconds: float) -> str:
    """A limit or a phase length as written in an experiment, with a space before its unit: ``6 s``."""
    text = format_duration(round(seconds, 3))
    return re.sub(r"^([\d.]+)", r"\1 ", text)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def availability(stats: PhaseStats, limit: float) -> CheckResult:
    """Share of requests during the faults answered 2xx (or with a correct 404)."""
    if stats.count == 0:
        return CheckResult("availability", False, None, limit, "no request was made during the faults: no data")
    share = stats.successes / stats.count
    passed = share >= limit
    reason = f"{stats.successes} of {stats.count} requests during the faults succeeded ({share * 100:.1f} %)"
    if not passed:
        other = ", ".join(
            f"{count}x {name}"
            for name, count in stats.statuses.most_common()
            if not name.startswith("2") and name != "404"  # a plain 404 is a correct "not found"
        )
        reason += f"; the rest: {other}"
    return CheckResult("availability", passed, round(share, 4), limit, reason)


def graceful_errors(log: RequestLog, phases: Sequence[str]) -> CheckResult:
    """Every answer that was not a success was a declared graceful status, and came in time."""
    counted = [log.stats(phase) for phase in phases]
    total = sum(stats.count for stats in counted)
    limit = f"only {', '.join(map(str, sorted(log.graceful)))} and no hangs"
    if total == 0:
        return CheckResult("graceful_errors", False, None, limit, "no request was made: no data")
    failures: dict[str, int] = {}
    examples: list[str] = []
    for stats in counted:
        for name, instances in stats.failures.items():
            failures[name] = failures.get(name, 0) + stats.statuses[name]
            examples.extend(instances[:1])
    bad = sum(failures.values())
    if bad == 0:
        refusals = sum(
            count
            for stats in counted
            for name, count in stats.statuses.items()
            if name.isdigit() and int(name) in log.graceful
        )
        return CheckResult(
            "graceful_errors",
            True,
            0,
            limit,
            f"no ungraceful answer in {total} requests ({refusals} graceful refusals)",
        )
    summary = ", ".join(f"{count}x {name}" for name, count in sorted(failures.items(), key=lambda item: -item[1]))
    return CheckResult(
        "graceful_errors",
        False,
        bad,
        limit,
        f"{bad} of {total} answers were not graceful: {summary} (e.g. {examples[0]})",
    )


def latency(stats: PhaseStats, share: float, limit: float) -> CheckResult:
    """The ``share`` percentile of request latency during the faults, against ``limit`` seconds."""
    name = f"latency_p{round(share * 100)}"
    if not stats.latencies:
        return CheckResult(name, False, None, format_duration(limit), "no request was made during the faults: no data")
    value = percentile(stats.latencies, share)
    passed = value <= limit
    reason = f"p{round(share * 100)} was {_ms(value)} over {stats.count} requests during the faults"
    return CheckResult(
        name, passed, round(value, 4), format_duration(limit), reason + ("" if passed else f", over {_seconds(limit)}")
    )


def durability(
    acknowledged: Mapping[str, bytes],
    read_back: Mapping[str, tuple[int | None, bytes]],
    acknowledged_at: Mapping[str, float] | None = None,
) -> CheckResult:
    """Every write acknowledged during the run reads back intact after recovery; ``at`` is when the first
    lost write was acknowledged (``acknowledged_at``: seconds into the run, per document)."""
    if not acknowledged:
        return CheckResult("durability", False, None, "0 lost", "no write was acknowledged during the run: no data")
    lost, wrong, bad_ids = [], [], []
    for doc_id, body in acknowledged.items():
        status, found = read_back.get(doc_id, (None, b""))
        if status != 200:
            lost.append(f"{doc_id} ({status if status is not None else 'no answer'})")
        elif found != body:
            wrong.append(doc_id)
        else:
            continue
        bad_ids.append(doc_id)
    bad = len(bad_ids)
    if bad == 0:
        return CheckResult(
            "durability", True, 0, "0 lost", f"all {len(acknowledged)} acknowledged writes read back intact"
        )
    parts = []
    if lost:
        parts.append(f"{len(lost)} missing (e.g. {', '.join(lost[:3])})")
    if wrong:
        parts.append(f"{len(wrong)} with other content (e.g. {', '.join(wrong[:3])})")
    times = [acknowledged_at[doc_id] for doc_id in bad_ids if doc_id in acknowledged_at] if acknowledged_at else []
    return CheckResult(
        "durability",
        False,
        bad,
        "0 lost",
        f"{bad} of {len(acknowledged)} acknowledged writes lost: {'; '.join(parts)}",
        at=round(min(times), 3) if times else None,
    )


def recovery(stats: PhaseStats, faults_ended: float, phase_end: float, limit: float) -> CheckResult:
    """Time from the end of the faults until requests stopped failing, against ``limit`` seconds."""
    shown_limit = format_duration(limit)
    phase = _seconds(round(phase_end - faults_ended, 1))
    if stats.count == 0:
        return CheckResult("recovery", False, None, shown_limit, "no request was made after the faults: no data")
    if stats.last_failure_end is None:
        return CheckResult("recovery", True, 0.0, shown_limit, "every request after the faults succeeded")
    measured = max(stats.last_failure_end - faults_ended, 0.0)
    tail = phase_end - stats.last_failure_end
    if tail < 1.0:
        return CheckResult(
            "recovery",
            False,
            None,
            shown_limit,
            f"never recovered within the {phase} recovery phase: requests were still failing when it ended",
            at=round(stats.last_failure_end, 3),
        )
    passed = measured <= limit
    reason = f"the last failed request ended {_ms(measured)} after the faults"
    return CheckResult(
        "recovery",
        passed,
        round(measured, 3),
        shown_limit,
        reason + ("" if passed else f", over the {_seconds(limit)} limit"),
        at=round(stats.last_failure_end, 3),
    )


def retry_amplification(
    baseline_calls: int, baseline_requests: int, fault_calls: int, fault_requests: int, limit: float
) -> CheckResult:
    """AWS calls per application request during the faults, against the same ratio at baseline."""
    if baseline_requests == 0 or baseline_calls == 0:
        return CheckResult(
            "retry_amplification", False, None, limit, "no AWS calls at baseline to compare with: no data"
        )
    if fault_requests == 0:
        return CheckResult("retry_amplification", False, None, limit, "no request was made during the faults: no data")
    base, during = baseline_calls / baseline_requests, fault_calls / fault_requests
    ratio = during / base
    passed = ratio <= limit
    reason = (
        f"{during:.2f} AWS calls per request during the faults against {base:.2f} at baseline "
        f"({ratio:.2f}\N{MULTIPLICATION SIGN})"
    )
    if ratio < 1:
        reason += (
            ": fewer AWS calls per request during the outage than before, the application stopped calling "
            "what was failing (a circuit breaker, a fallback to another region, its own cache)"
        )
    elif not passed:
        reason += f": a retry storm, more than {limit:g} times the AWS calls per request of the baseline"
    return CheckResult("retry_amplification", passed, round(ratio, 3), limit, reason)


def health_honesty(polls: Sequence[tuple[int | None, str]]) -> CheckResult:
    """The health endpoint answered throughout the outage and said it was degraded."""
    limit = "answers, says degraded"
    if not polls:
        return CheckResult(
            "health_honesty", False, None, limit, "the health endpoint was not polled during the faults: no data"
        )
    answered = [body for status, body in polls if status is not None and status < 500]
    degraded = [body for body in answered if "degraded" in body.lower()]
    measured = f"{len(answered)}/{len(polls)} answered, {len(degraded)} said degraded"
    if len(answered) < len(polls):
        return CheckResult(
            "health_honesty",
            False,
            measured,
            limit,
            f"the health endpoint failed {len(polls) - len(answered)} of {len(polls)} polls during the outage",
        )
    if not degraded:
        return CheckResult(
            "health_honesty", False, measured, limit, "the health endpoint never said degraded during the outage"
        )
    return CheckResult(
        "health_honesty", True, measured, limit, f"answered every poll, said degraded {len(degraded)} times"
    )


def steady_state(name: str, results: Sequence[tuple[str, ProbeResult]]) -> CheckResult:
    """Every steady-state probe passed."""
    if not results:
        return CheckResult(name, False, None, "all probes pass", "no probe ran: no data")
    failed = [f"{probe}: {result.reason}" for probe, result in results if not result.passed]
    measured = f"{len(results) - len(failed)}/{len(results)} passed"
    if failed:
        return CheckResult(name, False, measured, "all probes pass", "; ".join(failed))
    return CheckResult(
        name, True, measured, "all probes pass", ", ".join(f"{probe}: {result.reason}" for probe, result in results)
    )
