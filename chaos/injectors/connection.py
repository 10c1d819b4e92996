"""The gateway's request bodies: framed, read in bounded chunks, thrown away before a drop; drops that
stay drops.

A request that is dropped on purpose (``connection_error``, ``timeout``, ``lost_response``) first
has the rest of its body read and thrown away, chunk by chunk (``Content-Length`` or chunked
transfer encoding; ``aws-chunked`` is a content encoding inside either), so the client sees the
connection end after it finished sending, as an SDK expects of a server that went away. A request
refused before its body was read gets its answer, then the connection is closed after a short,
bounded wait that lets the client finish sending and read the answer (:func:`linger`). Which
connections serve a second request is :mod:`chaos.injectors.keepalive`'s.
"""

from __future__ import annotations

import contextlib
import io
import re
import select
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any, NoReturn

from werkzeug.exceptions import ClientDisconnected
from werkzeug.wsgi import LimitedStream

from chaos.injectors.admission import MAX_CONTENT_LENGTH

__all__ = [
    "BODY_ERRORS",
    "CHUNK",
    "DISCARD_SECONDS",
    "LINGER_BYTES",
    "LINGER_SECONDS",
    "MAX_TRAILERS",
    "BodyTooLarge",
    "Cut",
    "Dechunked",
    "Dropped",
    "WsgiApp",
    "body_pending",
    "discard_body",
    "drop",
    "frame_body",
    "hold",
    "linger",
    "read_body",
]

#: Bodies are read and discarded this much at a time: memory per connection stays at this.
#: A WSGI application.
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
CHUNK = 64 * 1024
#: How long the gateway keeps reading the body of a request it is about to drop.
DISCARD_SECONDS = 60.0
#: After a refusal: how long, and how much, the gateway reads on before it closes the connection.
LINGER_SECONDS = 2.0
LINGER_BYTES = 8 * 1024 * 1024
_LINGER_IDLE = 0.25
#: A chunked body's size and trailer lines are at most this long; it has at most MAX_TRAILERS trailers.
_LINE_LIMIT = 8192
MAX_TRAILERS = 100
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:;[^\r\n]*)?")
#: Errors of a body that ends early or is not valid chunked encoding.
BODY_ERRORS = (OSError, ValueError, ClientDisconnected)


class Dropped(ConnectionAbortedError):
    """Raised to end a request whose connection the gateway closed on purpose (no answer)."""


class Cut(ConnectionAbortedError):
    """An answer that could not be finished (an upstream's ended early): the client's connection is
    reset where it stopped (a client reading to the end of the connection must not take it for a
    whole answer); before its first byte, the client gets ``answer`` (a WSGI application), or a 502."""

    def __init__(self, message: str, answer: WsgiApp | None = None) -> None:
        super().__init__(message)
        self.answer = answer


class BodyTooLarge(Exception):
    """A body (of a request without Content-Length) went past the limit its reader set."""


def _socket(environ: Mapping[str, Any]) -> socket.socket | None:
    sock = environ.get("werkzeug.socket")
    return sock if isinstance(sock, socket.socket) else None


class Dechunked(io.RawIOBase):
    """A ``Transfer-Encoding: chunked`` body, read strictly (werkzeug's reader would make bytes up).

    Each chunk size is 1-16 hex digits (extensions after ``;`` are ignored), at most
    :data:`~chaos.injectors.admission.MAX_CONTENT_LENGTH` in all; every size line and chunk ends in
    CRLF; the body ends with a zero chunk and a trailer section of at most :data:`MAX_TRAILERS`
    lines. Anything else, or the connection ending first, raises ``OSError`` naming it; the bytes
    read are only ever the client's.
    """

    def __init__(self, stream: IO[bytes] | io.BufferedIOBase) -> None:
        self._stream = stream
        self._left = 0  # bytes of the current chunk still to read
        self._total = 0
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.done:
            return 0
        if self._left == 0 and not self._next_chunk():
            return 0
        view = memoryview(buffer).cast("B")
        data = self._stream.read(min(len(view), self._left))
        if not data:
            raise OSError("the connection ended inside a chunk")
        view[: len(data)] = data
        self._left -= len(data)
        if self._left == 0 and self._line() != b"":
            raise OSError("a chunk does not end with CRLF where its size says")
        return len(data)

    def _line(self) -> bytes:
        """One CRLF-ended line, without its CRLF."""
        line = self._stream.readline(_LINE_LIMIT + 1)
        if not line.endswith(b"\r\n"):
            raise OSError("a chunk size or trailer line is too long, does not end with CRLF, or never ends")
        return line[:-2]

    def _next_chunk(self) -> bool:
        """Read the next size line; False after the last chunk and its trailers."""
        match = _CHUNK_SIZE.fullmatch(self._line())
        if match is None:
            raise OSError("a chunk size is not 1-16 hex digits")
        size = int(match.group(1), 16)
        self._total += size
        if self._total > MAX_CONTENT_LENGTH:
            raise OSError(f"chunks of more than {MAX_CONTENT_LENGTH} bytes in all")
        if size:
            self._left = size
            return True
        for _ in range(MAX_TRAILERS + 1):
            if self._line() == b"":
                self.done = True
                return False
        raise OSError(f"more than {MAX_TRAILERS} trailer lines")


