"""AWS-shaped errors, derived from botocore's service models.

For each fault kind the error code comes from the service's own model where it has one (its modeled
throttling, 5xx or access-denied errors), else from the protocol's common errors. The response body
is the envelope of the service's protocol, so botocore (or any SDK) parses it into the same
``Error.Code``, HTTP status and retry behaviour as a real one.
"""

from __future__ import annotations

import base64
import functools
import json
import os
from dataclasses import dataclass
from typing import Any

from chaos.engine import botodata
from chaos.engine.decision import ErrorSpec
from chaos.engine.fault import FaultKind

__all__ = ["RenderedError", "error_spec", "render_error"]

# botocore's own list of throttling codes (botocore.retries.standard), in order of preference.
_THROTTLING_CODES = (
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
)
_ACCESS_DENIED_CODES = ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation")

_MESSAGES = {
    FaultKind.UNAVAILABLE: "Service is unable to handle request.",
    FaultKind.SLOW_DOWN: "Please reduce your request rate.",
    FaultKind.THROTTLE: "Rate exceeded",
    FaultKind.INTERNAL_ERROR: "We encountered an internal error. Please try again.",
    FaultKind.ACCESS_DENIED: "Access Denied",
}


@dataclass(frozen=True, slots=True)
class RenderedError:
    """An HTTP error response: status, headers and body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class _Modeled:
    shape: str
    status: int | None
    code: str
    """The code on the wire: the model's query-compatible code where it has one, else the shape name."""


@functools.cache
def _modeled(service: str) -> tuple[_Modeled, ...]:
    """Every error the service models."""
    model = botodata.service_model(service)
    found = []
    for shape in model.error_shapes:
        error = shape.metadata.get("error", {})
        found.append(_Modeled(shape.name, error.get("httpStatusCode"), error.get("code") or shape.name))
    return tuple(found)


@functools.cache
def _legacy_codes(service: str) -> dict[str, int]:
    """Error codes (and their HTTP status) named for this service in botocore's legacy retry config."""
    codes: dict[str, int] = {}
    stack: list[Any] = [botodata.retry_config().get("retry", {}).get(service, {})]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            response = item.get("response")
            if isinstance(response, dict) and "service_error_code" in response:
                codes[response["service_error_code"]] = int(response.get("http_status_code", 400))
            stack.extend(item.values())
    return codes


def _spec(found: _Modeled, status: int, message: str, sender_fault: bool, service: str) -> ErrorSpec:
    """A modeled error; its status from the model, else from botocore's retry config, else ``status``."""
    shape = found.shape if found.shape != found.code else None
    status = found.status or _legacy_codes(service).get(found.code) or status
    return ErrorSpec(status, found.code, message, sender_fault, shape=shape)


def _internal_rank(found: _Modeled) -> int | None:
    """How well a modeled error stands for "internal error": 0 best, None not at all."""
    if "Internal" in found.shape and found.status in (None, 500):
        return 0
    if found.status == 500 and any(word in found.shape for word in ("ServiceFailure", "ServiceException", "Fault")):
        return 1
    return None


@functools.cache
def error_spec(kind: FaultKind, service: str) -> ErrorSpec:
    """The error a service answers for an error kind: from its model, else its protocol's common error."""
    protocol: str = botodata.service_model(service).resolved_protocol
    modeled = _modeled(service)
    message = _MESSAGES[kind]
    if kind is FaultKind.SLOW_DOWN:
        if service == "s3":
            return ErrorSpec(503, "SlowDown", message)
        kind = FaultKind.THROTTLE
        message = _MESSAGES[kind]
    if kind is FaultKind.UNAVAILABLE:
        for found in modeled:
            if found.status == 503 or found.shape in ("ServiceUnavailable", "ServiceUnavailableException"):
                return _spec(found, 503, message, False, service)
        return ErrorSpec(503, "ServiceUnavailable", message)
    if kind is FaultKind.THROTTLE:
        if service == "s3":
            return ErrorSpec(503, "SlowDown", _MESSAGES[FaultKind.SLOW_DOWN])
        for code in _THROTTLING_CODES:
            for found in modeled:
                if code in (found.shape, found.code):
                    return _spec(found, 400, message, True, service)
        if protocol == "ec2":
            return ErrorSpec(503, "RequestLimitExceeded", "Request limit exceeded.", sender_fault=True)
        legacy = sorted(code for code in _legacy_codes(service) if "hrottl" in code)
        if legacy:
            return ErrorSpec(_legacy_codes(service)[legacy[0]], legacy[0], message, sender_fault=True)
        code = "Throttling" if protocol == "query" else "ThrottlingException"
        return ErrorSpec(400, code, message, sender_fault=True)
    if kind is FaultKind.INTERNAL_ERROR:
        ranked = sorted(
            (found for found in modeled if _internal_rank(found) is not None),
            key=lambda found: _internal_rank(found) or 0,
        )
        if ranked:
            return _spec(ranked[0], 500, message, False, service)
        code = "InternalError" if service == "s3" or protocol == "ec2" else "InternalFailure"
        return ErrorSpec(500, code, message)
    for code in _ACCESS_DENIED_CODES:
        for found in modeled:
            if code in (found.shape, found.code):
                return _spec(found, 403, message, True, service)
    if protocol == "ec2":
        return ErrorSpec(403, "UnauthorizedOperation", "You are not authorized to perform this operation.", True)
    if protocol in ("json", "smithy-rpc-v2-cbor"):
        return ErrorSpec(400, "AccessDeniedException", message, sender_fault=True)
    if protocol == "rest-json":
        return ErrorSpec(403, "AccessDeniedException", message, sender_fault=True)
    return ErrorSpec(403, "AccessDenied", message, sender_fault=True)


