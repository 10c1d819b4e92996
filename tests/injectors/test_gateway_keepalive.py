"""Kept-alive connections to the gateway: reused only after a request framed and answered in full.

A connection serves another request only when its request was read to its exact end (no body, or a
``Content-Length`` body read to its last byte) and its answer was written in full; every other
connection closes after its answer, and no byte of a body is ever parsed as a request.
Hand-made on raw sockets, so that nothing between the test and the gateway tidies the request up.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import boto3
import pytest
import urllib3
from botocore.config import Config

from chaos.injectors import keepalive
from chaos.injectors.gateway import GatewayInjector, GatewayServer
from tests.conftest import free_port
from tests.injectors.gateway_helpers import RawResponse, http_request, parse_response, start_gateway


@pytest.fixture(scope="module")
def server() -> Iterator[GatewayServer]:
    with GatewayServer(GatewayInjector(seed=1), port=0) as gateway:
        yield gateway


@pytest.fixture
def gateway(server: GatewayServer) -> GatewayServer:
    server.reset_backend()
    assert (
        urllib3.request("DELETE", f"{server.url}/_chaos/faults", headers={"Content-Type": "application/json"}).status
        == 200
    )
    return server


def _s3(gateway: GatewayServer) -> object:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client("s3", region_name="us-east-1", endpoint_url=gateway.url, config=config)


def _host(gateway: GatewayServer) -> dict[str, str]:
    """Host, and a (not checked) signature: moto answers anonymous calls to a private bucket with 403."""
    scope = "Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
    return {"Host": f"127.0.0.1:{gateway.port}", "Authorization": f"AWS4-HMAC-SHA256 {scope}"}


def _answer(sock: socket.socket, head: bool = False) -> RawResponse:
    """Exactly one answer from ``sock`` (framed by Content-Length), leaving what follows unread."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            return parse_response(data)
        data += chunk
    response = parse_response(data, head=True)
    length = 0 if head else int(response.headers.get("content-length", "0"))
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        assert chunk, "the connection ended inside an answer"
        body += chunk
    return RawResponse(response.status, response.headers, body)


def _closed(sock: socket.socket, within: float = 5.0) -> bool:
    """Whether the gateway ends the connection (within ``within`` seconds) without sending anything more."""
    sock.settimeout(within)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _arm(gateway: GatewayServer, fault: dict[str, object]) -> None:
    """Arm ``fault`` through the control API (and so the guardrail gate)."""
    answer = urllib3.request(
        "POST", f"{gateway.url}/_chaos/faults", json=fault, headers={"Content-Type": "application/json"}
    )
    assert answer.status == 201, answer.data


def _keys(gateway: GatewayServer, bucket: str) -> list[str]:
    listed = _s3(gateway).list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
    return [item["Key"] for item in listed.get("Contents", [])]


def test_requests_on_one_connection_are_each_answered(gateway: GatewayServer) -> None:
    _s3(gateway).create_bucket(Bucket="kept")  # type: ignore[attr-defined]
    put = http_request("PUT", "/kept/one", {**_host(gateway), "Content-Length": "5"}, b"first")
    get = http_request("GET", "/kept/one", _host(gateway))
    head = http_request("HEAD", "/kept/one", _host(gateway))
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(put)
        stored = _answer(sock)
        assert stored.status == 200 and "connection" not in stored.headers, stored
        sock.sendall(get + head + get)  # pipelined: answered in order
        assert _answer(sock).body == b"first"
        assert _answer(sock, head=True).headers["content-length"] == "5"
        assert _answer(sock).body == b"first"
        sock.shutdown(socket.SHUT_WR)  # the client is done: the gateway closes its side
        assert _closed(sock)
    calls = [event.operation for event in gateway.injector.ledger.events()]
    assert calls[-4:] == ["PutObject", "GetObject", "HeadObject", "GetObject"]


