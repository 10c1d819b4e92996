"""The gateway's reading of a request line and its headers (chaos.injectors.http11).

Well-formed heads are read as http.server read them (its email-based parser is the reference in a
differential property); everything else is a malformed head (refused with a 400 by the gateway) or a
431, never another exception, and a header after a malformed line is never read.
"""

from __future__ import annotations

import http.client
import io
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.injectors.http11 import MAX_HEADERS, MAX_LINE, HeadError, Headers, read_headers, request_line


def _read(data: bytes) -> Headers:
    return read_headers(io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]


def test_a_head_is_read_in_order_with_case_blind_lookups() -> None:
    headers = _read(b"Host: a\r\nX-Amz-Date:  20260101\r\nx-amz-date: second \r\nEmpty:\r\n\r\nbody")
    assert headers.items() == [("Host", "a"), ("X-Amz-Date", "20260101"), ("x-amz-date", "second "), ("Empty", "")]
    assert headers.get("X-AMZ-DATE") == "20260101" and headers["host"] == "a" and headers.get("nope") is None
    assert headers.get_all("x-amz-date") == ["20260101", "second "] and headers.get_all("nope") is None
    assert "HOST" in headers and "nope" not in headers and len(headers) == 4 and not headers.malformed


def test_reading_stops_at_the_empty_line() -> None:
    stream = io.BufferedReader(io.BytesIO(b"A: 1\n\nGET /next HTTP/1.1\r\n"))
    assert read_headers(stream).items() == [("A", "1")]  # bare LF line ends are read, as http.client did
    assert stream.read() == b"GET /next HTTP/1.1\r\n"


def test_a_folded_line_continues_the_one_before() -> None:
    headers = _read(b"X-Long: first\r\n  second\r\n\tthird\r\n\r\n")
    assert headers.items() == [("X-Long", "first  second\tthird")] and not headers.malformed


@pytest.mark.parametrize(
    "line",
    [
        b"Content-Length : 5",  # a space before the colon
        b"no colon here",
        b": no name",
        b"X(y): not a token",
        b"X-Note: a\rTransfer-Encoding: chunked",  # a bare CR: the email parser saw a second header here
        b"X-Note: a\x00b",
        b"\xff\xfe: value",
    ],
)
def test_a_malformed_line_marks_the_head_and_hides_what_follows(line: bytes) -> None:
    headers = _read(b"Host: a\r\n" + line + b"\r\nContent-Length: 99\r\n\r\n")
    assert headers.malformed
    assert headers.get("Content-Length") is None and headers.get("Transfer-Encoding") is None


def test_a_folded_first_line_is_malformed() -> None:
    assert _read(b" Host: a\r\nX: 1\r\n\r\n").malformed


def test_the_limits_are_431s() -> None:
    with pytest.raises(HeadError) as long:
        _read(b"X: " + b"a" * MAX_LINE + b"\r\n\r\n")
    with pytest.raises(HeadError) as many:
        _read(b"".join(b"X-%d: 1\r\n" % n for n in range(MAX_HEADERS + 1)) + b"\r\n")
    assert long.value.status == many.value.status == 431
    assert len(_read(b"".join(b"X-%d: 1\r\n" % n for n in range(MAX_HEADERS)) + b"\r\n")) == MAX_HEADERS


def test_values_are_iso_8859_1() -> None:
    assert _read("X-Meta: caf\u00e9\r\n\r\n".encode("latin-1")).get("x-meta") == "caf\u00e9"


def test_the_end_of_the_stream_ends_the_head() -> None:
    assert _read(b"Host: a\r\nX: 1").items() == [("Host", "a"), ("X", "1")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"GET /b/k?x=1 HTTP/1.1\r\n", ("GET", "/b/k?x=1", "HTTP/1.1", True)),
        (b"PUT /b/k HTTP/1.0\r\n", ("PUT", "/b/k", "HTTP/1.0", False)),
        (b"GET http://h/b/k HTTP/1.1\n", ("GET", "http://h/b/k", "HTTP/1.1", True)),
        ("PUT /b/caf\u00e9 HTTP/1.1\r\n".encode(), ("PUT", "/b/caf\u00c3\u00a9", "HTTP/1.1", True)),  # raw UTF-8
    ],
)
def test_request_lines(raw: bytes, expected: tuple[str, str, str, bool]) -> None:
    assert request_line(raw) == expected


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"\r\n", 400),
        (b"GET\r\n", 400),
        (b"POST /old\r\n", 400),
        (b"GET /old\r\n", 400),  # HTTP/0.9 is not served
        (b"GET / HTTP/1.1 extra\r\n", 400),
        (b"GET / HTTP/1\r\n", 400),
        (b"GET / HTTP/1.x\r\n", 400),
        (b"GET / HTTP/1.12345678901\r\n", 400),
        (b"GET / FTP/1.1\r\n", 400),
        (b"GET / HTTP/0.9\r\n", 400),
        (b"GET  / HTTP/1.1\r\n", 400),  # one space between the parts, nothing else
        (b"GET\t/ HTTP/1.1\r\n", 400),
        (b" GET / HTTP/1.1\r\n", 400),
        (b"GET /\rHTTP/1.1\r\n", 400),
        (b"GET /a\x00b HTTP/1.1\r\n", 400),
        (b"G(T / HTTP/1.1\r\n", 400),
        (b"GET / HTTP/1.1\r\r\n", 400),
        (b"GET / HTTP/2.0\r\n", 505),
        (b"GET / HTTP/99999999.0\r\n", 505),
    ],
)
def test_bad_request_lines(raw: bytes, status: int) -> None:
    with pytest.raises(HeadError) as error:
        request_line(raw)
    assert error.value.status == status


_TOKEN = st.text(alphabet=string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~", min_size=1, max_size=20)
_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=40
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_TOKEN, _VALUE), max_size=30))
def test_well_formed_heads_read_as_http_server_read_them(items: list[tuple[str, str]]) -> None:
    data = "".join(f"{name}: {value}\r\n" for name, value in items).encode("latin-1") + b"\r\n"
    ours = _read(data)
    reference = http.client.parse_headers(io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]
    assert not ours.malformed
    assert ours.items() == [(name, value.lstrip(" \t")) for name, value in items]
    assert ours.items() == list(reference.items())
    for name, _ in items:
        assert ours.get(name) == reference.get(name) and ours.get_all(name) == reference.get_all(name)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_a_head_a_malformed_head_or_a_431(data: bytes) -> None:
    try:
        headers = _read(data)
    except HeadError as error:
        status = error.status
    else:
        status = None
    assert status in (None, 431)
    if status is not None:
        return
    for name, value in headers.items():
        assert name and "\r" not in name + value and "\n" not in name + value and "\0" not in value


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_any_request_line_is_read_or_a_400_or_505(raw: bytes) -> None:
    try:
        method, target, version, _ = request_line(raw)
    except HeadError as error:
        status = error.status
    else:
        status = None
    assert status in (None, 400, 505)
    if status is not None:
        return
    assert method and target and version.startswith("HTTP/")
