"""The gateway's connections: kept alive only when each request ended where it said, bodies read in
bounded chunks, drops that stay drops.

werkzeug's server answers every request with ``Connection: close``, yet when a request got no
answer at all (the gateway dropped it on purpose) its handler would go on reading the same
connection as if a new request followed: the unread body of a PutObject would be parsed, and run,
as a request of its own. :class:`KeepAliveHandler` serves a second request on a connection only
when the first was read to its exact end and answered in full: no body, or a ``Content-Length``
body the gateway or moto read to its last byte (:func:`keep_alive` says so for the response),
from an HTTP/1.1 client that did not ask to close. Every other connection ends after its request,
whatever happened to it: a dropped request, a refusal, a body left unread, a chunked body (its
trailers are not framed), an answer that failed half-way. A kept-alive connection waits
:data:`IDLE_SECONDS` for its next request line and headers, then closes.

A request that is dropped on purpose (``connection_error``, ``timeout``, ``lost_response``) first
has the rest of its body read and thrown away, chunk by chunk (``Content-Length`` or chunked
transfer encoding; ``aws-chunked`` is a content encoding inside either), so the client sees the
connection end after it finished sending, as an SDK expects of a server that went away. A request
refused before its body was read gets its answer, then the connection is closed after a short,
bounded wait that lets the client finish sending and read the answer.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import io
import select
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, NoReturn

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wsgi import LimitedStream

__all__ = [
    "CHUNK",
    "DISCARD_SECONDS",
    "IDLE_SECONDS",
    "LINGER_BYTES",
    "LINGER_SECONDS",
    "BodyTooLarge",
    "Dropped",
    "KeepAliveHandler",
    "answer_then_close",
    "discard_body",
    "drop",
    "frame_body",
    "hold",
    "keep_alive",
    "read_body",
]

#: Bodies are read and discarded this much at a time: memory per connection stays at this.
CHUNK = 64 * 1024
#: How long the gateway keeps reading the body of a request it is about to drop.
DISCARD_SECONDS = 60.0
#: After a refusal: how long, and how much, the gateway reads on before it closes the connection.
LINGER_SECONDS = 2.0
LINGER_BYTES = 8 * 1024 * 1024
_LINGER_IDLE = 0.25
#: How long a kept-alive connection waits for its next request line and headers.
IDLE_SECONDS = 30.0
#: Set in the environ by :func:`keep_alive`: the request was read to its end; and once its answer was
#: written in full.
_KEEP = "chaos.keep_alive"
_DONE = "chaos.answered"
#: Errors of a body that ends early or is not valid chunked encoding.
_BODY_ERRORS = (OSError, ValueError, ClientDisconnected)


class Dropped(ConnectionAbortedError):
    """Raised to end a request whose connection the gateway closed on purpose (no answer)."""


class BodyTooLarge(Exception):
    """A body (of a request without Content-Length) went past the limit its reader set."""


class _AfterAnswer:
    """The handler's ``rfile`` while werkzeug answers a request (the application reads ``wsgi.input``).

    After an answer werkzeug reads whatever the client still sends and throws it away, because it
    closes every connection; on a connection kept alive those bytes are the next request, and stay.
    """

    def __init__(self, stream: io.BufferedIOBase, handler: KeepAliveHandler) -> None:
        self._stream = stream
        self._handler = handler

    def read(self, size: int | None = -1) -> bytes:
        return b"" if self._handler.keeping else self._stream.read(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler, keeping a connection alive only after a request framed and answered
    in full (module docstring)."""

    protocol_version = "HTTP/1.1"
    #: Headers and body leave in separate writes: without this, a kept-alive client waits for a delayed ACK.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.served = 0
        self.keeping = False
        self.environ: dict[str, Any] = {}

    def make_environ(self) -> dict[str, Any]:
        """werkzeug's environ, with every Content-Length header kept: two of them are refused, not merged."""
        self.connection.settimeout(None)  # the request line and headers came: the body is not under the idle limit
        environ: dict[str, Any] = super().make_environ()
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1:
            environ["CONTENT_LENGTH"] = ", ".join(lengths)
        self.rfile = _AfterAnswer(self.rfile, self)  # type: ignore[assignment]
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        """werkzeug's closing ``Connection: close`` is left out when the connection may serve another request."""
        if keyword.lower() == "connection" and value.lower() == "close" and self._may_keep():
            self.keeping = True
            return
        super().send_header(keyword, value)

    def _may_keep(self) -> bool:
        return bool(self.environ.get(_KEEP) and self.request_version == "HTTP/1.1" and not self.close_connection)

    def handle_one_request(self) -> None:
        """Serve one request; the connection ends after it unless it was framed and answered in full."""
        stream = self.rfile
        self.keeping = False
        self.environ = {}
        if self.served:
            self.connection.settimeout(IDLE_SECONDS)
        try:
            super().handle_one_request()
        finally:
            self.rfile = stream
            self.served += 1
            if not (self.keeping and self.environ.get(_DONE)):
                self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One access-log line, only when the gateway logs them (``--access-log``): werkzeug formats it first."""
        if getattr(self.server, "access_log", True):
            super().log_request(code, size)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header: formatted once a second, not once a request."""
        return _http_date(int(time.time() if timestamp is None else timestamp))

    def log_error(self, format: str, *args: Any) -> None:
        """An idle kept-alive connection timing out is not an error."""
        if not format.startswith("Request timed out"):
            super().log_error(format, *args)


@functools.lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    return email.utils.formatdate(second, usegmt=True)


def keep_alive(environ: dict[str, Any], body: IO[bytes], answer: Iterable[bytes]) -> Iterable[bytes]:
    """``answer``, letting its connection serve another request once it is written in full, when the
    request's body (framed by ``Content-Length``, or none) was read to its end."""
    if environ.get("wsgi.input_terminated") or body_pending(body):
        return answer
    environ[_KEEP] = True
    return _then_done(environ, answer)


def _then_done(environ: dict[str, Any], answer: Iterable[bytes]) -> Iterator[bytes]:
    try:
        yield from answer
        environ[_DONE] = True
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()


def _socket(environ: Mapping[str, Any]) -> socket.socket | None:
    sock = environ.get("werkzeug.socket")
    return sock if isinstance(sock, socket.socket) else None


def frame_body(environ: dict[str, Any], length: int | None) -> IO[bytes]:
    """Make ``wsgi.input`` end where the body ends (and count what is read); returns that stream.

    Chunked bodies are already framed by werkzeug; any other body is ``Content-Length`` bytes (none
    without the header, as HTTP/1.1 says).
    """
    if not environ.get("wsgi.input_terminated"):
        environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], length or 0)
    stream: IO[bytes] = environ["wsgi.input"]
    return stream


def body_pending(stream: IO[bytes]) -> bool:
    """Whether some of the body may still be unread."""
    if isinstance(stream, LimitedStream):
        return not stream.is_exhausted
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
    except _BODY_ERRORS:
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


def _linger(environ: Mapping[str, Any]) -> None:
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


def answer_then_close(environ: dict[str, Any], data: bytes) -> Iterator[bytes]:
    """A response body that, once written, closes a connection whose request body was not read."""
    environ[_KEEP] = False  # before the first write: the answer says Connection: close
    yield data
    _linger(environ)