def _xml(text: str) -> str:
    """Text escaped for XML content (as xml.sax.saxutils.escape, whose import pulls in urllib.request)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    return _cbor_head(3, len(data)) + data


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([(major << 5) | length])
    if length < 256:
        return bytes([(major << 5) | 24, length])
    if length < 65536:
        return bytes([(major << 5) | 25]) + length.to_bytes(2, "big")
    return bytes([(major << 5) | 26]) + length.to_bytes(4, "big")


def _cbor_map(items: dict[str, str]) -> bytes:
    out = _cbor_head(5, len(items))
    for key, value in items.items():
        out += _cbor_text(key) + _cbor_text(value)
    return out


def _uuid4() -> str:
    """A random (version 4) UUID as text, as AWS's request ids are: uuid.uuid4's bits, without its object."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def render_error(spec: ErrorSpec, service: str, operation: str | None = None) -> RenderedError:
    """The HTTP response a service sends for ``spec``, in its protocol's envelope."""
    model = botodata.service_model(service)
    protocol = model.resolved_protocol
    fault_type = "Sender" if spec.sender_fault else "Receiver"
    headers: dict[str, str]
    if service == "s3":
        random = os.urandom(64)  # S3's two ids: 16 hex digits, and 76 characters of base64
        request_id = random[:8].hex().upper()
        headers = {
            "x-amz-request-id": request_id,
            "x-amz-id-2": base64.b64encode(random[8:]).decode(),
            "Content-Type": "application/xml",
        }
        method = model.operation_model(operation).http.get("method") if operation else None
        if method == "HEAD":
            # S3 answers HEAD without a body; SDKs take the status as the code, as we must.
            return RenderedError(spec.status, headers, b"")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{_xml(spec.code)}</Code><Message>{_xml(spec.message)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>{headers['x-amz-id-2']}</HostId></Error>"
        )
        return RenderedError(spec.status, headers, body.encode())
    request_id = _uuid4()
    if protocol in ("query", "rest-xml"):
        namespace = f"https://{model.endpoint_prefix}.amazonaws.com/doc/{model.api_version}/"
        body = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault_type}</Type>'
            f"<Code>{_xml(spec.code)}</Code><Message>{_xml(spec.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "text/xml"}
        return RenderedError(spec.status, headers, body.encode())
    if protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{_xml(spec.code)}</Code><Message>{_xml(spec.message)}"
            f"</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return RenderedError(spec.status, {"Content-Type": "text/xml;charset=UTF-8"}, body.encode())
    type_name = f"com.amazonaws.{model.endpoint_prefix}#{spec.shape or spec.code}"
    headers = {"x-amzn-RequestId": request_id}
    if protocol == "json":
        headers["Content-Type"] = f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"
        if model.metadata.get("awsQueryCompatible") is not None:
            headers["x-amzn-query-error"] = f"{spec.code};{fault_type}"
        body_bytes = json.dumps({"__type": type_name, "message": spec.message}).encode()
        return RenderedError(spec.status, headers, body_bytes)
    if protocol == "smithy-rpc-v2-cbor":
        headers.update({"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"})
        return RenderedError(spec.status, headers, _cbor_map({"__type": type_name, "message": spec.message}))
    headers.update({"Content-Type": "application/json", "x-amzn-ErrorType": spec.code})
    return RenderedError(spec.status, headers, json.dumps({"message": spec.message}).encode())
