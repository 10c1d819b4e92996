"""Every fault kind, on S3, DynamoDB, SQS and STS, as a real boto3 client on moto sees it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

import chaos
from tests.conftest import ClientFactory

# What the caller sees: (exception class name, Error.Code, HTTP status, retried?). These are the
# answers the real services give (codes and statuses from AWS's documentation and botocore's
# models); the injector must reproduce them without a table of its own.
EXPECTED: dict[str, dict[str, tuple[str, str | None, int | None, bool]]] = {
    "s3": {
        "unavailable": ("ClientError", "ServiceUnavailable", 503, True),
        "slow_down": ("ClientError", "SlowDown", 503, True),
        "throttle": ("ClientError", "SlowDown", 503, True),
        "internal_error": ("ClientError", "InternalError", 500, True),
        "access_denied": ("AccessDenied", "AccessDenied", 403, False),
    },
    "dynamodb": {
        "unavailable": ("ClientError", "ServiceUnavailable", 503, True),
        "slow_down": ("ThrottlingException", "ThrottlingException", 400, True),
        "throttle": ("ThrottlingException", "ThrottlingException", 400, True),
        "internal_error": ("InternalServerError", "InternalServerError", 500, True),
        "access_denied": ("ClientError", "AccessDeniedException", 400, False),
    },
    "sqs": {
        "unavailable": ("ClientError", "ServiceUnavailable", 503, True),
        "slow_down": ("RequestThrottled", "RequestThrottled", 403, True),
        "throttle": ("RequestThrottled", "RequestThrottled", 403, True),
        "internal_error": ("ClientError", "InternalFailure", 500, True),
        "access_denied": ("ClientError", "AccessDeniedException", 400, False),
    },
    "sts": {
        "unavailable": ("ClientError", "ServiceUnavailable", 503, True),
        "slow_down": ("ClientError", "Throttling", 400, True),
        "throttle": ("ClientError", "Throttling", 400, True),
        "internal_error": ("ClientError", "InternalFailure", 500, True),
        "access_denied": ("ClientError", "AccessDenied", 403, False),
    },
}
for _expected in EXPECTED.values():
    _expected.update(
        {
            "connection_error": ("EndpointConnectionError", None, None, True),
            "timeout": ("ReadTimeoutError", None, None, True),
            "lost_response": ("ReadTimeoutError", None, None, True),
        }
    )

CALLS: dict[str, Callable[[Any], Any]] = {
    "s3": lambda c: c.get_object(Bucket="chaos-bucket", Key="doc"),
    "dynamodb": lambda c: c.list_tables(),
    "sqs": lambda c: c.list_queues(),
    "sts": lambda c: c.get_caller_identity(),
}
MODES = {"standard": 3, "legacy": 5}


def _prepare(service: str, client: Any) -> None:
    if service == "s3":
        client.create_bucket(Bucket="chaos-bucket")
        client.put_object(Bucket="chaos-bucket", Key="doc", Body=b"hello")


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("service", sorted(EXPECTED))
@pytest.mark.parametrize("kind", sorted(EXPECTED["s3"]))
def test_kind_as_the_sdk_sees_it(kind: str, service: str, mode: str, client: ClientFactory, fast: None) -> None:
    aws = client(service, mode=mode, attempts=MODES[mode], read_timeout=5)
    _prepare(service, aws)
    exc_name, code, status, retried = EXPECTED[service][kind]

    fault = chaos.Fault(kind=kind, service=service, region="us-east-1")
    with (
        chaos.inject(fault) as outage,
        pytest.raises((ClientError, EndpointConnectionError, ReadTimeoutError)) as caught,
    ):
        CALLS[service](aws)

    assert type(caught.value).__name__ == exc_name
    if code is not None:
        assert isinstance(caught.value, ClientError)
        error = caught.value.response["Error"]
        metadata = caught.value.response["ResponseMetadata"]
        assert (error["Code"], metadata["HTTPStatusCode"]) == (code, status)
        assert metadata["RetryAttempts"] == (MODES[mode] - 1 if retried else 0)
    expected_attempts = MODES[mode] if retried else 1
    assert outage.ledger.total == expected_attempts
    assert outage.ledger.fired == expected_attempts
    assert [event.attempt for event in outage.ledger] == list(range(1, expected_attempts + 1))
    assert len({event.invocation_id for event in outage.ledger}) == 1


@pytest.mark.parametrize("service", sorted(EXPECTED))
def test_latency_delays_then_makes_the_real_call(service: str, client: ClientFactory) -> None:
    aws = client(service)
    _prepare(service, aws)
    waited: list[float] = []
    with chaos.inject(chaos.Fault(kind="latency", service=service, latency="750ms"), sleep=waited.append) as outage:
        CALLS[service](aws)
    assert waited == [0.75]
    assert outage.ledger.calls(outcome="latency") == 1


def test_timeout_waits_for_the_clients_read_timeout(client: ClientFactory) -> None:
    s3 = client("s3", attempts=2, read_timeout=7)
    _prepare("s3", s3)
    waited: list[float] = []
    with chaos.inject(chaos.s3_outage(kind="timeout"), sleep=waited.append), pytest.raises(ReadTimeoutError):
        s3.get_object(Bucket="chaos-bucket", Key="doc")
    assert waited == [7.0, 7.0]


def test_timeout_with_its_own_wait(client: ClientFactory) -> None:
    s3 = client("s3", attempts=1)
    _prepare("s3", s3)
    waited: list[float] = []
    with (
        chaos.inject(chaos.s3_outage(kind="timeout", latency="2s"), sleep=waited.append),
        pytest.raises(ReadTimeoutError),
    ):
        s3.get_object(Bucket="chaos-bucket", Key="doc")
    assert waited == [2.0]


def test_head_requests_get_no_error_body_as_from_real_s3(client: ClientFactory, fast: None) -> None:
    s3 = client("s3", attempts=1)
    _prepare("s3", s3)
    with chaos.inject(chaos.s3_outage()), pytest.raises(ClientError) as caught:
        s3.head_object(Bucket="chaos-bucket", Key="doc")
    # Real S3 answers HEAD errors without a body: botocore reports the status as the code.
    assert caught.value.response["Error"]["Code"] == "503"
