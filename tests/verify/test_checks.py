"""The checks, on recorded request logs with known answers: each can pass, fail, and lacks data."""

from __future__ import annotations

import pytest

from chaos.verify import checks
from chaos.verify.log import RequestLog, Sample
from chaos.verify.probes import ProbeResult


def sample(
    start: float, status: int | None, phase: str = "faults", method: str = "GET", doc: str = "1", **kw: object
) -> Sample:
    return Sample(
        start=start,
        latency=kw.pop("latency", 0.05),
        status=status,
        error=kw.pop("error", None),
        phase=phase,  # type: ignore[arg-type]
        method=method,
        doc_id=doc,
        **kw,
    )  # type: ignore[arg-type]


def log_of(*samples: Sample, graceful: tuple[int, ...] = (503, 429)) -> RequestLog:
    log = RequestLog(graceful=graceful)
    for item in samples:
        log.add(item)
    return log


def test_availability_counts_2xx_and_correct_404s() -> None:
    log = log_of(
        sample(0, 200),
        sample(1, 404),
        sample(2, 503),
        sample(3, 500),
        sample(4, 404, written_before=True),  # a written document not found: wrong
    )
    result = checks.availability(log.stats("faults"), 0.5)
    assert (result.passed, result.measured) == (False, 0.4)
    assert "2 of 5 requests" in result.reason
    assert "1x 404 for a written document" in result.reason
    assert checks.availability(log.stats("faults"), 0.4).passed


def test_availability_without_data_fails() -> None:
    result = checks.availability(RequestLog().stats("faults"), 0.9)
    assert not result.passed and "no data" in result.reason


def test_graceful_errors() -> None:
    graceful = log_of(
        sample(0, 200, phase="baseline"), sample(1, 503), sample(2, 429), sample(3, 200, phase="recovery")
    )
    assert checks.graceful_errors(graceful, ["baseline", "faults", "recovery"]).passed
    bad = log_of(sample(0, 503), sample(1, 500), sample(2, None, error="timeout"), sample(3, 500))
    result = checks.graceful_errors(bad, ["faults"])
    assert (result.passed, result.measured) == (False, 3)
    assert "2x 500, 1x timeout" in result.reason
    assert checks.graceful_errors(log_of(sample(1, 500), graceful=(500,)), ["faults"]).passed
    assert not checks.graceful_errors(RequestLog(), ["faults"]).passed


def test_latency_percentiles() -> None:
    log = log_of(*[sample(i, 200, latency=(i + 1) / 100) for i in range(100)])
    stats = log.stats("faults")
    assert checks.percentile(stats.latencies, 0.99) == 0.99
    assert checks.percentile(stats.latencies, 0.5) == 0.5
    assert checks.latency(stats, 0.99, 1.0).passed
    failed = checks.latency(stats, 0.95, 0.5)
    assert (failed.passed, failed.name, failed.measured) == (False, "latency_p95", 0.95)
    assert not checks.latency(RequestLog().stats("faults"), 0.99, 1.0).passed


def test_durability() -> None:
    acknowledged = {"1": b"doc 1", "2": b"doc 2", "3": b"doc 3"}
    assert checks.durability(acknowledged, {k: (200, v) for k, v in acknowledged.items()}).passed
    result = checks.durability(acknowledged, {"1": (200, b"doc 1"), "2": (404, b""), "3": (200, b"other")})
    assert (result.passed, result.measured) == (False, 2)
    assert "1 missing (e.g. 2 (404))" in result.reason and "1 with other content" in result.reason
    assert not checks.durability({}, {}).passed


def test_durability_tracks_the_last_acknowledged_write() -> None:
    log = log_of(
        sample(0, 200, method="PUT", doc="7", body=b"first"),
        sample(1, 503, method="PUT", doc="7", body=b"lost"),
        sample(2, 202, method="PUT", doc="8", body=b"spooled"),
    )
    assert log.acknowledged == {"7": b"first", "8": b"spooled"}


def test_recovery() -> None:
    log = log_of(
        sample(10.0, 500, phase="recovery", latency=0.5),
        sample(11.0, 200, phase="recovery"),
        sample(14.0, 200, phase="recovery"),
    )
    result = checks.recovery(log.stats("recovery"), faults_ended=10.0, phase_end=15.0, limit=1.0)
    assert (result.passed, result.measured) == (True, 0.5)
    assert not checks.recovery(log.stats("recovery"), 10.0, 15.0, 0.25).passed
    still = log_of(sample(14.8, 500, phase="recovery"))
    assert "still failing" in checks.recovery(still.stats("recovery"), 10.0, 15.0, 10.0).reason
    assert checks.recovery(log_of(sample(11, 200, phase="recovery")).stats("recovery"), 10, 15, 1).measured == 0.0
    assert not checks.recovery(RequestLog().stats("recovery"), 10, 15, 1).passed


def test_retry_amplification() -> None:
    assert checks.retry_amplification(100, 100, 300, 100, 4).passed
    storm = checks.retry_amplification(100, 100, 1000, 100, 4)
    assert (storm.passed, storm.measured) == (False, 10.0)
    assert not checks.retry_amplification(0, 100, 10, 10, 4).passed
    assert not checks.retry_amplification(10, 10, 10, 0, 4).passed


def test_health_honesty() -> None:
    assert checks.health_honesty([(200, '{"status": "ok"}'), (200, '{"status": "degraded"}')]).passed
    liar = checks.health_honesty([(200, '{"status": "ok"}')] * 5)
    assert not liar.passed and "never said degraded" in liar.reason
    down = checks.health_honesty([(None, "no answer"), (200, "degraded")])
    assert not down.passed and "failed 1 of 2 polls" in down.reason
    assert not checks.health_honesty([]).passed


@pytest.mark.parametrize("passed", [True, False])
def test_steady_state(passed: bool) -> None:
    result = checks.steady_state(
        "steady_state_after", [("healthy", ProbeResult(passed, 200, "", "status 200" if passed else "status 500"))]
    )
    assert result.passed is passed
    assert not checks.steady_state("steady_state_after", []).passed


def test_log_memory_is_bounded() -> None:
    from chaos.verify import log as log_module

    log = RequestLog()
    for index in range(log_module.RESERVOIR + 5000):
        log.add(sample(index / 1000, 200, latency=0.01))
    stats = log.stats("faults")
    assert len(stats.latencies) == log_module.RESERVOIR
    assert stats.count == log_module.RESERVOIR + 5000
