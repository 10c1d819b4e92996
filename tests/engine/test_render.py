"""Injected errors, parsed by botocore's own parsers and judged by its own retry logic.

For every protocol botocore speaks, an injected error must come out of the parser with the code and
status the fault promises, and be retried (or not) as the real error is. Real responses copied from
AWS's documentation are parsed beside them as the reference.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore import parsers, retryhandler, translate
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.retries import standard

from chaos import FaultKind
from chaos.engine import botodata
from chaos.engine.decision import ErrorSpec
from chaos.engine.render import error_spec, render_error

CBOR_SERVICE = next(
    name
    for name in sorted(botodata.known_services())
    if botodata.service_model(name).resolved_protocol == "smithy-rpc-v2-cbor"
)
# One service per protocol (S3 is rest-xml with an envelope of its own; SQS is JSON, query-compatible).
SERVICES = {
    "s3": "GetObject",
    "route53": "ListHostedZones",
    "sts": "GetCallerIdentity",
    "iam": "ListUsers",
    "ec2": "DescribeVpcs",
    "dynamodb": "GetItem",
    "sqs": "SendMessage",
    "lambda": "Invoke",
    CBOR_SERVICE: next(iter(sorted(botodata.operation_names(CBOR_SERVICE)))),
}
ERROR_KINDS = [
    FaultKind.UNAVAILABLE,
    FaultKind.SLOW_DOWN,
    FaultKind.THROTTLE,
    FaultKind.INTERNAL_ERROR,
    FaultKind.ACCESS_DENIED,
]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def _parse(service: str, operation: str, status: int, headers: dict[str, str], body: bytes) -> tuple[Any, Any, Any]:
    model = botodata.service_model(service)
    op = model.operation_model(operation)
    http_headers = HTTPHeaders()
    for name, value in headers.items():
        http_headers[name] = value
    response = AWSResponse("https://example.com/", status, http_headers, _Raw(body))
    response_dict = {
        "status_code": status,
        "headers": http_headers,
        "body": body,
        "context": {"operation_name": operation},
    }
    parser = parsers.create_parser(model.resolved_protocol)
    parsed = parser.parse(response_dict, op.output_shape)
    return op, response, parsed


def _retried_standard(op: Any, response: Any, parsed: Any) -> bool:
    context = standard.RetryContext(1, operation_model=op, parsed_response=parsed, http_response=response)
    return bool(standard.StandardRetryConditions().is_retryable(context))


def _retried_legacy(service: str, op: Any, response: Any, parsed: Any) -> bool:
    retry = botodata.retry_config()
    model = botodata.service_model(service)
    config = translate.build_retry_config(model.endpoint_prefix, retry["retry"], retry.get("definitions", {}))
    handler = retryhandler.create_retry_handler(config, op.name)
    request_dict = {"context": {"retries": {}}}
    return (
        handler(attempts=1, response=(response, parsed), caught_exception=None, request_dict=request_dict) is not None
    )


@pytest.mark.parametrize("kind", ERROR_KINDS, ids=lambda kind: kind.value)
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_botocore_parses_the_injected_error(service: str, kind: FaultKind) -> None:
    spec = error_spec(kind, service)
    rendered = render_error(spec, service, SERVICES[service])
    op, response, parsed = _parse(service, SERVICES[service], rendered.status, rendered.headers, rendered.body)
    assert parsed["Error"]["Code"] == spec.code
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == spec.status
    assert parsed["ResponseMetadata"].get("RequestId")
    should_retry = kind is not FaultKind.ACCESS_DENIED
    assert _retried_standard(op, response, parsed) is should_retry
    if kind is not FaultKind.THROTTLE or service not in {"lambda", "route53", CBOR_SERVICE}:
        # botocore's legacy mode knows only the throttling codes in its _retry.json.
        assert _retried_legacy(service, op, response, parsed) is should_retry


# Real error responses, as AWS documents them.
REAL = [
    (
        "s3",
        "GetObject",
        503,
        {"Content-Type": "application/xml", "x-amz-request-id": "4442587FB7D0A2F9"},
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request '
        b"rate.</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>abc</HostId></Error>",
        FaultKind.SLOW_DOWN,
    ),
    (
        "dynamodb",
        "GetItem",
        400,
        {
            "Content-Type": "application/x-amz-json-1.0",
            "x-amzn-RequestId": "LDM6CJP8RMQ1FHKSC1RBVJFPNVV4KQNSO5AEMF66Q9ASUAAJG",
        },
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
        b'"message":"Rate of requests exceeds the allowed throughput."}',
        FaultKind.THROTTLE,
    ),
    (
        "sts",
        "GetCallerIdentity",
        403,
        {"Content-Type": "text/xml", "x-amzn-RequestId": "c6104cbe-af31-11e0-8154-cbc7ccf896c7"},
        b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied'
        b"</Code><Message>denied</Message></Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>",
        FaultKind.ACCESS_DENIED,
    ),
    (
        "ec2",
        "DescribeVpcs",
        503,
        {"Content-Type": "text/xml;charset=UTF-8"},
        b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error>"
        b"</Errors><RequestID>ea966190-f9aa-478e-9ede-cb5432daacc0</RequestID></Response>",
        FaultKind.THROTTLE,
    ),
]


@pytest.mark.parametrize(("service", "operation", "status", "headers", "body", "kind"), REAL, ids=[r[0] for r in REAL])
def test_injected_and_real_errors_are_alike(
    service: str, operation: str, status: int, headers: dict[str, str], body: bytes, kind: FaultKind
) -> None:
    _, real_response, real = _parse(service, operation, status, headers, body)
    rendered = render_error(error_spec(kind, service), service, operation)
    op, ours_response, ours = _parse(service, operation, rendered.status, rendered.headers, rendered.body)
    assert ours["Error"]["Code"] == real["Error"]["Code"]
    assert ours["ResponseMetadata"]["HTTPStatusCode"] == real["ResponseMetadata"]["HTTPStatusCode"]
    assert _retried_standard(op, ours_response, ours) == _retried_standard(op, real_response, real)
    assert _retried_legacy(service, op, ours_response, ours) == _retried_legacy(service, op, real_response, real)


def test_query_compatible_json_carries_the_query_code() -> None:
    spec = error_spec(FaultKind.THROTTLE, "sqs")
    rendered = render_error(spec, "sqs", "SendMessage")
    assert rendered.headers["x-amzn-query-error"] == "RequestThrottled;Sender"


def test_codes_come_from_the_model_where_it_has_them() -> None:
    assert error_spec(FaultKind.INTERNAL_ERROR, "dynamodb").code == "InternalServerError"
    assert error_spec(FaultKind.THROTTLE, "lambda").status == 429
    iam = error_spec(FaultKind.INTERNAL_ERROR, "iam")
    assert (iam.code, iam.shape) == ("ServiceFailure", "ServiceFailureException")


def test_request_ids_look_like_the_services_own() -> None:
    """S3: 16 upper-case hex digits and a base64 host id (standard alphabet, as S3's); elsewhere a
    version 4 UUID; a new one every time."""
    import base64
    import re
    import uuid

    s3 = [render_error(ErrorSpec(503, "SlowDown", "slow"), "s3", "GetObject").headers for _ in range(50)]
    for headers in s3:
        assert re.fullmatch(r"[0-9A-F]{16}", headers["x-amz-request-id"]), headers
        assert re.fullmatch(r"[A-Za-z0-9+/]{74}==|[A-Za-z0-9+/]{75}=|[A-Za-z0-9+/]{76}", headers["x-amz-id-2"])
        assert len(base64.b64decode(headers["x-amz-id-2"], validate=True)) == 56
    assert len({headers["x-amz-request-id"] for headers in s3}) == 50
    ids = [render_error(ErrorSpec(400, "X", "x"), "sqs", "SendMessage").headers["x-amzn-RequestId"] for _ in range(50)]
    assert all(str(uuid.UUID(value)) == value and uuid.UUID(value).version == 4 for value in ids)
    assert len(set(ids)) == 50
