"""The verdict of a run: every check the experiment asks for, computed from what was measured."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chaos.model import Experiment, Load
from chaos.verify import checks
from chaos.verify.checks import CheckResult
from chaos.verify.log import RequestLog
from chaos.verify.probes import ProbeResult, http_get

__all__ = ["Measurements", "judge", "load_summary", "probe_dict", "read_back", "timeseries"]

ProbeResults = list[tuple[str, ProbeResult]]


@dataclass
class Measurements:
    """Everything a run measured, for the verdict."""

    log: RequestLog
    before: ProbeResults = field(default_factory=list)
    after: ProbeResults = field(default_factory=list)
    health_polls: list[tuple[int | None, str]] = field(default_factory=list)
    read_back: dict[str, tuple[int | None, bytes]] | None = None
    faults_ended: float = 0.0
    recovery_ended: float = 0.0
    aws_calls_by_phase: Mapping[str, int] = field(default_factory=dict)


def judge(experiment: Experiment, measured: Measurements) -> list[CheckResult]:
    """The checks ``experiment.expect`` asks for, in a fixed order, each passed or failed with a reason."""
    expect, log = experiment.expect, measured.log
    during = log.stats("faults")
    results: list[CheckResult] = []
    if experiment.steady_state:
        results.append(checks.steady_state("steady_state_before", measured.before))
    if expect.availability is not None:
        results.append(checks.availability(during, expect.availability))
    results.append(checks.graceful_errors(log, ["baseline", "faults", "recovery"]))
    for share, limit in ((0.5, expect.latency_p50), (0.95, expect.latency_p95), (0.99, expect.latency_p99)):
        if limit is not None:
            results.append(checks.latency(during, share, limit))
    if expect.durability:
        if measured.read_back is None:
            results.append(
                CheckResult(
                    "durability", False, None, "0 lost", "the load has no GET request to read writes back with: no data"
                )
            )
        else:
            results.append(checks.durability(log.acknowledged, measured.read_back, log.acknowledged_at))
    if expect.recovery is not None:
        results.append(
            checks.recovery(log.stats("recovery"), measured.faults_ended, measured.recovery_ended, expect.recovery)
        )
    if expect.retry_amplification is not None:
        calls = measured.aws_calls_by_phase
        results.append(
            checks.retry_amplification(
                calls.get("baseline", 0),
                log.stats("baseline").count,
                calls.get("faults", 0),
                during.count,
                expect.retry_amplification,
            )
        )
    if expect.health_reports_degraded:
        results.append(checks.health_honesty(measured.health_polls))
    if experiment.steady_state:
        results.append(checks.steady_state("steady_state_after", measured.after))
    return results


def timeseries(log: RequestLog) -> list[dict[str, Any]]:
    """Per second of the run: requests, successes, graceful refusals, failures, mean and max latency."""
    rows = []
    for second, (count, ok, graceful, failed, total, worst) in sorted(log.per_second.items()):
        rows.append(
            {
                "t": second,
                "requests": int(count),
                "successes": int(ok),
                "graceful": int(graceful),
                "failures": int(failed),
                "latency_mean": round(total / count, 4) if count else None,
                "latency_max": round(worst, 4),
            }
        )
    return rows


def load_summary(log: RequestLog) -> dict[str, Any]:
    """Per phase: requests, successes and the count of each status."""
    return {
        phase: {"requests": stats.count, "successes": stats.successes, "statuses": dict(stats.statuses)}
        for phase, stats in log.phases.items()
    }


def probe_dict(name: str, result: ProbeResult) -> dict[str, Any]:
    """A steady-state probe's result for the journal."""
    return {"name": name, "passed": result.passed, "status": result.status, "reason": result.reason}


def probes_dicts(results: Sequence[tuple[str, ProbeResult]]) -> list[dict[str, Any]]:
    """Every probe's result for the journal."""
    return [probe_dict(name, result) for name, result in results]


def read_back(
    base_url: str, load: Load, log: RequestLog, stopped: Callable[[], bool]
) -> dict[str, tuple[int | None, bytes]] | None:
    """Every acknowledged write read back through the application (None: the load has no GET to do it);
    skipped once ``stopped()`` says the run is over."""
    reads = [spec for spec in load.requests if spec.method == "GET" and "{id}" in spec.path]
    if not reads:
        return None
    path = reads[0].path

    def fetch(doc_id: str) -> tuple[str, tuple[int | None, bytes]]:
        if stopped():
            return doc_id, (None, b"")
        status, body = http_get(base_url + path.replace("{id}", doc_id), timeout=load.timeout)
        return doc_id, (status, body.encode("utf-8", "surrogateescape"))

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(fetch, list(log.acknowledged)))