def test_sdk_clients_reuse_their_connection(gateway: GatewayServer) -> None:
    pool = urllib3.HTTPConnectionPool("127.0.0.1", gateway.port, maxsize=1, block=True)
    for _ in range(5):
        answer = pool.request("GET", "/_chaos/health", headers=_host(gateway))
        assert answer.status == 200 and json.loads(answer.data)["status"] == "ok"
    assert pool.num_connections == 1, "every request opened a connection of its own"
    s3 = _s3(gateway)
    for index in range(5):
        s3.create_bucket(Bucket=f"reused-{index}")  # type: ignore[attr-defined]
    assert len(s3.list_buckets()["Buckets"]) == 5  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kind", "field"),
    [("unavailable", "Content-Length"), ("unavailable", "chunked"), ("connection_error", "Content-Length")],
)
def test_a_body_the_gateway_did_not_read_ends_the_connection_unparsed(
    gateway: GatewayServer, kind: str, field: str
) -> None:
    """An injected error answers a PutObject without reading its body: the body, a whole request here,
    is never run; the connection closes after the answer (or, dropped, with none)."""
    _s3(gateway).create_bucket(Bucket="loot")  # type: ignore[attr-defined]
    _arm(gateway, {"kind": kind, "service": "s3", "operations": ["PutObject"]})
    smuggled = http_request("PUT", "/loot/smuggled", {**_host(gateway), "Content-Length": "5"}, b"hello")
    headers = {**_host(gateway), "Content-Type": "application/octet-stream"}
    if field == "chunked":
        headers["Transfer-Encoding"] = "chunked"
        body = f"{len(smuggled):x}\r\n".encode() + smuggled + b"\r\n0\r\n\r\n"
    else:
        headers["Content-Length"] = str(len(smuggled))
        body = smuggled
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("PUT", "/loot/carrier", headers, body))
        answer = _answer(sock)
        if kind == "connection_error":
            assert answer.status is None, answer
        else:
            assert answer.status == 503 and answer.headers.get("connection") == "close", answer
        assert _closed(sock)
    assert _keys(gateway, "loot") == []


def test_a_body_on_a_get_is_read_or_ends_the_connection(gateway: GatewayServer) -> None:
    """A GET that declares a body: whether moto reads it or not, its bytes never run as a request."""
    _s3(gateway).create_bucket(Bucket="loot")  # type: ignore[attr-defined]
    smuggled = http_request("PUT", "/loot/smuggled", {**_host(gateway), "Content-Length": "5"}, b"hello")
    carrier = http_request("GET", "/loot", {**_host(gateway), "Content-Length": str(len(smuggled))}, smuggled)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(carrier)
        assert _answer(sock).status == 200
        sock.shutdown(socket.SHUT_WR)
        assert _closed(sock)
    assert _keys(gateway, "loot") == []


@pytest.mark.parametrize(
    ("version", "headers"),
    [("HTTP/1.0", {}), ("HTTP/1.1", {"Connection": "close"}), ("HTTP/1.0", {"Connection": "keep-alive"})],
)
def test_a_client_that_does_not_keep_alive_gets_its_connection_closed(
    gateway: GatewayServer, version: str, headers: dict[str, str]
) -> None:
    request = http_request("GET", "/_chaos/health", {**_host(gateway), **headers}).replace(
        b"HTTP/1.1", version.encode()
    )
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(request)
        answer = _answer(sock)
        assert answer.status == 200 and answer.headers.get("connection") == "close", answer
        assert _closed(sock)


