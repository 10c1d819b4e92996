"""What an injector saw: one attempt of one AWS API call."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Call"]


class Call(NamedTuple):
    """One attempt of one AWS API call, as the engine sees it.

    ``region`` is the region the request is signed for; clients of global services (IAM, Route 53,
    global STS) have botocore's pseudo-region ``aws-global``. ``global_endpoint`` is true for requests
    that go to a global endpoint living in us-east-1 (IAM, global STS, ``s3.amazonaws.com``).

    A named tuple: immutable, and cheap to build on the path of every AWS call.
    """

    service: str
    operation: str
    region: str
    bucket: str | None = None
    key: str | None = None
    attempt: int = 1
    invocation_id: str | None = None
    global_endpoint: bool = False
