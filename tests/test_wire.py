"""The rules for text sent out as written: each refusal says how to write the value instead."""

from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from chaos.wire import base_url, check_placeholders, header, http_status, os_text, wire_path


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:{port}", "https://[::1]:{port}/prefix/", "http://localhost:0{port}", "http://host"]
)
def test_urls_the_runner_can_use(url: str) -> None:
    assert base_url(url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:{port}0", "not a valid URL once {port} is replaced by a port number: Port out of range"),
        ("http://127.0.0.1:1{port}", "Port out of range"),
        ("http://[::1:{port}", "Invalid IPv6 URL"),
        ("http://a..b:{port}", "label empty"),
        ("http://:{port}", "names no host"),
        ("http://u:p@host:{port}", "no user, query or #"),
        ("ftp://host", r"is not an http\(s\) URL"),
        ("http://h\u00f4te:{port}", "xn-- form"),
        ("http://host:{prot}", "unknown placeholder {prot}"),
    ],
)
def test_urls_refused(url: str, message: str) -> None:
    with pytest.raises(PydanticCustomError, match=message.replace("{", r"\{")):
        base_url(url)


def test_paths_are_printable_ascii_and_the_error_shows_the_encoded_form() -> None:
    assert wire_path("/caf%C3%A9?q=1", "/x") == "/caf%C3%A9?q=1"
    with pytest.raises(PydanticCustomError, match=r"e\.g\. '/caf%C3%A9/a%20b'"):
        wire_path("/caf\u00e9/a b", "/x")
    with pytest.raises(PydanticCustomError, match="starting with '/'"):
        wire_path("health", "/health")


def test_headers() -> None:
    header("X-Trace", "a b\tc")
    for name, value, message in [
        ("X-A", "a\r\nB: c", "on one line"),
        ("X A", "1", "is not a header name"),
        ("transfer-encoding", "chunked", "set by the load generator"),
        ("X-A", "\u00e9", "printable ASCII"),
    ]:
        with pytest.raises(PydanticCustomError, match=message):
            header(name, value)


def test_operating_system_text_and_statuses_and_placeholders() -> None:
    assert os_text("\u00e9t\u00e9", "an argument") == "\u00e9t\u00e9"
    with pytest.raises(PydanticCustomError, match="an argument contains a NUL"):
        os_text("a\0b", "an argument")
    with pytest.raises(PydanticCustomError, match="cannot be encoded"):
        os_text("\ud800", "an argument")
    assert http_status(100) == 100 and http_status(599) == 599
    with pytest.raises(PydanticCustomError, match="statuses are 100-599"):
        http_status(600)
    with pytest.raises(PydanticCustomError, match=r"write \{id\} instead of \{id!r\}"):
        check_placeholders("/docs/{id!r}", ("id",))
