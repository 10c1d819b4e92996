"""Hostile requests against ``outage serve``: malformed framing, huge bodies, smuggling, CSRF, DNS rebinding, caps.

Hand-made on raw sockets, so that nothing between the test and the gateway tidies the request up.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from tests.injectors.gateway_helpers import (
    Gateway,
    RawResponse,
    address,
    http_request,
    parse_response,
    raw,
    rss_kib,
    start_gateway,
)

TOKEN = "s3cret"
FAULT = json.dumps({"kind": "unavailable", "service": "s3", "region": "us-east-1"}).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[Gateway]:
    gateway = start_gateway()
    try:
        yield gateway
    finally:
        code, out = gateway.stop()
        assert code == 0, out
        assert "Traceback" not in out and "Error on request" not in out, out


@pytest.fixture
def gateway(server: Gateway) -> Gateway:
    server.reset()
    return server


@pytest.fixture(scope="module")
def guarded() -> Iterator[Gateway]:
    gateway = start_gateway(token=TOKEN)
    try:
        yield gateway
    finally:
        code, out = gateway.stop()
        assert code == 0, out


def _host(gateway: Gateway) -> str:
    return gateway.url.removeprefix("http://")


def _control(gateway: Gateway, method: str, path: str, body: bytes = b"", **headers: str) -> RawResponse:
    fields = {"Host": _host(gateway), "Content-Type": "application/json", "Content-Length": str(len(body))}
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    return raw(gateway.url, http_request(method, path, {k: v for k, v in fields.items() if v is not None}, body))


def _refused(response: RawResponse, status: int, field: str) -> dict[str, Any]:
    assert response.status == status, response
    body = response.json()
    assert body["field"] == field and body["error"].startswith(f"{field}: "), body
    return dict(body)


def _armed(gateway: Gateway) -> int:
    return len(gateway.control("GET", "/_chaos/faults")[1]["faults"])


# 1. /moto-api is guarded by the token like /_chaos


def test_moto_api_needs_the_token(guarded: Gateway) -> None:
    s3 = guarded.client("s3")
    s3.create_bucket(Bucket="kept")
    host = _host(guarded)
    for method, path in [("POST", "/moto-api/reset"), ("GET", "/moto-api/data.json"), ("POST", "/moto-api/seed?a=1")]:
        response = raw(guarded.url, http_request(method, path, {"Host": host, "Content-Length": "0"}))
        _refused(response, 401, "Authorization")
        wrong = {"Host": host, "Content-Length": "0", "Authorization": "Bearer nope"}
        _refused(raw(guarded.url, http_request(method, path, wrong)), 401, "Authorization")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["kept"]  # the reset did not happen
    allowed = {"Host": host, "Authorization": f"Bearer {TOKEN}"}
    assert raw(guarded.url, http_request("GET", "/moto-api/data.json", allowed)).status == 200


# 2. Content-Length is checked, and a body is never read before the token and the size are


BAD_LENGTHS = [["abc"], ["-5"], ["5, 7"], ["5", "7"], ["+5"], ["5 5"], ["0x10"], ["1" * 30], ["9" * 5000], ["\xb2"]]


@pytest.mark.parametrize("lengths", BAD_LENGTHS, ids=lambda v: "+".join(x[:8] for x in v))
def test_a_bad_content_length_is_a_400_naming_it(gateway: Gateway, lengths: list[str]) -> None:
    host = _host(gateway)
    for path, content_type in [("/_chaos/faults", "application/json"), ("/_chaos/health", "application/json")]:
        headers = [("Host", host), ("Content-Type", content_type), *[("Content-Length", v) for v in lengths]]
        _refused(raw(gateway.url, http_request("POST", path, headers, FAULT)), 400, "Content-Length")
    # AWS calls: a 400 in the service's error shape (form-encoded query calls used to give a 500).
    aws = [
        ("PUT", "/bucket/key", "application/octet-stream"),
        ("POST", "/", "application/x-www-form-urlencoded; charset=utf-8"),
    ]
    for method, path, content_type in aws:
        headers = [("Host", host), ("Content-Type", content_type), *[("Content-Length", v) for v in lengths]]
        response = raw(gateway.url, http_request(method, path, headers, b"Action=ListQueues&Version=2012-11-05"))
        assert response.status == 400, response
        assert b"<Code>BadRequest</Code>" in response.body and b"Content-Length" in response.body, response
    assert _armed(gateway) == 0


def test_an_oversized_control_body_is_refused_before_it_is_sent(gateway: Gateway) -> None:
    started = time.monotonic()
    with socket.create_connection(address(gateway.url), timeout=10) as sock:
        head = http_request(
            "POST",
            "/_chaos/faults",
            {"Host": _host(gateway), "Content-Type": "application/json", "Content-Length": "1000000000"},
        )
        sock.sendall(head)  # and no body at all: the answer must not wait for it
        response = parse_response(_read_all(sock))
    _refused(response, 413, "Content-Length")
    assert time.monotonic() - started < 8


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _flood(gateway: Gateway, path: str, declared: int, send: int, token: str | None = None) -> tuple[RawResponse, int]:
    """Declare ``declared`` bytes, read the answer, then try to send ``send`` bytes; returns what was sent."""
    headers = {"Host": _host(gateway), "Content-Type": "application/json", "Content-Length": str(declared)}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with socket.create_connection(address(gateway.url), timeout=10) as sock:
        sock.sendall(http_request("POST", path, headers))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            if not chunk:
                break
            head += chunk
        sent, block = 0, b"x" * (1024 * 1024)
        try:
            while sent < send:
                sock.sendall(block)
                sent += len(block)
        except OSError:
            pass  # the gateway stopped reading and closed: what it was meant to do
        return parse_response(head + _read_all(sock)), sent


def test_huge_bodies_without_the_token_cost_no_memory(guarded: Gateway) -> None:
    pid = guarded.process.pid
    before = rss_kib(pid)
    response, sent = _flood(guarded, "/_chaos/faults", 300 * 1024 * 1024, 300 * 1024 * 1024)
    _refused(response, 401, "Authorization")
    assert sent < 100 * 1024 * 1024, f"the gateway read {sent} bytes of a refused body"
    # 20 connections declaring 1 GB each, sending nothing: refused at once, nothing reserved.
    results: list[RawResponse] = []

    def declare() -> None:
        results.append(_flood(guarded, "/moto-api/reset", 1_000_000_000, 0)[0])

    threads = [threading.Thread(target=declare) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status for r in results] == [401] * 20
    grown = rss_kib(pid) - before
    assert grown < 64 * 1024, f"RSS grew by {grown} KiB"


def test_with_the_token_an_oversized_body_is_a_413_and_is_not_read(guarded: Gateway) -> None:
    pid = guarded.process.pid
    before = rss_kib(pid)
    response, sent = _flood(guarded, "/_chaos/faults", 300 * 1024 * 1024, 300 * 1024 * 1024, token=TOKEN)
    _refused(response, 413, "Content-Length")
    assert sent < 100 * 1024 * 1024
    assert rss_kib(pid) - before < 64 * 1024
    assert guarded.control("GET", "/_chaos/health")[0] == 200  # and the gateway still serves


# 3. CSRF and DNS rebinding on loopback without a token


def test_a_cross_site_text_plain_post_arms_nothing(gateway: Gateway) -> None:
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]:
        response = _control(gateway, "POST", "/_chaos/faults", FAULT, Content_Type=content_type)  # type: ignore[arg-type]
        _refused(response, 415, "Content-Type")
    _refused(_control(gateway, "POST", "/_chaos/reset", Content_Type="text/plain"), 415, "Content-Type")
    _refused(_control(gateway, "DELETE", "/_chaos/faults", Content_Type="text/plain"), 415, "Content-Type")
    assert _armed(gateway) == 0
    assert (
        _control(gateway, "POST", "/_chaos/faults", FAULT, Content_Type="application/json; charset=utf-8").status == 201
    )


@pytest.mark.parametrize(
    "origin", ["http://attacker.example", "null", "https://127.0.0.1:{port}", "http://localhost:1", "http://127.0.0.1"]
)
def test_a_foreign_origin_is_refused_on_the_control_and_moto_apis(gateway: Gateway, origin: str) -> None:
    port = str(address(gateway.url)[1])
    origin = origin.replace("{port}", port)
    body = _refused(_control(gateway, "POST", "/_chaos/faults", FAULT, Origin=origin), 403, "Origin")
    assert "own address" in body["error"]
    _refused(_control(gateway, "GET", "/_chaos/ledger", Origin=origin), 403, "Origin")
    _refused(_control(gateway, "POST", "/moto-api/reset", Origin=origin), 403, "Origin")
    assert _armed(gateway) == 0


def test_the_gateways_own_origin_may_call_it(gateway: Gateway) -> None:
    port = address(gateway.url)[1]
    for origin in [f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}"]:
        assert _control(gateway, "POST", "/_chaos/faults", FAULT, Origin=origin).status == 201
    assert _armed(gateway) == 3


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:{port}", "127.0.0.1.nip.io:{port}", "a b", ":"])
def test_a_foreign_host_is_refused_for_control_and_aws_calls(gateway: Gateway, host: str) -> None:
    host = host.replace("{port}", str(address(gateway.url)[1]))
    _refused(_control(gateway, "GET", "/_chaos/faults", Host=host), 403, "Host")
    _refused(_control(gateway, "POST", "/_chaos/faults", FAULT, Host=host), 403, "Host")
    _refused(_control(gateway, "GET", "/moto-api/data.json", Host=host), 403, "Host")
    aws = raw(gateway.url, http_request("GET", "/", {"Host": host}))
    assert aws.status == 403 and b"<Code>AccessDenied</Code>" in aws.body and b"Host" in aws.body, aws
    assert _armed(gateway) == 0
    assert gateway.ledger()["total"] == 0  # refused at the door: not an AWS call the faults saw


def test_loopback_names_are_the_gateways_own(gateway: Gateway) -> None:
    gateway.client("s3").create_bucket(Bucket="own")
    port = address(gateway.url)[1]
    for host in [f"127.0.0.1:{port}", "127.0.0.1", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}", "127.0.0.2"]:
        assert _control(gateway, "GET", "/_chaos/health", Host=host).status == 200, host
    # Virtual-hosted S3 (what boto3 and the AWS CLI send for an endpoint http://localhost:PORT).
    listed = raw(gateway.url, http_request("GET", "/?list-type=2", {"Host": f"own.localhost:{port}"}))
    assert listed.status == 200 and b"<Name>own</Name>" in listed.body, listed


def test_a_foreign_origin_may_not_use_motos_cors_on_aws_calls(gateway: Gateway) -> None:
    gateway.client("s3").create_bucket(Bucket="private")
    port = address(gateway.url)[1]
    host = _host(gateway)
    refused = raw(gateway.url, http_request("GET", "/private", {"Host": host, "Origin": "https://attacker.example"}))
    assert refused.status == 403 and b"Origin" in refused.body
    local = raw(gateway.url, http_request("GET", "/private", {"Host": host, "Origin": "http://localhost:3000"}))
    assert local.status == 200  # a browser application under test, served from this machine
    assert raw(gateway.url, http_request("GET", "/private", {"Host": f"127.0.0.1:{port}"})).status == 200


def test_with_a_token_the_token_is_what_counts(guarded: Gateway) -> None:
    headers = {"Host": "gateway.internal:4566", "Origin": "https://tools.example", "Authorization": f"Bearer {TOKEN}"}
    assert raw(guarded.url, http_request("GET", "/_chaos/health", headers)).status == 200
    text = {**headers, "Content-Type": "text/plain", "Content-Length": str(len(FAULT))}
    assert raw(guarded.url, http_request("POST", "/_chaos/faults", text, FAULT)).status == 201
    assert guarded.control("DELETE", "/_chaos/faults")[0] == 200
    # AWS calls carry no token: on loopback the Host rule still applies to them.
    assert raw(guarded.url, http_request("GET", "/", {"Host": "attacker.example"})).status == 403


# 4. The fault cap


def test_armed_faults_are_capped(gateway: Gateway) -> None:
    many = [{"kind": "unavailable", "service": "s3", "region": "us-east-1"}] * 1001
    status, body = gateway.control("POST", "/_chaos/faults", many)
    assert status == 400 and body["field"] == "faults" and "at most 1000 per request" in body["error"]
    for _ in range(10):
        assert gateway.control("POST", "/_chaos/faults", many[:1000])[0] == 201
    status, body = gateway.control("POST", "/_chaos/faults", many[:1])
    assert status == 400 and body["field"] == "faults" and "cap of 10000 armed faults" in body["error"]
    status, body = gateway.control("PUT", "/_chaos/faults", many[:1000])  # a replacement counts only itself
    assert status == 200 and len(body["ids"]) == 1000
    started = time.monotonic()
    assert gateway.control("POST", "/_chaos/faults", many[:1000])[0] == 201
    assert _armed(gateway) == 2000
    assert time.monotonic() - started < 5


# 5. A dropped request's body is never parsed as a request


def _smuggled(host: str) -> bytes:
    return http_request("PUT", "/loot/smuggled.txt", {"Host": host, "Content-Length": "5"}, b"hello")


def _chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n"


@pytest.mark.parametrize("kind", ["connection_error", "timeout", "lost_response"])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_dropped_bodys_request_never_runs(gateway: Gateway, kind: str, framing: str) -> None:
    s3 = gateway.client("s3")
    s3.create_bucket(Bucket="loot")
    fault: dict[str, Any] = {"kind": kind, "service": "s3", "operations": ["PutObject"], "key_prefix": "carrier"}
    if kind != "connection_error":
        fault["latency"] = "200ms"
    gateway.arm(fault)
    host = _host(gateway)
    payload = _smuggled(host)
    headers = {"Host": host, "Content-Type": "application/octet-stream"}
    if framing == "chunked":
        headers["Transfer-Encoding"] = "chunked"
        body = _chunked(payload)
    else:
        headers["Content-Length"] = str(len(payload))
        body = payload
    with socket.create_connection(address(gateway.url), timeout=10) as sock:
        sock.sendall(http_request("PUT", "/loot/carrier", headers, body))  # and keep sending side open, as clients do
        started = time.monotonic()
        answer = _read_all(sock)
    assert answer == b"", answer  # dropped: no answer at all, and not the smuggled request's
    if kind != "connection_error":
        assert time.monotonic() - started >= 0.2
    gateway.control("DELETE", "/_chaos/faults")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="loot").get("Contents", [])]
    assert keys == (["carrier"] if kind == "lost_response" else [])
    if kind == "lost_response":
        assert s3.get_object(Bucket="loot", Key="carrier")["Body"].read() == payload
    events = gateway.ledger()["events"]
    assert [(e["operation"], e["key"]) for e in events if e["operation"] == "PutObject"] == [("PutObject", "carrier")]


# 6. Bad control input is a 400 naming the field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"1" * 5000, "body"),
        (b'{"kind": "unavailable", "probability": ' + b"9" * 5000 + b"}", "body"),
        (b"[" * 100_000 + b"]" * 100_000, "body"),
        (b'{"kind": "unavailable", "probability": NaN}', "body"),
        (b'{"kind": "unavailable", "probability": 1e999}', "body"),
        (b"\xff\xfe", "body"),
        (b'"just a string"', "body"),
        (b'{"faults": {"kind": "unavailable"}}', "faults"),
        (b'{"kind": "unavailable", "after": "' + b"9" * 400 + b'h"}', "faults[0].after"),
    ],
    ids=["digits", "long-number", "deep", "nan", "inf", "not-utf8", "string", "faults-not-list", "long-duration"],
)
def test_bad_control_bodies_are_400s(gateway: Gateway, body: bytes, field: str) -> None:
    response = _control(gateway, "POST", "/_chaos/faults", body)
    _refused(response, 400, field)


@pytest.mark.parametrize("ident", ["9" * 5000, "\u00b2", "\u0661", "1e3", "-1", "x"])
def test_a_bad_fault_id_is_a_400(gateway: Gateway, ident: str) -> None:
    path = "/_chaos/faults/" + "".join(c if c.isascii() else f"%{b:02X}" for c in ident for b in c.encode())
    _refused(_control(gateway, "DELETE", path), 400, "id")
    assert _refused(_control(gateway, "DELETE", "/_chaos/faults/12345"), 404, "id")


# 7. lost_response and timeout hold for the fault's latency, PUTs included


@pytest.mark.parametrize("kind", ["lost_response", "timeout"])
def test_the_faults_latency_is_honoured_for_puts(gateway: Gateway, kind: str) -> None:
    s3 = gateway.client("s3")
    s3.create_bucket(Bucket="held")
    gateway.arm({"kind": kind, "service": "s3", "operations": ["PutObject"], "latency": "1s"})
    patient = gateway.client("s3", attempts=1, read_timeout=30)
    started = time.monotonic()
    with pytest.raises((ConnectionClosedError, ReadTimeoutError)):
        patient.put_object(Bucket="held", Key="k", Body=b"x" * 100_000)
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 10, elapsed  # held for the fault's 1s, not until the client's 30s read timeout
    gateway.control("DELETE", "/_chaos/faults")
    stored = [o["Key"] for o in s3.list_objects_v2(Bucket="held").get("Contents", [])]
    assert stored == (["k"] if kind == "lost_response" else [])