def test_garbage_after_a_request_is_a_400_then_the_end(gateway: GatewayServer) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("GET", "/_chaos/health", _host(gateway)) + b"\x00\xff not a request\r\n\r\n")
        assert _answer(sock).status == 200
        refusal = _answer(sock)
        assert refusal.status == 400 and refusal.headers.get("connection") == "close", refusal
        assert _closed(sock)


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (b"GET /a b HTTP/1.1", 400),  # four words
        (b"P\rUT /bucket/key HTTP/1.1", 400),
        (b"GET / HTTX/1.1", 400),
        (b"GET / HTTP/2.0", 505),
        (b"GET /old", 400),  # HTTP/0.9
        (b"GET /_chaos/health HTTP/0.9", 400),
        (b"GET /_chaos/health\rHTTP/1.1", 400),  # a CR is no separator
        (b"\r\n", 400),  # a second empty line
    ],
)
def test_a_bad_request_line_is_answered_with_a_status_line(gateway: GatewayServer, line: bytes, status: int) -> None:
    """Not a bare HTML page (http.server answered these as HTTP/0.9: curl says "Received HTTP/0.9")."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(b"\r\n" + line + b"\r\nHost: localhost\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 %d " % status) and b"\r\nConnection: close\r\n" in data, data


def test_an_empty_line_before_a_request_is_ignored(gateway: GatewayServer) -> None:
    """A client's stray CRLF after a body (RFC 9112, 2.2): the next request is served on the same connection."""
    headers = {**_host(gateway), "Content-Type": "application/json", "Content-Length": "2"}
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(
            http_request("PUT", "/_chaos/faults", headers, b"[]")
            + b"\r\n"
            + http_request("GET", "/_chaos/health", _host(gateway))
        )
        assert _answer(sock).status == 200
        answer = _answer(sock)
        assert answer.status == 200 and json.loads(answer.body)["status"] == "ok", answer


def test_an_idle_kept_alive_connection_is_closed(gateway: GatewayServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keepalive, "IDLE_SECONDS", 0.3)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("GET", "/_chaos/health", _host(gateway)))
        assert _answer(sock).status == 200
        started = time.monotonic()
        assert _closed(sock, within=5.0)
        assert 0.25 <= time.monotonic() - started < 5.0
    # A request line that never ends is cut at the same limit, not held forever.
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("GET", "/_chaos/health", _host(gateway)) + b"GET /_chaos/hea")
        assert _answer(sock).status == 200
        assert _closed(sock, within=5.0)
    # And a connection that never sends its first request.
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        assert _closed(sock, within=5.0)


def test_an_upstream_failure_says_it_closes() -> None:
    """A 502 from the upstream path closes its connection after the answer: it must say so."""
    from chaos.injectors.upstream import connect

    gateway = GatewayServer(GatewayInjector(), port=0, backend=connect(f"http://127.0.0.1:{free_port()}"))
    with gateway, socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("GET", "/", {**_host(gateway), "Authorization": "AWS4-HMAC-SHA256 x"}))
        answer = _answer(sock)
        assert answer.status == 502 and answer.headers.get("connection") == "close", answer
        assert _closed(sock)


@pytest.mark.parametrize("logged", [True, False])
def test_the_access_log_has_a_line_per_request_only_when_asked(logged: bool) -> None:
    gateway = start_gateway(*(["--access-log"] if logged else []))
    try:
        s3 = gateway.client("s3", attempts=1)
        s3.create_bucket(Bucket="logged")
        s3.list_objects_v2(Bucket="logged")
    finally:
        code, out = gateway.stop()
    assert code == 0, out
    lines = [line for line in out.splitlines() if '"GET /logged' in line or '"PUT /logged' in line]
    assert len(lines) == (2 if logged else 0), out


def test_the_date_header_is_now(gateway: GatewayServer) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(http_request("GET", "/_chaos/health", _host(gateway)))
            answer = _answer(sock)
            assert abs(email.utils.parsedate_to_datetime(answer.headers["date"]).timestamp() - time.time()) < 5


# From the attack on keep-alive: each case kept a connection whose request or answer did not end where it said.


