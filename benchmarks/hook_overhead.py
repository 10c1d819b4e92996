"""What the hook injector costs a boto3 call that no fault matches.

2,000 moto S3 GetObject calls (a) with no injector, (b) armed with 100 faults that match nothing,
(c) armed with 1,000 faults that match nothing. The three are interleaved over several rounds and
the median of each is taken, so a noisy machine slows all of them alike. Prints b/a and c/a.
Targets: b/a <= 1.03, c/a <= 1.05.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
from _faults import non_matching
from moto import mock_aws

import chaos

CALLS = 2000
ROUNDS = 7


def _time_calls(s3: object, faults: list[chaos.Fault] | None) -> float:
    """Seconds for CALLS GetObject calls; the injection is armed before the clock starts."""
    get = s3.get_object  # type: ignore[attr-defined]
    injection = chaos.inject(faults) if faults is not None else None
    if injection is not None:
        injection.arm()
    try:
        started = time.perf_counter()
        for _ in range(CALLS):
            get(Bucket="bench-bucket", Key="k")
        elapsed = time.perf_counter() - started
    finally:
        if injection is not None:
            injection.disarm()
    if injection is not None:
        assert injection.ledger.fired == 0 and injection.ledger.total == CALLS
    return elapsed


def main() -> int:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    configs = {"a: no injector": None, "b: 100 faults": non_matching(100), "c: 1000 faults": non_matching(1000)}
    times: dict[str, list[float]] = {name: [] for name in configs}
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bench-bucket")
        s3.put_object(Bucket="bench-bucket", Key="k", Body=b"x" * 1024)
        for faults in configs.values():  # warm-up: models loaded, caches filled
            _time_calls(s3, faults)
        for _ in range(ROUNDS):
            for name, faults in configs.items():
                times[name].append(_time_calls(s3, faults))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["a: no injector"]
    for name, value in medians.items():
        print(f"{name:16} median {value:.3f}s for {CALLS} GetObject ({CALLS / value:,.0f} calls/s)")
    b, c = medians["b: 100 faults"] / base, medians["c: 1000 faults"] / base
    print(f"b/a = {b:.3f} (target <= 1.03)")
    print(f"c/a = {c:.3f} (target <= 1.05)")
    return 0 if b <= 1.03 and c <= 1.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
