"""The ledger per fault (what the reports show and the journal records): the calls in each fault's scope
during its window and those it fired on, by operation; exact with a hand-moved clock, bounded in memory.

(These test chaos/ledger.py and belong with tests/test_ledger.py; they live here while that file is
someone else's to edit.)"""

from __future__ import annotations

import json
import time

import pytest

from chaos import Call, Fault, Ledger
from chaos.engine.engine import Engine


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _run(
    faults: list[Fault], calls_per_step: list[Call], steps: int = 160, step: float = 0.1
) -> tuple[Ledger, list[int]]:
    """Baseline 2 s, then the faults armed and ``steps`` steps of calls, then recovery."""
    clock = Clock()
    ledger, engine = Ledger(clock=clock), Engine(now=clock)
    ledger.phase = "baseline"
    for _ in range(20):
        clock.now += step
        for call in calls_per_step:
            ledger.record(call, engine.decide(call))
    ledger.phase = "faults"
    clock.now += 0.0123  # the journal is written before the faults are armed
    ids = engine.add(faults)
    ledger.start("faults")  # the runner restarts the fault phase's count at the arming
    armed = clock.now
    for index in range(steps):
        clock.now = armed + index * step + step / 2
        for call in calls_per_step:
            ledger.record(call, engine.decide(call))
    ledger.phase = "recovery"
    engine.remove(ids)
    for _ in range(20):
        clock.now += step
        for call in calls_per_step:
            ledger.record(call, engine.decide(call))
    return ledger, ids


GET = Call("s3", "GetObject", "us-east-1", bucket="primary")
PUT = Call("s3", "PutObject", "us-east-1", bucket="primary")
REPLICA = Call("s3", "GetObject", "eu-west-1", bucket="replica")
DOWN = Fault(kind="unavailable", service="s3", region="us-east-1", name="S3 down", **{"for": "8s"})
WRITES = Fault(
    kind="unavailable",
    service="s3",
    region="us-east-1",
    operations=["PutObject"],
    name="writes",
    after="8s",
    **{"for": "4s"},
)


def test_each_fault_saw_the_calls_in_its_scope_during_its_window_and_fired_on_them() -> None:
    ledger, ids = _run([DOWN, WRITES], [GET, PUT, REPLICA])
    down, writes = ledger.fault_calls(zip(ids, [DOWN, WRITES], strict=True))
    assert (down.seen, down.fired, down.fired_by_other) == (160, 160, 0)  # 80 steps of 0.1 s, GET and PUT
    assert down.operations == {"GetObject": (80, 80), "PutObject": (80, 80)}
    assert (writes.seen, writes.fired) == (40, 40) and writes.operations == {"PutObject": (40, 40)}
    assert (down.start, down.end, writes.start, writes.end) == (0.0, 8.0, 8.0, 12.0)
    assert writes.scope == "s3 in us-east-1, operations PutObject" and down.scope == "s3 in us-east-1"
    assert ledger.total == 3 * (20 + 160 + 20) and ledger.fired == 200


def test_overlapping_faults_a_call_fired_on_by_the_first_counts_for_the_second() -> None:
    early = WRITES.model_copy(update={"after": 4.0, "name": "writes early"})
    ledger, ids = _run([DOWN, early], [GET, PUT])
    down, writes = ledger.fault_calls(zip(ids, [DOWN, early], strict=True))
    assert (writes.seen, writes.fired, writes.fired_by_other) == (40, 0, 40)  # 4-8 s: DOWN fired first
    assert down.fired == 160


def test_a_fault_with_a_probability_sees_more_than_it_fires_on() -> None:
    some = Fault(kind="throttle", service="s3", region="us-east-1", probability=0.3, name="some", **{"for": "8s"})
    ledger, ids = _run([some], [GET])
    [calls] = ledger.fault_calls(zip(ids, [some], strict=True))
    assert calls.seen == 80 and 5 < calls.fired < 45 and calls.operations["GetObject"] == (80, calls.fired)


