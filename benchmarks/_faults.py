"""Fault sets for the benchmarks: many faults, none of which matches the measured calls."""

from __future__ import annotations

import random

from chaos import Fault

_OTHER_REGIONS = ["eu-central-1", "ap-southeast-2", "us-west-2", "sa-east-1", "ca-central-1"]
OTHER_S3_OPERATIONS = ["DeleteObject", "CopyObject", "ListObjectsV2", "GetObjectTagging", "PutObjectAcl", "UploadPart"]
_OTHER_SERVICES = ["sns", "kinesis", "lambda", "sts", "kms", "ssm"]


def non_matching(count: int, bucket: str = "bench-bucket") -> list[Fault]:
    """``count`` faults spread over what a large experiment aims at, none of them at the benchmarks' calls.

    The calls they must miss: S3 Get/Put/HeadObject in us-east-1 and eu-west-1, DynamoDB, SQS (each
    benchmark checks it with the engine's ``explain`` or the ledger).

    A quarter each: other services, S3 in other regions, other buckets in us-east-1, and other S3
    operations in us-east-1.
    """
    faults = []
    for i in range(count):
        family = i % 4
        if family == 0:
            spec = {"service": _OTHER_SERVICES[i % len(_OTHER_SERVICES)], "region": "us-east-1"}
        elif family == 1:
            spec = {"service": "s3", "region": _OTHER_REGIONS[i % len(_OTHER_REGIONS)]}
        elif family == 2:
            spec = {"service": "s3", "region": "us-east-1", "buckets": [f"{bucket}-other-{i}"]}
        else:
            spec = {"service": "s3", "region": "us-east-1", "operations": ["DeleteObject", "CopyObject"]}
        faults.append(Fault.model_validate({"kind": "unavailable", **spec}))
    return faults


def mixed(count: int) -> list[Fault]:
    """``count`` S3 faults with buckets, operations, key prefixes and probabilities drawn at random
    (seeded), each with one dimension aimed away from the benchmarks' calls."""
    return [_mixed(random.Random(i)) for i in range(count)]


def _mixed(rng: random.Random) -> Fault:
    """Buckets, operations, a key prefix and a probability at random, one of them aimed elsewhere."""
    spec: dict[str, object] = {"service": "s3", "region": rng.choice(["us-east-1", "*", ["us-east-1", "eu-west-1"]])}
    own_operations = ["GetObject", "PutObject", "HeadObject"]
    if rng.random() < 0.5:
        spec["buckets"] = rng.sample(["bench-bucket", "logs", "eu-bucket", *[f"b{i}" for i in range(20)]], 2)
    if rng.random() < 0.5:
        spec["operations"] = rng.sample(own_operations + OTHER_S3_OPERATIONS, 2)
    if rng.random() < 0.5:
        spec["key_prefix"] = rng.choice(["data/", "uploads/", "app/", "k", ""])
    spec["probability"] = rng.choice([1.0, 0.5, 0.01])
    blocker = rng.choice(["buckets", "operations", "key_prefix"])
    spec[blocker] = {
        "buckets": [f"elsewhere-{rng.randrange(100)}"],
        "operations": rng.sample(OTHER_S3_OPERATIONS, 2),
    }.get(blocker, f"nowhere/{rng.randrange(1000)}/")
    return Fault.model_validate({"kind": "unavailable", **spec})
