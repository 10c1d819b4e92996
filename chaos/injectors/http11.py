"""The request line and header lines of an HTTP/1.1 request, read in one pass.

http.server hands header lines to the email package, whose parser was a tenth of the CPU the gateway
spent on each request (and reads a bare CR inside a line as the end of a header, a way to smuggle
one past a proxy that does not). Here a head is read by the rules of RFC 9112, section 5, with the
limits http.server had (a line of at most :data:`MAX_LINE` bytes, at most :data:`MAX_HEADERS` lines:
431 beyond either):

* a header line is ``name: value``, the name a token (no space before the colon); the value loses
  the spaces and tabs before it;
* a line that begins with a space or a tab continues the line before it (obsolete folding,
  accepted past the first line);
* a line that is neither, a name that is not a token, a folded first line, a NUL or a CR inside a
  line mark the head malformed: the gateway refuses it (400), and reads no header after that line.

Values are decoded as ISO-8859-1, as http.server did. :class:`Headers` offers the handler what
http.server's message object did: ``get``, ``get_all``, ``items``, ``keys``, ``in``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Protocol, overload

__all__ = [
    "MAX_HEADERS",
    "MAX_LINE",
    "HeadError",
    "Headers",
    "connection_options",
    "only_chunked",
    "read_headers",
    "request_line",
]

#: The longest request line or header line, in bytes (http.server's and http.client's limit).
MAX_LINE = 65536
#: The most header lines a request may have (http.client's limit).
MAX_HEADERS = 100
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(r"HTTP/([0-9]{1,10})\.([0-9]{1,10})")
#: A request target: no space and no control character (bytes from 0x80 up, unencoded UTF-8, pass).
_TARGET = re.compile(r"[^\x00-\x20\x7f]+")


class Lines(Protocol):
    """What a head is read from: a buffered stream's ``readline``."""

    def readline(self, size: int | None = -1, /) -> bytes: ...


class HeadError(Exception):
    """A request line or head the gateway cannot read: the status to answer and why."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Headers:
    """A request's header lines, in order; names are looked up without regard to case."""

    __slots__ = ("_index", "_items", "malformed")

    def __init__(self, items: list[tuple[str, str]], malformed: bool = False) -> None:
        self._items = items
        self.malformed = malformed
        index: dict[str, list[str]] = {}
        for name, value in items:
            index.setdefault(name.lower(), []).append(value)
        self._index = index

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        values = self._index.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str] | None:
        """Every value of ``name`` in order, None when there is none (as email's messages answer)."""
        values = self._index.get(name.lower())
        return list(values) if values else None

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def keys(self) -> list[str]:
        return [name for name, _ in self._items]

    def __getitem__(self, name: str) -> str | None:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._items)

    def __str__(self) -> str:
        return "".join(f"{name}: {value}\r\n" for name, value in self._items) + "\r\n"


def connection_options(values: Iterable[str]) -> set[str]:
    """The options of ``Connection`` header values, lower-case (``te, close`` is two)."""
    return {option.strip(" \t").lower() for value in values for option in value.split(",")} - {""}


def only_chunked(coding: str) -> bool:
    """Whether a ``Transfer-Encoding`` value is plain ``chunked``, the one coding the gateway reads and passes on."""
    return coding.strip(" \t").lower() == "chunked"


def request_line(raw: bytes) -> tuple[str, str, str, bool]:
    """(method, target, version, whether the connection may be kept) of a request line;
    :class:`HeadError` (400, or 505 for HTTP/2 and later) when it is not one (HTTP/0.9 is not served)."""
    line = str(raw, "iso-8859-1")
    line = line[:-2] if line.endswith("\r\n") else line.removesuffix("\n")
    words = line.split(" ")
    if len(words) != 3 or not _TOKEN.fullmatch(words[0]) or not _TARGET.fullmatch(words[1]):
        # one space between the three parts, nothing else (HTTP/0.9's "GET /path" has two: no SDK speaks it)
        raise HeadError(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({line[:200]!r})")
    method, target, version = words
    number = _VERSION.fullmatch(version)
    if number is None:
        raise HeadError(HTTPStatus.BAD_REQUEST, f"Bad request version ({version[:200]!r})")
    major, minor = int(number[1]), int(number[2])
    if major >= 2:
        raise HeadError(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({major}.{minor})")
    if major < 1:
        raise HeadError(HTTPStatus.BAD_REQUEST, f"Bad request version ({version[:200]!r}): HTTP/1 is served")
    return method, target, version, minor >= 1


def read_headers(stream: Lines) -> Headers:
    """The header lines up to the empty line that ends them (or the end of the stream)."""
    items: list[tuple[str, str]] = []
    malformed = False
    count = 0
    while True:
        line = stream.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise HeadError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
        if line in (b"\r\n", b"\n", b""):
            return Headers(items, malformed)
        count += 1
        if count > MAX_HEADERS:
            raise HeadError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, f"Too many headers (over {MAX_HEADERS})")
        if malformed:
            continue  # read to the end of the head, not used: the request is refused
        text = str(line, "iso-8859-1")
        if text.endswith("\n"):
            text = text[:-2] if text.endswith("\r\n") else text[:-1]
        if "\r" in text or "\0" in text:
            malformed = True
        elif text[0] in " \t":
            if items:
                name, value = items[-1]
                items[-1] = (name, value + text)
            else:
                malformed = True
        else:
            name, colon, value = text.partition(":")
            if colon and _TOKEN.fullmatch(name):
                items.append((name, value.lstrip(" \t")))
            else:
                malformed = True
