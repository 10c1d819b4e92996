"""Fault sets for the benchmarks: many faults, none of which matches the measured calls."""

from __future__ import annotations

from chaos import Fault

_OTHER_REGIONS = ["eu-west-1", "eu-central-1", "ap-southeast-2", "us-west-2", "sa-east-1"]
_OTHER_SERVICES = ["dynamodb", "sqs", "sns", "kinesis", "lambda", "sts"]


def non_matching(count: int, bucket: str = "bench-bucket") -> list[Fault]:
    """``count`` faults spread over what a large experiment aims at, none of them at ``bucket``'s GetObject.

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
            spec = {"service": "s3", "region": "us-east-1", "operations": ["PutObject", "DeleteObject"]}
        faults.append(Fault.model_validate({"kind": "unavailable", **spec}))
    return faults