def test_a_fault_on_a_region_the_application_never_calls_sees_nothing() -> None:
    elsewhere = Fault(kind="unavailable", service="s3", region="ap-south-1", name="elsewhere", **{"for": "8s"})
    ledger, ids = _run([elsewhere], [GET, REPLICA])
    [calls] = ledger.fault_calls(zip(ids, [elsewhere], strict=True))
    assert (calls.seen, calls.fired, calls.operations) == (0, 0, {})


def test_scope_by_bucket_and_global_endpoints() -> None:
    bucket = Fault(kind="unavailable", service="s3", region="us-east-1", buckets=["primary"], name="bucket")
    iam = Fault(kind="unavailable", service="iam", region="us-east-1", include_global=True, name="iam")
    other_bucket = Call("s3", "GetObject", "us-east-1", bucket="logs")
    global_iam = Call("iam", "GetUser", "aws-global", global_endpoint=True)
    ledger, ids = _run([bucket, iam], [GET, other_bucket, global_iam], steps=10)
    by_bucket, by_iam = ledger.fault_calls(zip(ids, [bucket, iam], strict=True))
    assert (by_bucket.seen, by_bucket.fired) == (10, 10) and by_bucket.end == pytest.approx(
        0.95
    )  # no "for": until the phase ended
    assert (by_iam.seen, by_iam.fired) == (10, 10) and "the global endpoints" in by_iam.scope


def test_the_summary_for_the_journal_is_json_without_events() -> None:
    ledger, ids = _run([DOWN, WRITES], [GET, PUT])
    summary = json.loads(json.dumps(ledger.summary(zip(ids, [DOWN, WRITES], strict=True))))
    assert summary["total"] == 400 and summary["fired"] == 200 and "events" not in summary
    assert summary["by_phase"] == {"baseline": 40, "faults": 320, "recovery": 40}
    assert [fault["label"] for fault in summary["faults"]] == ["S3 down", "writes"]
    assert summary["faults"][1]["operations"] == {"PutObject": {"seen": 40, "fired": 40}}
    assert summary["faults"][1]["window"] == [8.0, 12.0]
    with pytest.raises(ValueError, match="never saw the phase 'chaos'"):
        ledger.fault_calls(zip(ids, [DOWN, WRITES], strict=True), phase="chaos")


def test_memory_stays_bounded_and_the_counts_exact() -> None:
    clock = Clock()
    ledger, engine = Ledger(clock=clock, max_events=10, max_cells=500), Engine(now=clock)
    ledger.phase = "faults"
    ids = engine.add([DOWN])
    ledger.start("faults")
    for index in range(20_000):  # 5,000 s of calls, 4 operations
        clock.now += 0.25
        call = Call("s3", ("GetObject", "PutObject", "HeadObject", "ListObjectsV2")[index % 4], "us-east-1")
        ledger.record(call, engine.decide(call))
    assert len(ledger._cells) <= 500  # the counters themselves: no public way to count them
    assert ledger.summary()["resolution"] > 0.25
    [calls] = ledger.fault_calls(zip(ids, [DOWN], strict=True))
    assert calls.fired == 31  # exact whatever the resolution: a call every 0.25 s from 0.25 s to 7.75 s
    assert ledger.total == 20_000


def test_record_stays_cheap() -> None:
    """The per-fault counts add one dict increment to every call's record; a call costs microseconds."""
    ledger = Ledger(max_events=1000)
    engine = Engine()
    engine.add([DOWN])
    decision = engine.decide(GET)
    started = time.perf_counter()
    for _ in range(20_000):
        ledger.record(GET, decision)
    assert (time.perf_counter() - started) / 20_000 < 50e-6


def test_clear_forgets_the_per_fault_counts() -> None:
    ledger, ids = _run([DOWN], [GET])
    ledger.clear()
    ledger.phase = "faults"
    [calls] = ledger.fault_calls(zip(ids, [DOWN], strict=True))
    assert (calls.seen, calls.fired, ledger.total) == (0, 0, 0)