def test_a_head_on_the_control_api_sends_no_body(gateway: GatewayServer) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(
            http_request("HEAD", "/_chaos/health", _host(gateway))
            + http_request("HEAD", "/_chaos/nowhere", _host(gateway))
            + http_request("GET", "/_chaos/health", _host(gateway))
        )
        assert _answer(sock, head=True).status == 200
        assert _answer(sock, head=True).status == 404
        assert json.loads(_answer(sock).body)["status"] == "ok"


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("Transfer-Encoding: gzip", 400),
        ("Transfer-Encoding: identity", 400),
        ("Transfer-Encoding: xchunked", 400),
        ("Transfer-Encoding: chunked;x=1", 400),
        ("Transfer-Encoding: gzip, chunked", 400),
        ("Transfer-Encoding: x\r\n chunked", 400),
        ("Transfer-Encoding : chunked", 400),
        ("Content-Length : 62", 400),
        ("X-Note: a\rTransfer-Encoding: chunked", 400),  # a bare CR: the email package read a header there
        ("X-Note: a\x00b", 400),
        ("X(y): not a token", 400),
        (": no name", 400),
        ("Host: evil.localhost", 400),  # a second Host line
    ],
)
def test_a_request_framed_in_doubt_is_refused_and_closes(gateway: GatewayServer, header: str, status: int) -> None:
    _s3(gateway).create_bucket(Bucket="loot")  # type: ignore[attr-defined]
    smuggled = http_request("PUT", "/loot/smuggled", {**_host(gateway), "Content-Length": "1"}, b"X")
    head = "".join(f"{name}: {value}\r\n" for name, value in _host(gateway).items())
    carrier = f"PUT /loot/carrier HTTP/1.1\r\n{head}{header}\r\n\r\n".encode() + smuggled
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(carrier)
        answer = _answer(sock)
        assert answer.status == status and answer.headers.get("connection") == "close", answer
        assert _closed(sock)
    assert _keys(gateway, "loot") == []


@pytest.mark.parametrize(
    "extra",
    [[("X-Long", "a" * 70_000)], [(f"X-{n}", "1") for n in range(101)]],
    ids=["a line over 64 KiB", "101 header lines"],
)
def test_an_oversized_head_is_a_431_and_closes(gateway: GatewayServer, extra: list[tuple[str, str]]) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(
            http_request("GET", "/_chaos/health", [*_host(gateway).items(), *extra])
            + http_request("GET", "/_chaos/ledger", _host(gateway))
        )
        answer = _answer(sock)
        assert answer.status == 431 and answer.headers.get("connection") == "close", answer
        assert _closed(sock)


def test_http_1_0_is_answered_and_closed_even_when_it_asks_to_keep(gateway: GatewayServer) -> None:
    request = http_request("GET", "/_chaos/health", {**_host(gateway), "Connection": "keep-alive"})
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(
            request.replace(b"HTTP/1.1", b"HTTP/1.0", 1) + http_request("GET", "/_chaos/ledger", _host(gateway))
        )
        answer = _answer(sock)
        assert answer.status == 200 and answer.headers.get("connection") == "close", answer
        assert _closed(sock)


@pytest.mark.parametrize("value", ["close ", "keep-alive, close", "close, keep-alive", "te, close", "TE,Close"])
def test_close_among_the_connection_options_closes(gateway: GatewayServer, value: str) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(
            http_request("GET", "/_chaos/health", {**_host(gateway), "Connection": value})
            + http_request("GET", "/_chaos/ledger", _host(gateway))
        )
        answer = _answer(sock)
        assert answer.status == 200 and answer.headers.get("connection") == "close", answer
        assert _closed(sock)


@pytest.mark.parametrize(
    "body",
    [
        b"FFFFFFFFFFFF\r\nhello",  # a chunk of 280 TB that never comes: werkzeug's reader made it up, to OOM
        b"FFFFFFFF\r\nhello",
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloX\r\n0\r\n\r\n",
        b"5\nhello\n0\n\n",
        b"5\r\nhel",
    ],
)
def test_broken_chunks_are_a_400_and_make_nothing_up(gateway: GatewayServer, body: bytes) -> None:
    _s3(gateway).create_bucket(Bucket="chunks")  # type: ignore[attr-defined]
    headers = {**_host(gateway), "Transfer-Encoding": "chunked"}
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=20) as sock:
        sock.sendall(http_request("PUT", "/chunks/key", headers, body))
        sock.shutdown(socket.SHUT_WR)
        answer = _answer(sock)
    assert answer.status == 400 and b"body" in answer.body, answer
    assert _keys(gateway, "chunks") == []


