"""The control API under random input: never a 500, and every 4xx is JSON naming the field at fault.

An in-process gateway (one without a token, one with), driven over raw sockets so that headers
arrive exactly as generated. Examples are bounded so the suite stays within seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.injectors.gateway import GatewayInjector, GatewayServer
from tests.injectors.gateway_helpers import RawResponse, http_request, raw

TOKEN = "fuzz-token"
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def gateways() -> Iterator[tuple[GatewayServer, GatewayServer]]:
    with (
        GatewayServer(GatewayInjector(seed=1), port=0) as open_gateway,
        GatewayServer(GatewayInjector(seed=1), port=0, token=TOKEN) as guarded,
    ):
        yield open_gateway, guarded


def _check(response: RawResponse, method: str) -> None:
    assert response.status is not None, "no answer"
    assert response.status < 500, response
    # Bytes past the request's framing are read as the next request on the kept-alive connection: never a 5xx.
    assert not re.search(rb"^HTTP/1\.[01] 5", response.after, re.MULTILINE), response
    if method == "HEAD":
        return
    body = response.json()
    if response.status >= 400:
        field = body.get("field")
        assert isinstance(field, str) and field, body
        assert isinstance(body.get("error"), str) and body["error"].startswith(f"{field}: "), body


def _host(server: GatewayServer) -> str:
    return f"127.0.0.1:{server.port}"


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**20, max_value=10**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["kind", "service", "region", "operations", "buckets", "key_prefix", "probability", "latency", "jitter"]
FIELDS += ["after", "for", "include_global", "name", "faults"]
fault_like = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=8),
    json_values
    | st.sampled_from(["unavailable", "latency", "timeout", "s3", "us-east-1", "*", "10s", "1e9h", "-1s", "250ms"]),
    max_size=6,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """JSON faults and near-faults, and texts built to break parsers: huge numbers, deep nesting."""
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return json.dumps(draw(json_values)).encode()
    if choice == 1:
        return json.dumps(draw(st.lists(fault_like, max_size=3) | fault_like)).encode()
    if choice == 2:
        digits = draw(st.integers(1, 200_000))
        return b'{"kind": "unavailable", "probability": ' + b"9" * digits + b"}"
    if choice == 3:
        depth = draw(st.integers(1, 150_000))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
        return opener * depth + b"1" + closer * depth
    if choice == 4:
        return draw(st.binary(max_size=200))
    exponent = draw(st.integers(-100_000, 100_000))
    return f'{{"kind": "unavailable", "probability": 1e{exponent}, "after": {exponent}}}'.encode()


@FUZZ
@given(body=bodies(), method=st.sampled_from(["POST", "PUT"]))
def test_any_body_gets_an_answer_that_names_the_field(
    gateways: tuple[GatewayServer, GatewayServer], body: bytes, method: str
) -> None:
    server = gateways[0]
    headers = {"Host": _host(server), "Content-Type": "application/json", "Content-Length": str(len(body))}
    response = raw(server.url, http_request(method, "/_chaos/faults", headers, body))
    _check(response, method)
    server.injector.engine.remove()


header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)
lengths = st.integers(0, 10**30).map(str) | header_text | st.sampled_from(["-5", "5, 7", "abc", " 12 ", "0x10", ""])
origins = st.sampled_from(["http://127.0.0.1:{port}", "null", "http://evil.example", "https://localhost"]) | header_text
hosts = st.sampled_from(["127.0.0.1:{port}", "localhost", "[::1]:{port}", "evil.example", "b.localhost"]) | header_text
types = st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8", ""]) | header_text
encodings = st.sampled_from(["chunked", "gzip, chunked", "identity"]) | header_text
paths = st.sampled_from(
    ["/_chaos/faults", "/_chaos/faults/0", "/_chaos/ledger", "/_chaos/reset", "/_chaos/health"]
) | st.text(max_size=30).map(lambda text: "/_chaos/" + quote(text, safe="/"))


@FUZZ
@given(
    guarded=st.booleans(),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    path=paths,
    headers=st.fixed_dictionaries(
        {},
        optional={
            "Content-Length": lengths,
            "Content-Type": types,
            "Origin": origins,
            "Host": hosts,
            "Authorization": st.sampled_from([f"Bearer {TOKEN}", "Bearer nope"]) | header_text,
            "Transfer-Encoding": encodings,
        },
    ),
    body=st.sampled_from([b"", b"[]", b'{"kind": "throttle", "service": "dynamodb"}', b"{"]) | st.binary(max_size=50),
)
def test_any_headers_get_an_answer_that_names_the_field(
    gateways: tuple[GatewayServer, GatewayServer],
    guarded: bool,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
) -> None:
    server = gateways[1] if guarded else gateways[0]
    given_headers: dict[str, Any] = {name: value.replace("{port}", str(server.port)) for name, value in headers.items()}
    response = raw(server.url, http_request(method, path, given_headers, body), timeout=30)
    _check(response, method)
    server.injector.engine.remove()
