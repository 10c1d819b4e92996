"""What the hook injector costs a boto3 call that no fault matches.

CALLS S3 GetObject calls (a) with no injector, (b) armed with 100 faults that match nothing, (c) armed
with 1,000 faults that match nothing (the ledger checks that none fired and every call was seen),
interleaved in rotating order over ROUNDS rounds, ratios taken within each round:

- against moto (``mock_aws``): b/a (target <= 1.03) and c/a (target <= 1.05);
- against a canned-response transport (a ``before-send`` handler that answers at once, no moto):
  the microseconds the hook adds per call, whatever the backend costs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
from _bench import figure, finish, interleave, ratios, setup
from _faults import non_matching
from botocore.awsrequest import AWSResponse
from moto import mock_aws

import chaos

CALLS = 2000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))


class _Raw:
    """A response body botocore can read."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: object) -> object:
        yield self.data

    def read(self, *_: object) -> bytes:
        return self.data


def _canned(request: object, **_: object) -> AWSResponse:
    """Answer every GetObject at once: 200 with a 2-byte body."""
    headers = {"Content-Length": "2", "ETag": '"x"', "x-amz-request-id": "0"}
    return AWSResponse(request.url, 200, headers, _Raw(b"ok"))  # type: ignore[attr-defined]


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
        assert injection.ledger.fired == 0 and injection.ledger.total == CALLS, "the faults were to match nothing"
    return elapsed


def main() -> int:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    configs = {"a": None, "b": non_matching(100), "c": non_matching(1000)}
    canned = boto3.client("s3", region_name="us-east-1")
    canned.meta.events.register("before-send.s3.GetObject", _canned)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bench-bucket")
        s3.put_object(Bucket="bench-bucket", Key="k", Body=b"x" * 1024)
        variants = {}
        for name, faults in configs.items():
            variants[f"moto {name}"] = lambda f=faults: _time_calls(s3, f)
            variants[f"canned {name}"] = lambda f=faults: _time_calls(canned, f)
        for run in variants.values():  # warm-up: models loaded, caches filled
            run()
        times = interleave(variants, ROUNDS)
    setup(calls=CALLS, rounds=ROUNDS, faults_b=100, faults_c=1000)
    ok = True
    for name, values in times.items():
        figure(
            f"{name} per call",
            [v / CALLS * 1e6 for v in values],
            "µs",
            better="lower",
            label=f"{name}: time per GetObject",
            digits=1,
        )
    ok &= figure(
        "moto b/a",
        ratios(times["moto b"], times["moto a"]),
        "x",
        target=1.03,
        better="lower",
        label="moto: 100 idle faults / no injector",
    )
    ok &= figure(
        "moto c/a",
        ratios(times["moto c"], times["moto a"]),
        "x",
        target=1.05,
        better="lower",
        label="moto: 1,000 idle faults / no injector",
    )
    for name, count in (("b", 100), ("c", 1000)):
        added = [(x - a) / CALLS * 1e6 for x, a in zip(times[f"canned {name}"], times["canned a"], strict=True)]
        figure(
            f"canned {name} added",
            added,
            "µs",
            better="lower",
            label=f"canned transport: µs the hook adds per call with {count:,} idle faults",
            digits=1,
        )
        figure(
            f"canned {name}/a",
            ratios(times[f"canned {name}"], times["canned a"]),
            "x",
            better="lower",
            label=f"canned transport: {count:,} idle faults / no injector",
        )
    return finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
