"""Text the run sends out exactly as the file writes it: URLs, request paths and headers, HTTP
statuses, process arguments and environment, and the ``{placeholders}`` that build them.

``http.client`` sends a path unchanged and refuses, mid-run, a space or a non-ASCII character;
the operating system refuses a NUL in an argument. Each rule here refuses such a value up front,
with a :class:`~pydantic_core.PydanticCustomError` that says how to write it, so that it can run
inside the model's validators and be reported at its place in the file.
"""

from __future__ import annotations

import os
import re
import string
from urllib.parse import quote, urlsplit

from pydantic_core import PydanticCustomError

from chaos.engine import botodata

__all__ = [
    "MAX_STATUS",
    "MIN_STATUS",
    "base_url",
    "check_placeholders",
    "header",
    "http_status",
    "os_text",
    "placeholders",
    "wire_path",
]

MIN_STATUS, MAX_STATUS = 100, 599

_PRINTABLE = re.compile(r"[\x21-\x7e]*")  # printable ASCII, no space
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})


def placeholders(text: str) -> list[str]:
    """The ``{name}`` placeholders in ``text``; a placeholder is replaced as written, without a format."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise PydanticCustomError("placeholder", f"unbalanced braces in {text!r}: {exc}") from exc
    for _, name, spec, conversion in parsed:
        if name is not None and (spec or conversion):
            written = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise PydanticCustomError(
                "placeholder", f"placeholders take no format: write {{{name}}} instead of {written}"
            )
    return [name for _, name, _, _ in parsed if name is not None]


def check_placeholders(text: str, allowed: tuple[str, ...]) -> str:
    """``text``, if its placeholders are all ``allowed``."""
    for name in placeholders(text):
        if name not in allowed:
            hint = botodata.suggest(name, list(allowed))
            raise PydanticCustomError(
                "placeholder",
                f"unknown placeholder {{{name}}}{hint} here you can use "
                + ", ".join("{" + item + "}" for item in allowed),
            )
    return text


def http_status(value: int) -> int:
    """``value``, if it is an HTTP status (100-599)."""
    if not MIN_STATUS <= value <= MAX_STATUS:
        raise PydanticCustomError("status", f"{value} is not an HTTP status: statuses are {MIN_STATUS}-{MAX_STATUS}")
    return value


def wire_path(value: str, example: str) -> str:
    """A request path as it goes on the wire: starts with '/', printable ASCII without spaces."""
    if not value.startswith("/"):
        raise PydanticCustomError("path", f"{value!r} must be a path starting with '/', e.g. {example!r}")
    if not _PRINTABLE.fullmatch(value):
        encoded = quote(value, safe="/?#[]@!$&'()*+,;=:%{}~", errors="backslashreplace")
        raise PydanticCustomError(
            "path", f"{value!r} is sent as written: percent-encode spaces and non-ASCII characters, e.g. {encoded!r}"
        )
    return value


def header(name: str, value: str) -> None:
    """Refuse a header the load generator could not send, or should not: framing is its own."""
    if not _HEADER_NAME.fullmatch(name):
        raise PydanticCustomError(
            "header", f"{name!r} is not a header name: letters, digits and !#$%&'*+-.^_`|~, no spaces or ':'"
        )
    if name.lower() in _FRAMING_HEADERS:
        raise PydanticCustomError(
            "header", f"{name} is set by the load generator from the body; remove it from headers"
        )
    if not _HEADER_VALUE.fullmatch(value):
        raise PydanticCustomError(
            "header",
            f"the value of {name} ({value[:40]!r}) must be printable ASCII on one line: "
            "no line breaks or control characters; percent-encode or base64 anything else",
        )


def os_text(value: str, what: str) -> str:
    """Text handed to the operating system (an argument, a variable, a directory): no NUL, encodable."""
    if "\x00" in value:
        raise PydanticCustomError("os_text", f"{what} contains a NUL character, which the operating system cannot pass")
    try:
        os.fsencode(value)
    except UnicodeError:
        raise PydanticCustomError("os_text", f"{what} {value!r} cannot be encoded for the operating system") from None
    return value


def base_url(value: str) -> str:
    """An application's base URL: valid for every port ``{port}`` may become, and nothing after the path."""
    if not re.match(r"^https?://", value):
        raise PydanticCustomError("url", f"{value!r} is not an http(s) URL; write e.g. 'http://127.0.0.1:{{port}}'")
    check_placeholders(value, ("port",))
    if not _PRINTABLE.fullmatch(value):
        raise PydanticCustomError(
            "url",
            f"{value!r}: write the URL in printable ASCII without spaces (percent-encode the path, "
            "and write a non-ASCII host name in its xn-- form)",
        )
    for port in ("1", "65535"):  # the runner replaces {port} with a free port: any of these
        try:
            parts = urlsplit(value.replace("{port}", port))
            parts.port  # noqa: B018 - urlsplit checks the port only when it is read
            host = parts.hostname
            if host:
                host.encode("idna")  # what the socket layer does with it
        except (ValueError, UnicodeError) as exc:
            where = " once {port} is replaced by a port number" if "{port}" in value else ""
            raise PydanticCustomError("url", f"{value!r} is not a valid URL{where}: {exc}") from None
        if not host:
            raise PydanticCustomError("url", f"{value!r} names no host; write e.g. 'http://127.0.0.1:{{port}}'")
        if parts.query or parts.fragment or parts.username is not None:
            raise PydanticCustomError(
                "url", f"{value!r}: the application's URL is scheme, host, port and a path prefix; no user, query or #"
            )
    return value