def frame_body(environ: dict[str, Any], length: int | None) -> IO[bytes]:
    """Make ``wsgi.input`` end where the body ends (and count what is read); returns that stream.

    Chunked bodies are framed by :class:`Dechunked` (the request handler puts it in place of
    werkzeug's reader); any other body is ``Content-Length`` bytes (none without the header, as
    HTTP/1.1 says).
    """
    if not environ.get("wsgi.input_terminated"):
        environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], length or 0)
    stream: IO[bytes] = environ["wsgi.input"]
    return stream


def body_pending(stream: IO[bytes]) -> bool:
    """Whether some of the body may still be unread."""
    if isinstance(stream, LimitedStream):
        return not stream.is_exhausted
    if isinstance(stream, Dechunked):
        return not stream.done
    return not getattr(stream, "_done", True)  # werkzeug's DechunkedInput


def read_body(stream: IO[bytes], limit: int) -> bytes:
    """The whole body, read in chunks; :class:`BodyTooLarge` past ``limit`` bytes.

    Raises ``OSError``/``ValueError``/``ClientDisconnected`` when the body ends early or is not
    valid chunked encoding.
    """
    data = bytearray()
    while True:
        chunk = stream.read(min(CHUNK, limit + 1 - len(data)))
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise BodyTooLarge(f"more than {limit} bytes")


def discard_body(environ: Mapping[str, Any], stream: IO[bytes], within: float = DISCARD_SECONDS) -> None:
    """Read and throw away the rest of the body, a chunk at a time, for at most ``within`` seconds."""
    sock = _socket(environ)
    deadline = time.monotonic() + within
    try:
        while body_pending(stream):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if sock is not None:
                sock.settimeout(remaining)  # a client that stalls does not hold the thread past the deadline
            if not stream.read(CHUNK):
                return
    except BODY_ERRORS:
        return  # the client went away, stalled, or sent broken chunks: the connection is dropped anyway


def hold(environ: Mapping[str, Any], limit: float, sleep: Callable[[float], None] = time.sleep) -> None:
    """Keep the request unanswered until the client closes the connection or ``limit`` seconds pass."""
    sock = _socket(environ)
    if sock is None:
        sleep(limit)
        return
    deadline = time.monotonic() + limit
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        if not poller.poll(max(1, int(remaining * 1000))):
            continue
        try:
            sock.settimeout(0.0)
            if not sock.recv(CHUNK):  # bytes past the body are thrown away; end of stream: the client gave up
                return
        except BlockingIOError:
            continue
        except (OSError, ValueError):
            return


def drop(environ: Mapping[str, Any]) -> NoReturn:
    """Close the connection without an HTTP answer."""
    sock = _socket(environ)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise Dropped("connection closed by an injected fault")


def linger(environ: Mapping[str, Any]) -> None:
    """The answer is written: end it, let the client finish sending for a moment, then stop reading."""
    sock = _socket(environ)
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)  # the client sees the answer end and stops waiting for more
    deadline = time.monotonic() + LINGER_SECONDS
    received = 0
    try:
        while received < LINGER_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(min(remaining, _LINGER_IDLE))
            data = sock.recv(CHUNK)
            if not data:
                break
            received += len(data)
    except (OSError, ValueError):
        pass
    with contextlib.suppress(OSError):
        # Whatever the client still sends is never read (werkzeug's own drain finds the end at once).
        sock.shutdown(socket.SHUT_RD)
