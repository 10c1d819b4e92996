"""Which connections to the gateway serve another request: only those whose request and answer both
ended exactly where they said.

werkzeug's server answers every request with ``Connection: close``, yet when a request got no
answer at all (the gateway dropped it on purpose) its handler would go on reading the same
connection as if a new request followed: the unread body of a PutObject would be parsed, and run,
as a request of its own. :class:`KeepAliveHandler` serves a second request on a connection only
when all of these hold:

* the client asked for it: HTTP/1.1, no ``close`` among its ``Connection`` options;
* the request is framed beyond doubt: no ``Transfer-Encoding`` (a chunked body's trailers are not
  framed), every header line well formed (a malformed one is refused, 400), and its body (by
  ``Content-Length``, or none) was read to its last byte by moto or the gateway
  (:func:`allow_keep_alive`);
* the answer was written in full, and its body is exactly what its headers declared: no more than
  its ``Content-Length`` ever leaves (an upstream that sends more is cut there), nothing after a
  HEAD, a 204 or a 304; an answer that fails half-way ends there, its connection closed (a 500 is
  written only in place of an answer not begun).

Every other connection ends after its answer, which says ``Connection: close``. A connection waits
at most :data:`IDLE_SECONDS` for each read of a request line and headers (a first request too),
then closes; after an answer on a connection that closes, the gateway reads what the client still
sends for at most :data:`DRAIN_SECONDS` in all. A chunked request body is read by
:class:`~chaos.injectors.connection.Dechunked`, which never makes bytes up.

The handler reads each request's line and headers itself (:mod:`chaos.injectors.http11`) and writes
each answer itself (:mod:`chaos.injectors.answer`): werkzeug's writer and its drain after every answer, and
http.server's email-based header parser, were nearly half the CPU an injected error cost.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import socket
import struct
import time
from collections.abc import Iterator
from http import HTTPStatus
from typing import IO, Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.debug.tbtools import DebugTraceback
from werkzeug.exceptions import BadGateway, InternalServerError

from chaos.injectors.admission import MALFORMED_HEADERS
from chaos.injectors.answer import KEEP, Answer
from chaos.injectors.connection import CHUNK, Cut, Dechunked, WsgiApp, body_pending, linger
from chaos.injectors.environ import wsgi_environ
from chaos.injectors.http11 import MAX_LINE, HeadError, Headers, connection_options, read_headers, request_line

__all__ = [
    "DRAIN_SECONDS",
    "IDLE_SECONDS",
    "KeepAliveHandler",
    "allow_keep_alive",
    "answer_then_close",
]

#: How long a connection waits for each read of a request line and headers.
IDLE_SECONDS = 30.0
#: After an answer on a connection that closes: how long the gateway reads what the client still sends.
DRAIN_SECONDS = 2.0
#: ... and how long it waits for each receive of it (werkzeug's 10 ms).
_DRAIN_IDLE = 0.01


def allow_keep_alive(environ: dict[str, Any], body: IO[bytes]) -> None:
    """Let the connection serve another request once the answer is written in full, if the request's
    body (framed by ``Content-Length``, or none) was read to its end."""
    if not environ.get("wsgi.input_terminated") and not body_pending(body):
        environ[KEEP] = True


def answer_then_close(environ: dict[str, Any], data: bytes) -> Iterator[bytes]:
    """A response body that, once written, closes a connection whose request body was not read."""
    environ[KEEP] = False  # before the first write: the answer says Connection: close
    yield data
    linger(environ)


class _Continue:
    """The body of a request that asked ``Expect: 100-continue``: the ``100 Continue`` goes out when the
    body is first read, after admission and the fault decision, and never once an answer has begun (a
    refusal or an injected error is the client's answer instead, and it does not send the body)."""

    __slots__ = ("_handler", "_sent", "_stream")

    def __init__(self, stream: Any, handler: KeepAliveHandler) -> None:
        self._stream = stream
        self._handler = handler
        self._sent = False

    def _go(self) -> None:
        if not self._sent:
            self._sent = True
            if not self._handler.answer.started:
                self._handler.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def read(self, size: int | None = -1) -> bytes:
        self._go()
        return bytes(self._stream.read(size))

    def read1(self, size: int = -1) -> bytes:
        self._go()
        return bytes(self._stream.read1(size))

    def readline(self, size: int | None = -1) -> bytes:
        self._go()
        return bytes(self._stream.readline(size))

    def readinto(self, buffer: Any) -> int:
        self._go()
        return int(self._stream.readinto(buffer))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler, reading each request's head itself (:mod:`chaos.injectors.http11`) and
    writing each answer itself (:mod:`chaos.injectors.answer`), keeping a connection alive only after a
    request and an answer that both ended exactly where they said (module docstring)."""

    protocol_version = "HTTP/1.1"
    #: A client on a kept connection must not wait for a delayed ACK between writes.
    disable_nagle_algorithm = True
    headers: Headers  # type: ignore[assignment]  # http.server's message object, read without the email package
    raw_requestline: bytes

    def setup(self) -> None:
        super().setup()
        self.environ: dict[str, Any] = {}
        self.answer = Answer(self)
        self.served = False
        self.access_log = bool(getattr(self.server, "access_log", True))
        self.server_header = super().version_string()

    # -- the request -------------------------------------------------------------------------------

    def handle_one_request(self) -> None:
        """Serve one request; the connection ends after it unless request and answer were framed in full."""
        self.environ = {}
        self.served = False
        self.connection.settimeout(IDLE_SECONDS)
        try:
            super().handle_one_request()
        finally:
            if not self.served:
                self.close_connection = True

    def parse_request(self) -> bool:
        """The request line and headers (:mod:`chaos.injectors.http11`); ``Connection`` read as the list of
        options it is (``te, close``)."""
        self.command = None  # type: ignore[assignment]  # http.server's state while the line is unread
        self.request_version = "HTTP/1.1"  # a refusal of the line itself is an answer with a status line too
        self.close_connection = True
        if self.raw_requestline in (b"\r\n", b"\n"):  # one empty line before a request line is ignored (RFC 9112)
            self.raw_requestline = self.rfile.readline(MAX_LINE + 1)
            if not self.raw_requestline:
                return False  # the client is gone: nothing to answer
            if len(self.raw_requestline) > MAX_LINE:
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return False
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        try:
            command, path, version, keep = request_line(self.raw_requestline)
            self.request_version = version
            self.command, self.path = command, path
            if path.startswith("//"):
                self.path = "/" + path.lstrip("/")  # as http.server does (gh-87389): never read as a host
            self.headers = read_headers(self.rfile)
        except HeadError as error:
            self.send_error(error.status, error.message)
            return False
        self.close_connection = not keep or "close" in connection_options(self.headers.get_all("Connection") or [])
        return True

    def make_environ(self) -> dict[str, Any]:
        """werkzeug's environ as moto's handler extends it (:mod:`chaos.injectors.environ`), with every
        Content-Length header kept (two are refused, not merged) and malformed header lines noted (refused
        too)."""
        self.connection.settimeout(None)  # the request line and headers came: the body is not under the idle limit
        environ = wsgi_environ(self)
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1:
            environ["CONTENT_LENGTH"] = ", ".join(lengths)
        if self.headers.malformed:
            environ[MALFORMED_HEADERS] = True
        stream: Any = self.rfile
        if self.request_version == "HTTP/1.1" and self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            stream = environ["wsgi.input"] = _Continue(self.rfile, self)
        if environ.get("wsgi.input_terminated"):  # chunked: read strictly (werkzeug's reader makes bytes up)
            environ["wsgi.input"] = Dechunked(stream)
        return environ

    def may_keep(self) -> bool:
        """KEEP is set only for a request admitted (no malformed header, no transfer coding but chunked) whose
        body, not chunked, was read to its end: what is left is the client's say."""
        return bool(self.environ.get(KEEP) and self.request_version == "HTTP/1.1" and not self.close_connection)

    # -- the answer --------------------------------------------------------------------------------

    def run_wsgi(self) -> None:
        """werkzeug's ``run_wsgi``, the answer written by :mod:`chaos.injectors.answer`; a connection that
        closes is read for at most :data:`DRAIN_SECONDS` after its answer, one that stays is not read at all."""
        self.environ = environ = self.make_environ()
        self.answer = answer = Answer(self)
        try:
            answer.run(self.server.app, environ)
        except Cut as error:  # the answer could not be finished: one line, not a traceback
            self.log_error("%s", error)
            if answer.started:
                self._reset()
            else:
                self._instead(error.answer or BadGateway(), environ)
            return
        except (ConnectionError, TimeoutError) as error:  # the client went away
            self.connection_dropped(error, environ)
            return
        except Exception as error:
            if self.server.passthrough_errors:
                raise
            self.server.log("error", f"Error on request:\n{DebugTraceback(error).render_traceback_text()}")
            if answer.started:  # an answer begun is cut where it failed
                self._drain()
            else:
                self._instead(InternalServerError(), environ)
            return
        self.served = answer.keep and answer.framed()
        if not self.served:
            self._drain()

    def _instead(self, app: WsgiApp, environ: dict[str, Any]) -> None:
        """Answer with ``app`` in place of an answer that failed before its first byte, then close."""
        environ[KEEP] = False
        with contextlib.suppress(Exception):
            Answer(self).run(app, environ)
        self._drain()

    def _reset(self) -> None:
        """End the connection with a reset, not a FIN: an answer cut short must not read as a whole one
        to a client that reads its body to the end of the connection."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def _drain(self) -> None:
        """Read what the client still sends (the rest of a body the answer did not need) while it keeps
        coming, for :data:`DRAIN_SECONDS` at most: the client sees the answer, not a reset."""
        deadline = time.monotonic() + DRAIN_SECONDS
        with contextlib.suppress(OSError, ValueError):
            for _ in range(1000):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.connection.settimeout(min(remaining, _DRAIN_IDLE))
                if not self.rfile.read1(CHUNK):
                    return

    # -- logs and dates ----------------------------------------------------------------------------

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One access-log line, only when the gateway logs them (``--access-log``)."""
        if self.access_log:
            super().log_request(code, size)

    def version_string(self) -> str:
        """The Server header: formatted once a connection."""
        return self.server_header

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header: formatted once a second, not once a request."""
        return _http_date(int(time.time() if timestamp is None else timestamp))

    def log_error(self, format: str, *args: Any) -> None:
        """A connection that sent no request in time is not an error."""
        if not format.startswith("Request timed out"):
            super().log_error(format, *args)


@functools.lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    return email.utils.formatdate(second, usegmt=True)
