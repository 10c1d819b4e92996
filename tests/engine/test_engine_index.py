"""The engine's index decides exactly like a naive scan of every fault in order (property tests).

The reference below knows nothing of the index: for each call it walks every armed fault in the
order they were added, matches it field by field, and draws from the fault's own seeded stream
(``random.Random(f"{seed}:{id}")``, made on its first draw) only when everything else matches.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos import Call, Engine, Fault

S3_OPERATIONS = ["GetObject", "PutObject", "DeleteObject", "HeadObject", "ListObjectsV2", "CopyObject"]
S3_OPERATIONS += ["CreateBucket", "DeleteObjects", "GetObjectTagging", "UploadPart"]
DYNAMODB_OPERATIONS = ["GetItem", "PutItem", "Query"]
BUCKETS = [f"b{i}" for i in range(10)]
REGIONS = ["us-east-1", "eu-west-1", "aws-global"]
PREFIXES = ["", "a", "ab", "abc", "b", "ba", "aab"]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _names(values: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=10, unique=True)


@st.composite
def faults(draw: st.DrawFn) -> Fault:
    service = draw(st.sampled_from(["s3", "s3", "s3", "dynamodb", "*"]))
    spec: dict[str, Any] = {"kind": draw(st.sampled_from(["unavailable", "throttle", "latency"])), "service": service}
    if spec["kind"] == "latency":
        spec["latency"] = "10ms"
        if draw(st.booleans()):
            spec["jitter"] = "5ms"
    if draw(st.booleans()):
        spec["region"] = draw(st.sampled_from(["*", ["us-east-1"], ["eu-west-1"], ["us-east-1", "eu-west-1"]]))
    spec["include_global"] = draw(st.booleans())
    operations = {"s3": S3_OPERATIONS, "dynamodb": DYNAMODB_OPERATIONS, "*": S3_OPERATIONS + DYNAMODB_OPERATIONS}
    if draw(st.booleans()):
        spec["operations"] = draw(_names(operations[service]))
    if service == "s3":
        if draw(st.booleans()):
            spec["buckets"] = draw(_names(BUCKETS))
        if draw(st.booleans()):
            spec["key_prefix"] = draw(st.sampled_from(PREFIXES))
    spec["probability"] = draw(st.sampled_from([1.0, 1.0, 0.5, 0.1, 0.0]))
    spec["after"] = draw(st.sampled_from([0, 0, 1, 5]))
    if draw(st.booleans()):
        spec["for"] = draw(st.sampled_from([1, 3, 10]))
    return Fault.model_validate(spec)


@st.composite
def calls(draw: st.DrawFn) -> Call:
    service = draw(st.sampled_from(["s3", "s3", "dynamodb", "sqs"]))
    operation = draw(st.sampled_from({"s3": S3_OPERATIONS, "dynamodb": DYNAMODB_OPERATIONS}.get(service, ["Send"])))
    region = draw(st.sampled_from(REGIONS))
    bucket = key = None
    if service == "s3":
        bucket = draw(st.sampled_from([None, *BUCKETS[:4]]))
        key = draw(st.one_of(st.none(), st.text(alphabet="ab", max_size=4)))
    return Call(service, operation, region, bucket, key, global_endpoint=region == "aws-global")


def _matches(fault: Fault, call: Call) -> bool:
    def among(names: tuple[str, ...], value: str | None) -> bool:
        return not names or "*" in names or value in names

    in_region = among(fault.region, call.region) or (call.global_endpoint and fault.include_global)
    return (
        among(fault.service, call.service)
        and in_region
        and among(fault.operations, call.operation)
        and among(fault.buckets, call.bucket)
        and (fault.key_prefix is None or (call.key or "").startswith(fault.key_prefix))
    )


@dataclass
class Naive:
    """The reference: every fault, in order, with its own stream."""

    engine: Engine
    streams: dict[int, random.Random] = field(default_factory=dict)

    def _stream(self, ident: int) -> random.Random:
        if ident not in self.streams:
            self.streams[ident] = random.Random(f"{self.engine.seed}:{ident}")
        return self.streams[ident]

    def decide(self, call: Call) -> tuple[int | None, float | None, float | None]:
        now = self.engine.now()
        for ident, fault, start, end in self.engine.rules():
            if not (start <= now < end and _matches(fault, call)):
                continue
            draw = None
            if fault.probability < 1:
                draw = self._stream(ident).random()
                if draw >= fault.probability:
                    continue
            delay = fault.latency
            if fault.jitter:
                delay = (fault.latency or 0.0) + self._stream(ident).random() * fault.jitter
            return ident, draw, delay
        return None, None, None


def _fast(engine: Engine, call: Call) -> tuple[int | None, float | None, float | None]:
    decision = engine.decide(call)
    if decision.fault_index is None:
        return None, None, None
    draw = float(decision.reason.split("drew ")[1].split(" ")[0]) if "drew " in decision.reason else None
    return decision.fault_index, draw, decision.delay


# Steps: ("call", call), ("tick", seconds), ("add", faults), ("remove", position).
steps = st.lists(
    st.one_of(
        st.tuples(st.just("call"), calls()),
        st.tuples(st.just("call"), calls()),
        st.tuples(st.just("call"), calls()),
        st.tuples(st.just("tick"), st.sampled_from([0.5, 1.0, 2.5, 7.0])),
        st.tuples(st.just("add"), st.lists(faults(), max_size=5)),
        st.tuples(st.just("remove"), st.integers(min_value=0, max_value=40)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial=st.lists(faults(), max_size=25), script=steps, seed=st.integers(0, 2**32 - 1))
def test_the_index_decides_like_a_linear_scan(initial: list[Fault], script: list[Any], seed: int) -> None:
    clock_a, clock_b = Clock(), Clock()
    fast, slow = Engine(initial, seed=seed, now=clock_a), Engine(initial, seed=seed, now=clock_b)
    fast.arm()
    slow.arm()
    naive = Naive(slow)
    for step, value in script:
        if step == "call":
            expected = naive.decide(value)
            got = _fast(fast, value)
            assert got[0] == expected[0], (value, fast.rules())
            if expected[1] is not None:
                assert got[1] == round(expected[1], 4)
            assert got[2] == expected[2]
        elif step == "tick":
            clock_a.now += value
            clock_b.now += value
        elif step == "add":
            assert fast.add(value) == slow.add(value)
        else:
            ids = [rule[0] for rule in fast.rules()]
            if ids:
                target = ids[value % len(ids)]
                assert fast.remove([target]) == slow.remove([target]) == [target]


@settings(max_examples=30, deadline=None)
@given(many=st.lists(faults(), min_size=50, max_size=200), probes=st.lists(calls(), min_size=20, max_size=50))
def test_many_faults_decide_like_a_linear_scan(many: list[Fault], probes: list[Call]) -> None:
    fast, slow = Engine(many, seed=3, now=Clock()), Engine(many, seed=3, now=Clock())
    fast.arm()
    slow.arm()
    naive = Naive(slow)
    for call in probes * 3:
        expected, got = naive.decide(call), _fast(fast, call)
        assert got[0] == expected[0]
        assert got[2] == expected[2]
