"""The gateway's WSGI environ is the one werkzeug's and moto's request handlers build, for any request.

Differential: the same request line and head are given to moto's handler (werkzeug's environ, with
http.client's parsed headers) and to chaos.injectors.environ (with the gateway's own parsed headers),
and the two environs compared key by key.
"""

from __future__ import annotations

import http.client
import io
import string
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.moto_server.werkzeug_app import MotoRequestHandler

from chaos.injectors.environ import wsgi_environ
from chaos.injectors.http11 import read_headers

_SERVER = SimpleNamespace(
    ssl_context=None,
    multithread=True,
    multiprocess=False,
    server_address=("127.0.0.1", 4566),
    _server_version="Werkzeug/3",
)


def _handler(path: str, headers: Any) -> MotoRequestHandler:
    handler = object.__new__(MotoRequestHandler)
    handler.path = path
    handler.command = "PUT"
    handler.request_version = "HTTP/1.1"
    handler.headers = headers
    handler.client_address = ("127.0.0.1", 50000)
    handler.server = _SERVER  # type: ignore[assignment]
    handler.rfile = io.BytesIO()  # type: ignore[assignment]
    handler.connection = SimpleNamespace()  # type: ignore[assignment]
    return handler


def _both(path: str, head: list[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = "".join(f"{name}: {value}\r\n" for name, value in head).encode("latin-1") + b"\r\n"
    reference = MotoRequestHandler.make_environ(
        _handler(path, http.client.parse_headers(io.BufferedReader(io.BytesIO(raw))))  # type: ignore[arg-type]
    )
    ours = wsgi_environ(_handler(path, read_headers(io.BufferedReader(io.BytesIO(raw)))))  # type: ignore[arg-type]
    for environ in (reference, ours):
        environ.pop("wsgi.input")  # werkzeug wraps a chunked body in its reader; the gateway puts its own
    return reference, ours


@pytest.mark.parametrize(
    ("path", "head"),
    [
        ("/bucket/key?x-id=GetObject", [("Host", "localhost:4566"), ("Authorization", "AWS4-HMAC-SHA256 x")]),
        ("//bucket//key", [("Host", "h")]),
        ("http://bucket.s3.localhost:4566/key%20one?a=1&b", [("Host", "other")]),
        ("/b/caf\u00c3\u00a9%2Fx", [("Content-Type", "a"), ("Content-Type", "b"), ("Content-Length", "5")]),
        ("/b/k", [("X-Amz-Meta-My_Key", "1"), ("x-amz-meta-my_key", "2"), ("X-Amz-Meta-Other-Key", "3")]),
        ("/b/k", [("X-Amz-Meta-A_B", "under"), ("X-Amz-Meta-A-B", "dash")]),
        ("/b/k", [("X_Plain", "dropped"), ("Transfer-Encoding", "chunked"), ("TE", "trailers")]),
        ("/b/k", [("X-Dup", "a"), ("x-dup", "b"), ("X-DUP", "c")]),
        ("/b/k", [("Transfer-Encoding", "gzip, Chunked")]),
    ],
)
def test_hand_made_requests(path: str, head: list[tuple[str, str]]) -> None:
    reference, ours = _both(path, head)
    assert ours == reference


_NAME = st.one_of(
    st.sampled_from(["Host", "Content-Type", "Content-Length", "Transfer-Encoding", "X-Amz-Date", "Authorization"]),
    st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12),
    st.text(alphabet=string.ascii_letters + "-_", min_size=1, max_size=8).map(lambda s: f"x-amz-meta-{s}"),
)
_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=20
)
_PATH = st.text(alphabet=string.ascii_letters + string.digits + "/%?&=:.-_~+\u00e9", max_size=40).map(lambda s: "/" + s)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(_PATH, _PATH.map(lambda p: "http://h.localhost:1" + p), _PATH.map(lambda p: "/" + p)),
    st.lists(st.tuples(_NAME, _VALUE), max_size=12),
)
def test_any_request_gets_the_environ_werkzeug_and_moto_build(path: str, head: list[tuple[str, str]]) -> None:
    reference, ours = _both(path, head)
    assert ours == reference
    assert ours["wsgi.errors"] is sys.stderr
