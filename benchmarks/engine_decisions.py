"""Decisions per second of the bare engine with 1,000 armed faults of each shape, on one core.

Shapes (1,000 faults each, none of which matches the measured calls, checked with ``explain``):
spread over services, regions, buckets and operations; key prefixes on the calls' own bucket;
operations of the calls' own service and region; buckets; probabilities (p=0.5, with key prefixes
and no bucket); mixed (buckets, operations, prefixes and probabilities at random, one aimed elsewhere).
Each set also has, last, one 10% throttle that does match some calls, so the probability path is
measured too. The baseline is that throttle alone. Every variant decides the same 12,000 calls
per round (CPU time of this process), interleaved over ROUNDS rounds in rotating order.
Target: at least 200,000 decisions per second for 1,000 faults, whatever their shape.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import figure, finish, interleave, ratios, setup
from _faults import OTHER_S3_OPERATIONS, mixed, non_matching

from chaos import Call, Engine, Fault

TARGET = 200_000
FAULTS = 1000
ROUNDS = int(__import__("os").environ.get("BENCH_ROUNDS", "9"))
CALLS = [
    Call("s3", "GetObject", "us-east-1", bucket="bench-bucket", key="data/2017/02/28/object"),
    Call("s3", "PutObject", "us-east-1", bucket="bench-bucket", key="uploads/part-1"),
    Call("s3", "GetObject", "eu-west-1", bucket="eu-bucket", key="k"),
    Call("dynamodb", "GetItem", "us-east-1"),
    Call("sqs", "SendMessage", "eu-west-1"),
    Call("s3", "HeadObject", "us-east-1", bucket="logs", key="app/2017/x.log"),
]
REPEAT = 2_000
THROTTLE = {"kind": "throttle", "service": "sqs", "region": "eu-west-1", "probability": 0.1}


def _fault(**spec: object) -> Fault:
    return Fault.model_validate({"kind": "unavailable", **spec})


def shapes() -> dict[str, list[Fault]]:
    """1,000 faults per shape, none matching CALLS, then the throttle."""
    n = FAULTS - 1
    sets = {
        "spread": non_matching(n),
        "key prefixes": [
            _fault(service="s3", region="us-east-1", buckets=["bench-bucket"], key_prefix=f"data/{i:04d}/")
            for i in range(n)
        ],
        "operations": [
            _fault(service="s3", region="us-east-1", operations=[OTHER_S3_OPERATIONS[i % len(OTHER_S3_OPERATIONS)]])
            for i in range(n)
        ],
        "buckets": [_fault(service="s3", region="us-east-1", buckets=[f"bucket-{i}"]) for i in range(n)],
        "probabilities": [
            _fault(service="s3", region="us-east-1", key_prefix=f"p{i}/", probability=0.5) for i in range(n)
        ],
        "mixed": mixed(n),
    }
    throttle = Fault.model_validate(THROTTLE)
    return {"one fault": [throttle], **{name: [*faults, throttle] for name, faults in sets.items()}}


def _engine(faults: list[Fault]) -> Engine:
    engine = Engine(faults, seed=1)
    engine.arm()
    # Only the throttle (the last fault) may match, and only the SQS call.
    for call in CALLS:
        matching = [i for i, explained in enumerate(engine.explain(call)) if explained.matches]
        expected = [len(faults) - 1] if call.service == "sqs" else []
        assert matching == expected, f"{call}: faults {matching[:5]} match; the set was meant to match nothing"
    return engine


def main() -> int:
    engines = {name: _engine(faults) for name, faults in shapes().items()}
    calls = CALLS * REPEAT

    def measure(engine: Engine) -> float:
        decide = engine.decide
        started = time.process_time()
        fired = sum(1 for call in calls if decide(call).fired)
        elapsed = time.process_time() - started
        low, high = REPEAT * 0.1 * 0.8, REPEAT * 0.1 * 1.2
        assert low <= fired <= high, f"{fired} fired; expected about {REPEAT // 10} (the 10% throttle)"
        return len(calls) / elapsed

    rates = interleave({name: (lambda e=engine: measure(e)) for name, engine in engines.items()}, ROUNDS)
    setup(faults=FAULTS, calls_per_round=len(calls), rounds=ROUNDS, throttle_probability=0.1)
    ok = True
    for name, values in rates.items():
        target = TARGET if name != "one fault" else None
        ok &= figure(f"{name} rate", values, "decisions/s", target=target, label=f"{name}: decisions/s", digits=0)
    for name in rates:
        if name != "one fault":
            figure(
                f"{name} / one fault",
                ratios(rates[name], rates["one fault"]),
                "x",
                label=f"{name}: rate against one fault",
            )
    return finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