def test_chunk_extensions_and_trailers_are_read(gateway: GatewayServer) -> None:
    _s3(gateway).create_bucket(Bucket="chunks")  # type: ignore[attr-defined]
    headers = {**_host(gateway), "Transfer-Encoding": "chunked"}
    body = b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("PUT", "/chunks/key", headers, body))
        assert _answer(sock).status == 200
    stored = _s3(gateway).get_object(Bucket="chunks", Key="key")["Body"].read()  # type: ignore[attr-defined]
    assert stored == b"hello world"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Content-Length: \xa05", "Content-Length"),
        ("Content-Length: 5\x0b", "Content-Length"),
        ("Transfer-Encoding: chunked\x85", "Transfer-Encoding"),
        ("Transfer-Encoding: chunked\xa0", "Transfer-Encoding"),
    ],
)
def test_whitespace_a_proxy_would_keep_is_refused(gateway: GatewayServer, header: str, field: str) -> None:
    head = "".join(f"{name}: {value}\r\n" for name, value in _host(gateway).items())
    request = f"PUT /chunks/key HTTP/1.1\r\n{head}{header}\r\n\r\nhello".encode("latin-1")
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(request)
        answer = _answer(sock)
    assert answer.status == 400 and field.encode() in answer.body, answer


def test_the_drain_after_a_closing_answer_is_bounded(gateway: GatewayServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that keeps trickling bytes after an answer that closes is cut off, not served forever."""
    monkeypatch.setattr(keepalive, "DRAIN_SECONDS", 0.5)
    headers = {**_host(gateway), "Connection": "close"}
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("GET", "/_chaos/health", headers))
        assert _answer(sock).status == 200
        started = time.monotonic()
        sock.settimeout(0.2)
        ended = False
        while not ended and time.monotonic() - started < 8:
            try:
                sock.sendall(b"x")
                ended = sock.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:
                ended = True
    assert ended and time.monotonic() - started < 5


def test_one_100_continue(gateway: GatewayServer) -> None:
    _s3(gateway).create_bucket(Bucket="expect")  # type: ignore[attr-defined]
    headers = {**_host(gateway), "Content-Length": "5", "Expect": "100-continue"}
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("PUT", "/expect/key", headers))
        assert _answer(sock).status == 100
        sock.sendall(b"hello")
        assert _answer(sock).status == 200


class _FakeUpstream:
    """A server that answers every request on a connection with the same bytes."""

    def __init__(self, answer: bytes, close: bool, late: bytes = b"") -> None:
        self.answer, self.close, self.late = answer, close, late
        self.answer_get = b""
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(sock,), daemon=True).start()

    def _answer(self, sock: socket.socket) -> None:
        with sock, contextlib.suppress(OSError):  # the gateway may close its side first
            data = b""
            while True:  # each request on the connection (no body) gets the answer
                while b"\r\n\r\n" not in data:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                request, _, data = data.partition(b"\r\n\r\n")
                sock.sendall(self.answer_get if self.answer_get and request.startswith(b"GET ") else self.answer)
                if self.late and request.startswith(b"HEAD "):
                    time.sleep(0.3)
                    sock.sendall(self.late)
                if self.close:
                    return


def test_an_upstream_answer_framed_twice_never_spills_into_the_next() -> None:
    """Content-Length and chunked from the upstream: chunked wins, and the chunk that carries what looks
    like a second answer stays inside the first."""
    from chaos.injectors.upstream import connect

    chunk = b"abcHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nSPOOFED"
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer = head + f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n"
    upstream = _FakeUpstream(answer, close=False)
    with GatewayServer(GatewayInjector(), port=0, backend=connect(upstream.url)) as gateway:
        client = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        bodies = []
        for _ in range(2):
            client.request("GET", "/bucket/key", headers=_host(gateway))
            bodies.append(client.getresponse().read())
        client.close()
    upstream.listener.close()
    assert bodies[0] == bodies[1] and bodies[0].startswith(b"abc") and bodies[0].endswith(b"SPOOFED"), bodies


@pytest.mark.parametrize("sent", [b"short", b""])
def test_an_upstream_answer_cut_short_ends_short(sent: bytes, caplog: pytest.LogCaptureFixture) -> None:
    """An upstream that closes before its Content-Length: the client's answer ends short, with nothing
    added to it; cut before its first byte, the gateway's 502 says the connection closes. The log says
    so in one line, no traceback."""
    from chaos.injectors.upstream import connect

    upstream = _FakeUpstream(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n" + sent, close=True)
    with GatewayServer(GatewayInjector(), port=0, backend=connect(upstream.url)) as gateway:
        client = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        client.request("GET", "/bucket/key", headers=_host(gateway))
        response = client.getresponse()
        if sent:
            with pytest.raises((http.client.IncompleteRead, ConnectionResetError)):
                response.read()
        else:
            body = response.read()
            assert response.status == 502 and response.getheader("Connection") == "close", response.headers
            assert b"<Code>BadGateway</Code>" in body, body  # the service's error shape, as the other 502s
        client.close()
    upstream.listener.close()
    logged = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any("the upstream's answer ended early" in line for line in logged), logged
    assert not any("Traceback" in line for line in logged), logged


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nSECRET",
        b"HTTP/1.1 200 OK\r\nContent-Length: \xc2\xb2\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n6\r\nSECRET\r\n0\r\n\r\n",
    ],
)
def test_an_upstream_answer_that_is_no_final_framed_answer_is_a_502(answer: bytes) -> None:
    from chaos.injectors.upstream import connect

    upstream = _FakeUpstream(answer, close=False)
    gateway = GatewayServer(GatewayInjector(), port=0, backend=connect(upstream.url))
    with gateway, socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("GET", "/bucket/key", _host(gateway)))
        got = _answer(sock)
    upstream.listener.close()
    assert got.status == 502 and got.headers.get("connection") == "close" and b"SECRET" not in got.body, got


def test_an_upstream_connection_after_a_head_is_not_reused() -> None:
    """Bytes an upstream sends after a HEAD answer are no answer to the next request, whoever sends it."""
    from chaos.injectors.upstream import connect

    late = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON"  # sent after the HEAD's answer, unasked
    upstream = _FakeUpstream(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n", close=False, late=late)
    upstream.answer_get = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    with GatewayServer(GatewayInjector(), port=0, backend=connect(upstream.url)) as gateway:
        first = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        first.request("HEAD", "/bucket/key", headers=_host(gateway))
        assert first.getresponse().read() == b""
        second = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        second.request("GET", "/bucket/key", headers=_host(gateway))  # before the stray bytes come
        answer = second.getresponse()
        assert answer.status == 200 and answer.read() == b"ok", answer.headers
        first.close()
        second.close()
    upstream.listener.close()


def _first_bytes(sock: socket.socket, within: float = 5.0) -> bytes:
    """What the gateway sends first (up to the end of one head)."""
    sock.settimeout(within)
    data = b""
    with contextlib.suppress(TimeoutError):
        while b"\r\n\r\n" not in data and (chunk := sock.recv(1)):
            data += chunk
    return data


@pytest.mark.parametrize(
    ("case", "expected"),
    [("passes", b"HTTP/1.1 100 Continue"), ("injected 503", b"HTTP/1.1 503"), ("bad length", b"HTTP/1.1 400")],
)
def test_100_continue_goes_out_only_when_the_body_is_wanted(gateway: GatewayServer, case: str, expected: bytes) -> None:
    """It was sent before admission and the fault decision: a client then sent a body no one would read."""
    _s3(gateway).create_bucket(Bucket="expect")  # type: ignore[attr-defined]
    if case == "injected 503":
        _arm(gateway, {"kind": "unavailable", "service": "s3", "operations": ["PutObject"]})
    headers = {**_host(gateway), "Expect": "100-continue", "Content-Length": "x" if case == "bad length" else "5"}
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("PUT", "/expect/key", headers))
        first = _first_bytes(sock)
        assert first.startswith(expected), first
        if case == "passes":
            sock.sendall(b"hello")
            assert _answer(sock).status == 200
    assert _keys(gateway, "expect") == (["key"] if case == "passes" else [])


def test_no_100_continue_to_http_1_0(gateway: GatewayServer) -> None:
    _s3(gateway).create_bucket(Bucket="expect")  # type: ignore[attr-defined]
    headers = {**_host(gateway), "Expect": "100-continue", "Content-Length": "5"}
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("PUT", "/expect/key", headers).replace(b"HTTP/1.1", b"HTTP/1.0", 1) + b"hello")
        assert _first_bytes(sock).startswith(b"HTTP/1.1 200 "), "an HTTP/1.0 client never gets a 100"


def test_an_upstream_answer_without_length_reaches_http_1_0_unchunked() -> None:
    from chaos.injectors.upstream import connect

    upstream = _FakeUpstream(
        b"HTTP/1.1 200 OK\r\nConnection: close, X-Secret\r\nX-Secret: s\r\n\r\nhello world", close=True
    )
    gateway = GatewayServer(GatewayInjector(), port=0, backend=connect(upstream.url))
    with gateway, socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("GET", "/bucket/key", _host(gateway)).replace(b"HTTP/1.1", b"HTTP/1.0", 1))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    upstream.listener.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert body == b"hello world" and b"chunked" not in head.lower(), data
    assert b"x-secret" not in head.lower(), "a header the upstream's Connection names is hop-by-hop"


def test_an_upstream_answer_cut_mid_body_is_a_reset_not_an_end() -> None:
    """Read to the end of the connection (HTTP/1.0, no length), a cut answer must not look whole."""
    from chaos.injectors.upstream import connect

    upstream = _FakeUpstream(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", close=True)
    gateway = GatewayServer(GatewayInjector(), port=0, backend=connect(upstream.url))
    with gateway, socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("GET", "/bucket/key", _host(gateway)).replace(b"HTTP/1.1", b"HTTP/1.0", 1))
        data, reset = _read_to_the_end(sock)
    upstream.listener.close()
    assert reset, f"the connection ended as if the answer were whole: {data!r}"
    assert not data or data.startswith(b"HTTP/1.1 200"), data


def _read_to_the_end(sock: socket.socket) -> tuple[bytes, bool]:
    """Everything until the connection ends, and whether it ended with a reset."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        return data, True
    return data, False


def test_an_upstream_that_dies_inside_its_head_is_a_502() -> None:
    from chaos.injectors.upstream import connect

    upstream = _FakeUpstream(b"HTTP/1.1 200 OK\r\nContent-Le", close=True)
    gateway = GatewayServer(GatewayInjector(), port=0, backend=connect(upstream.url))
    with gateway, socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(http_request("GET", "/bucket/key", _host(gateway)))
        got = _answer(sock)
    upstream.listener.close()
    assert got.status == 502 and got.headers.get("connection") == "close", got


def test_an_absolute_url_is_recognised_as_its_path(gateway: GatewayServer) -> None:
    """``GET http://host/bucket/key``: moto serves the object, and the faults see that bucket and key
    (the gateway read the whole URL as the path: bucket "http:")."""
    _s3(gateway).create_bucket(Bucket="absolute")  # type: ignore[attr-defined]
    _arm(gateway, {"kind": "unavailable", "service": "s3", "buckets": ["absolute"], "key_prefix": "a/"})
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        for path, status in (("/absolute/a/b", 503), ("/absolute/z", 404)):
            sock.sendall(http_request("GET", f"http://127.0.0.1:{gateway.port}{path}?x-id=GetObject", _host(gateway)))
            assert _answer(sock).status == status
    ledger = urllib3.request("GET", f"{gateway.url}/_chaos/ledger").json()
    buckets = {(event["bucket"], event["key"]) for event in ledger["events"] if event["operation"] == "GetObject"}
    assert {("absolute", "a/b"), ("absolute", "z")} <= buckets, ledger["events"]
