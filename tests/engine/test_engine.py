"""The engine: matching, timelines on an injected clock, seeded sampling, explanations."""

from __future__ import annotations

import math
from typing import Any

from chaos import Action, Call, Engine, Fault


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fault(**fields: Any) -> Fault:
    return Fault.model_validate({"kind": "unavailable", **fields})


def armed(*faults: Fault, seed: int = 1, clock: Clock | None = None) -> Engine:
    engine = Engine(faults, seed=seed, now=clock or Clock())
    engine.arm()
    return engine


GET = Call("s3", "GetObject", "us-east-1", bucket="photos", key="2017/cat.jpg")


def test_nothing_fires_before_arm() -> None:
    engine = Engine([fault()], seed=1)
    assert engine.decide(GET).action is Action.PASS


def test_matching_by_service_region_operation_bucket_and_prefix() -> None:
    engine = armed(
        fault(service="s3", region="us-east-1", operations=["PutObject"]),
        fault(service="s3", buckets=["logs"]),
        fault(service="s3", key_prefix="tmp/"),
        fault(service="dynamodb", region="eu-west-1"),
    )
    assert engine.decide(GET).action is Action.PASS
    assert engine.decide(Call("s3", "PutObject", "us-east-1")).fault_index == 0
    assert engine.decide(Call("s3", "PutObject", "eu-west-1")).action is Action.PASS
    assert engine.decide(Call("s3", "GetObject", "sa-east-1", bucket="logs")).fault_index == 1
    assert engine.decide(Call("s3", "GetObject", "sa-east-1", bucket="photos", key="tmp/x")).fault_index == 2
    assert engine.decide(Call("dynamodb", "PutItem", "eu-west-1")).fault_index == 3
    assert engine.decide(Call("dynamodb", "PutItem", "us-east-1")).action is Action.PASS


def test_first_matching_fault_in_declaration_order_decides() -> None:
    engine = armed(fault(kind="throttle", service="s3", buckets=["photos"]), fault(service="s3"))
    decision = engine.decide(GET)
    assert decision.fault_index == 0
    assert decision.error is not None and decision.error.code == "SlowDown"


def test_decision_says_which_fault_fired_and_why() -> None:
    decision = armed(fault(service="s3", region="us-east-1")).decide(GET)
    assert decision.fired
    assert decision.fault_label == "unavailable s3 us-east-1"
    assert decision.reason == "unavailable s3 us-east-1 matched s3.GetObject in us-east-1"
    assert decision.error is not None and (decision.error.status, decision.error.code) == (
        503,
        "ServiceUnavailable",
    )


def test_explain_says_why_each_fault_did_not_match() -> None:
    clock = Clock()
    engine = armed(
        fault(service="dynamodb"),
        fault(service="s3", region="eu-west-1"),
        fault(service="s3", operations=["PutObject"]),
        fault(service="s3", buckets=["logs"]),
        fault(service="s3", key_prefix="tmp/"),
        fault(service="s3", after="10s"),
        fault(service="s3", probability=0.25),
        clock=clock,
    )
    reasons = [item.reason for item in engine.explain(GET)]
    assert reasons == [
        "service s3 is not dynamodb",
        "region us-east-1 is not eu-west-1",
        "operation GetObject is not PutObject",
        "bucket photos is not logs",
        "key '2017/cat.jpg' does not start with 'tmp/'",
        "not started yet",
        "matches (fires on 25% of calls)",
    ]
    assert [item.matches for item in engine.explain(GET)] == [False] * 6 + [True]


def test_timeline_switches_faults_on_and_off() -> None:
    clock = Clock()
    engine = armed(
        fault(service="s3", for_="20s"),
        fault(kind="throttle", service="s3", operations=["PutObject"], after="20s", **{"for": "10s"}),
        clock=clock,
    )
    put = Call("s3", "PutObject", "us-east-1")
    assert engine.decide(put).fault_index == 0
    assert engine.next_change() == 20.0
    clock.now += 19.999
    assert engine.decide(put).fault_index == 0
    clock.now += 0.001
    assert engine.decide(put).fault_index == 1
    assert engine.decide(GET).action is Action.PASS
    assert engine.active() == [engine.faults[1]]
    clock.now += 10
    assert engine.decide(put).action is Action.PASS
    assert engine.next_change() is None
    assert engine.elapsed() == 30.0


def test_region_list_and_wildcards() -> None:
    engine = armed(fault(region=["us-east-1", "us-west-2"]))
    assert engine.decide(Call("sqs", "SendMessage", "us-west-2")).fired
    assert engine.decide(Call("lambda", "Invoke", "us-east-1")).fired
    assert not engine.decide(Call("lambda", "Invoke", "eu-west-1")).fired


def test_include_global_covers_global_endpoints() -> None:
    iam = Call("iam", "ListUsers", "aws-global", global_endpoint=True)
    plain = armed(fault(kind="connection_error", region="us-east-1"))
    with_global = armed(fault(kind="connection_error", region="us-east-1", include_global=True))
    assert not plain.decide(iam).fired
    assert with_global.decide(iam).action is Action.CONNECTION_ERROR
    global_s3 = Call("s3", "ListBuckets", "us-east-1", global_endpoint=True)
    assert plain.decide(global_s3).fired


