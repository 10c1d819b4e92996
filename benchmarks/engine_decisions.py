"""How many decisions per second the bare engine takes with 1,000 armed faults, on one core.

Target: at least 200,000 decisions per second. Prints the figure; run it with ``make bench``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _faults import non_matching

from chaos import Call, Engine, Fault

TARGET = 200_000


def main() -> int:
    faults = non_matching(999)
    faults.append(
        Fault.model_validate({"kind": "throttle", "service": "s3", "region": "us-east-1", "probability": 0.1})
    )
    engine = Engine(faults, seed=1)
    engine.arm()
    calls = [
        Call("s3", "GetObject", "us-east-1", bucket="bench-bucket", key="k"),
        Call("s3", "PutObject", "us-east-1", bucket="bench-bucket", key="k"),
        Call("s3", "GetObject", "eu-west-1", bucket="eu-bucket", key="k"),
        Call("dynamodb", "GetItem", "us-east-1"),
        Call("sqs", "SendMessage", "eu-west-1"),
        Call("s3", "GetObject", "us-east-1", bucket="bench-bucket-other-2", key="k"),
    ] * 50_000
    decide = engine.decide
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for call in calls:
            decide(call)
        best = min(best, time.perf_counter() - started)
    rate = len(calls) / best
    print(
        f"engine: {len(faults)} faults, {len(calls):,} decisions, best of 5: {rate:,.0f} decisions/s (target >= {TARGET:,})"
    )
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
