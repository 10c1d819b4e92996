"""The ledger: exact aggregates, bounded events, safe under threads."""

from __future__ import annotations

import json
import threading

from chaos import Call, Ledger
from chaos.engine.decision import PASS, Action, Decision, ErrorSpec

FIRED = Decision(Action.ERROR, "test", 0, "unavailable s3", error=ErrorSpec(503, "ServiceUnavailable", "down"))


def test_counts_by_service_region_operation_and_outcome() -> None:
    ledger = Ledger()
    ledger.record(Call("s3", "GetObject", "us-east-1", attempt=1, invocation_id="a"), FIRED)
    ledger.record(Call("s3", "GetObject", "us-east-1", attempt=2, invocation_id="a"), PASS)
    ledger.record(Call("sqs", "SendMessage", "eu-west-1", invocation_id="b"), PASS)
    assert ledger.total == 3
    assert ledger.fired == 1
    assert ledger.calls(service="s3") == 2
    assert ledger.calls(region="eu-west-1", outcome="pass") == 1
    assert ledger.calls(operation="GetObject", outcome="ServiceUnavailable") == 1
    assert ledger.by_fault() == {"unavailable s3": 1}
    assert ledger.attempts("a") == 2
    assert [event.attempt for event in ledger.events(invocation_id="a")] == [1, 2]
    summary = json.loads(json.dumps(ledger.to_dict()))
    assert summary["total"] == 3
    assert {"service": "sqs", "region": "eu-west-1", "operation": "SendMessage", "outcome": "pass", "count": 1} in (
        summary["counts"]
    )


def test_memory_is_bounded_but_counts_stay_exact() -> None:
    ledger = Ledger(max_events=100)
    for i in range(10_000):
        ledger.record(Call("s3", "GetObject", "us-east-1", attempt=i), FIRED if i % 2 else PASS)
    assert len(ledger.events()) == 100
    assert ledger.events()[-1].attempt == 9_999
    assert ledger.total == 10_000
    assert ledger.fired == 5_000


def test_threads_record_without_losing_a_call() -> None:
    ledger = Ledger(max_events=10)

    def work() -> None:
        for _ in range(2_000):
            ledger.record(Call("s3", "PutObject", "us-east-1"), FIRED)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.total == ledger.fired == 16_000
    assert ledger.by_fault() == {"unavailable s3": 16_000}


def test_clear() -> None:
    ledger = Ledger()
    ledger.record(Call("s3", "GetObject", "us-east-1"), FIRED)
    ledger.clear()
    assert (ledger.total, ledger.events(), ledger.by_fault()) == (0, [], {})