def test_kinds_become_actions() -> None:
    expected = {
        "connection_error": Action.CONNECTION_ERROR,
        "timeout": Action.TIMEOUT,
        "lost_response": Action.LOST_RESPONSE,
        "access_denied": Action.ERROR,
    }
    for kind, action in expected.items():
        assert armed(fault(kind=kind)).decide(GET).action is action
    latency = armed(fault(kind="latency", latency="1s", jitter="500ms")).decide(GET)
    assert latency.action is Action.DELAY
    assert latency.delay is not None and 1.0 <= latency.delay <= 1.5


def _binomial_interval(n: int, p: float, z: float = 3.2905) -> tuple[float, float]:
    """The 99.9% normal-approximation interval of a binomial count."""
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    return mean - z * sd, mean + z * sd


def test_probability_is_seeded_and_reproducible() -> None:
    calls = [Call("s3", "GetObject", "us-east-1", bucket=f"b{i % 7}") for i in range(2000)]
    engine_a, engine_b = armed(fault(probability=0.3), seed=42), armed(fault(probability=0.3), seed=42)
    run_a = [engine_a.decide(c).fired for c in calls]
    run_b = [engine_b.decide(c).fired for c in calls]
    assert run_a == run_b
    low, high = _binomial_interval(2000, 0.3)
    assert low <= sum(run_a) <= high
    other_seed = armed(fault(probability=0.3), seed=43)
    assert [other_seed.decide(c).fired for c in calls] != run_a


def test_sampling_of_one_fault_is_not_disturbed_by_other_calls() -> None:
    s3, sqs = Call("s3", "GetObject", "us-east-1"), Call("sqs", "SendMessage", "us-east-1")
    faults = (fault(service="s3", probability=0.5), fault(service="sqs", probability=0.5))
    interleaved, sqs_only = armed(*faults, seed=9), armed(*faults, seed=9)
    seen = []
    for _ in range(300):
        interleaved.decide(s3)
        seen.append(interleaved.decide(sqs).fired)
    # Each fault draws from its own seeded stream: S3 traffic does not shift the SQS decisions.
    assert [sqs_only.decide(sqs).fired for _ in range(300)] == seen
    assert 0 < sum(seen) < 300


def test_a_thousand_faults_that_match_nothing_are_not_scanned() -> None:
    faults = [fault(service="dynamodb", region="eu-west-1") for _ in range(200)]
    faults += [fault(service="s3", region="us-west-2") for _ in range(200)]
    faults += [fault(service="s3", buckets=[f"other-{i}"]) for i in range(200)]
    faults += [fault(service="s3", operations=["DeleteObjects"]) for i in range(200)]
    faults += [fault(service="s3", buckets=["photos"], key_prefix=f"tmp/{i}/") for i in range(200)]
    engine = armed(*faults)
    assert engine.decide(GET).action is Action.PASS
    candidates = engine._candidates(GET, engine.now())
    assert candidates.lookup(GET) == ()
    assert len(candidates.groups[(None, "DeleteObjects")].plain) == 200
    assert len(candidates.groups[("photos", None)].prefixed) == 200
    assert engine.decide(Call("s3", "DeleteObjects", "us-east-1", bucket="other-7")).fault_index == 400 + 7
    assert engine.decide(Call("s3", "GetObject", "us-east-1", bucket="photos", key="tmp/12/x")).fault_index == 812


def test_a_fault_that_starts_later_is_indexed_when_its_time_comes() -> None:
    clock = Clock()
    later = [fault(service="s3", key_prefix=f"k{i}", after=f"{i}s", **{"for": "1s"}) for i in range(100)]
    engine = armed(*later, clock=clock)
    for second in range(100):
        clock.now = 1000.0 + second + 0.5
        assert engine.decide(Call("s3", "GetObject", "us-east-1", bucket="b", key=f"k{second}")).fault_index == second
        assert not engine.decide(Call("s3", "GetObject", "us-east-1", bucket="b", key=f"k{second + 1}")).fired
    clock.now = 999.0  # a clock that goes back is answered from a new index, not a stale one
    assert not engine.decide(Call("s3", "GetObject", "us-east-1", bucket="b", key="k0")).fired


def test_bucket_and_operation_scoped_rules_keep_declaration_order() -> None:
    engine = armed(
        fault(kind="throttle", service="s3", operations=["GetObject"], probability=0.0),
        fault(kind="access_denied", service="s3", buckets=["photos"], operations=["PutObject"]),
        fault(kind="internal_error", service="s3"),
        fault(kind="throttle", service="s3", buckets=["photos"]),
    )
    assert engine.decide(GET).fault_index == 2
    assert engine.decide(Call("s3", "PutObject", "us-east-1", bucket="photos")).fault_index == 1


def test_faults_added_and_removed_while_armed() -> None:
    clock = Clock()
    engine = armed(fault(service="s3"), clock=clock)
    clock.now += 100
    [added] = engine.add([fault(kind="throttle", service="sqs", **{"for": "10s"})])
    assert added == 1
    sqs = Call("sqs", "SendMessage", "us-east-1")
    assert engine.decide(sqs).fault_index == 1  # its timeline starts when it was added
    clock.now += 10
    assert not engine.decide(sqs).fired
    assert engine.remove([0]) == [0]
    assert not engine.decide(GET).fired
    assert [rule[0] for rule in engine.rules()] == [1]
    assert engine.remove() == [1]
    assert engine.faults == ()


def test_reset_numbers_faults_from_zero_with_the_same_streams() -> None:
    engine = armed(fault(probability=0.5), seed=5)
    first = [engine.decide(GET).fired for _ in range(50)]
    engine.reset()
    assert engine.faults == ()
    assert engine.add([fault(probability=0.5)]) == [0]
    assert [engine.decide(GET).fired for _ in range(50)] == first
