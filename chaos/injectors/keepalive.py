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
  HEAD, a 204 or a 304, nothing after an answer that failed half-way (werkzeug would write its 500
  page into the body of the answer it had begun).

Every other connection ends after its answer, which says ``Connection: close``. A connection waits
at most :data:`IDLE_SECONDS` for each read of a request line and headers (a first request too),
then closes; after an answer on a connection that closes, the gateway reads what the client still
sends for at most :data:`DRAIN_SECONDS` in all. A chunked request body is read by
:class:`~chaos.injectors.connection.Dechunked`, which never makes bytes up.
"""

from __future__ import annotations

import email.errors
import email.utils
import functools
import io
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

from chaos.injectors.admission import MALFORMED_HEADERS
from chaos.injectors.connection import CHUNK, Dechunked, body_pending, linger

__all__ = [
    "DRAIN_SECONDS",
    "IDLE_SECONDS",
    "KeepAliveHandler",
    "allow_keep_alive",
    "answer_then_close",
    "watched",
]

#: How long a connection waits for each read of a request line and headers.
IDLE_SECONDS = 30.0
#: After an answer on a connection that closes: how long werkzeug's drain waits for the client's bytes.
DRAIN_SECONDS = 2.0
#: Set in the environ: the request was read to its end (_KEEP); the answer was written in full (_DONE);
#: the answer failed half-way (_BROKEN).
_KEEP = "chaos.keep_alive"
_DONE = "chaos.answered"
_BROKEN = "chaos.broken"
_BODYLESS = frozenset({204, 304})


def allow_keep_alive(environ: dict[str, Any], body: IO[bytes]) -> None:
    """Let the connection serve another request once the answer is written in full, if the request's
    body (framed by ``Content-Length``, or none) was read to its end."""
    if not environ.get("wsgi.input_terminated") and not body_pending(body):
        environ[_KEEP] = True


def watched(environ: dict[str, Any], answer: Iterable[bytes]) -> Iterator[bytes]:
    """``answer``, noting in the environ whether it was written in full or failed half-way."""
    try:
        yield from answer
    except BaseException:
        environ[_BROKEN] = True
        environ[_KEEP] = False
        raise
    else:
        environ[_DONE] = True
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()


def answer_then_close(environ: dict[str, Any], data: bytes) -> Iterator[bytes]:
    """A response body that, once written, closes a connection whose request body was not read."""
    environ[_KEEP] = False  # before the first write: the answer says Connection: close
    yield data
    linger(environ)


class _AfterAnswer:
    """The handler's ``rfile`` while werkzeug answers a request (the application reads ``wsgi.input``).

    After an answer werkzeug reads whatever the client still sends and throws it away, because it
    closes every connection; on a connection kept alive those bytes are the next request, and stay.
    On one that closes, the client gets :data:`DRAIN_SECONDS` to send them, not forever.
    """

    def __init__(self, stream: io.BufferedIOBase, handler: KeepAliveHandler) -> None:
        self._stream = stream
        self._handler = handler
        self._deadline: float | None = None

    def read(self, size: int | None = -1) -> bytes:
        if self._handler.keeping:
            return b""
        if self._deadline is None:
            self._deadline = time.monotonic() + DRAIN_SECONDS
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            return b""  # werkzeug's drain ends; a client still trickling bytes is cut off
        self._handler.connection.settimeout(remaining)
        return self._stream.read1(CHUNK if size is None or size < 0 else min(size, CHUNK))  # one receive at most

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Framed:
    """The handler's ``wfile``: an answer's body is held to what its headers declared."""

    def __init__(self, stream: io.BufferedIOBase, handler: KeepAliveHandler) -> None:
        self._stream = stream
        self._handler = handler

    def write(self, data: bytes) -> int:
        handler = self._handler
        if not handler.in_body:
            return self._stream.write(data)  # a status line and headers, or werkzeug's 100 Continue
        if handler.bodyless or (handler.environ.get(_BROKEN) and not handler.broken_before):
            handler.overrun |= bool(data) and not handler.bodyless
            return len(data)  # nothing after a HEAD, 204 or 304; nothing after an answer that failed half-way
        sent = data
        if handler.declared is not None:
            room = handler.declared - handler.written
            if len(data) > room:
                handler.overrun = True
                sent = data[:room]
        handler.written += len(sent)
        if sent:
            self._stream.write(sent)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler, keeping a connection alive only after a request and an answer that both
    ended exactly where they said (module docstring)."""

    protocol_version = "HTTP/1.1"
    #: Headers and body leave in separate writes: without this, a kept-alive client waits for a delayed ACK.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.wfile = _Framed(self.wfile, self)  # type: ignore[assignment]
        self.keeping = False
        self.environ: dict[str, Any] = {}
        self._answer_started()

    def _answer_started(self, status: int = 0) -> None:
        self.answer_status = status
        self.in_body = False
        self.bodyless = False
        self.broken_before = False
        self.declared: int | None = None
        self.chunked = False
        self.written = 0
        self.overrun = False

    # -- the request -------------------------------------------------------------------------------

    def handle_one_request(self) -> None:
        """Serve one request; the connection ends after it unless request and answer were framed in full."""
        stream = self.rfile
        self.keeping = False
        self.environ = {}
        self._answer_started()
        self.connection.settimeout(IDLE_SECONDS)
        try:
            super().handle_one_request()
        finally:
            self.rfile = stream
            if not (self.keeping and self.environ.get(_DONE) and self._framed()):
                self.close_connection = True

    def parse_request(self) -> bool:
        """http.server's parsing, with ``Connection`` read as the list of options it is (``te, close``)."""
        if not super().parse_request():
            return False
        options = {
            option.strip().lower() for value in self.headers.get_all("Connection") or [] for option in value.split(",")
        }
        if "close" in options:
            self.close_connection = True
        return True

    def handle_expect_100(self) -> bool:
        """werkzeug sends its own ``100 Continue``: one is enough."""
        return True

    def make_environ(self) -> dict[str, Any]:
        """werkzeug's environ, with every Content-Length header kept (two are refused, not merged) and
        malformed header lines noted (refused too)."""
        self.connection.settimeout(None)  # the request line and headers came: the body is not under the idle limit
        environ: dict[str, Any] = super().make_environ()
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1:
            environ["CONTENT_LENGTH"] = ", ".join(lengths)
        if _malformed(self.headers.defects):
            environ[MALFORMED_HEADERS] = True
        if environ.get("wsgi.input_terminated"):  # chunked: read strictly (werkzeug's reader makes bytes up)
            environ["wsgi.input"] = Dechunked(self.rfile)
        self.rfile = _AfterAnswer(self.rfile, self)  # type: ignore[assignment]
        return environ

    # -- the answer --------------------------------------------------------------------------------

    def send_response(self, code: int, message: str | None = None) -> None:
        self._answer_started(code)
        super().send_response(code, message)

    def send_header(self, keyword: str, value: str) -> None:
        """Notes the body's framing; werkzeug's ``Connection: close`` is left out when the connection may
        serve another request."""
        name = keyword.lower()
        if name == "connection" and value.lower() == "close" and self._may_keep():
            self.keeping = True
            return
        if name == "content-length":
            self.declared = int(value) if value.isascii() and value.isdigit() else None
        elif name == "transfer-encoding":
            self.chunked = value.lower() == "chunked"
        super().send_header(keyword, value)

    def end_headers(self) -> None:
        super().end_headers()
        self.in_body = True
        self.bodyless = self.command == "HEAD" or self.answer_status in _BODYLESS
        self.broken_before = bool(self.environ.get(_BROKEN))

    def _may_keep(self) -> bool:
        """_KEEP is set only for a request admitted (no malformed header, no transfer coding but chunked) whose
        body, not chunked, was read to its end: what is left is the client's say."""
        return bool(self.environ.get(_KEEP) and self.request_version == "HTTP/1.1" and not self.close_connection)

    def _framed(self) -> bool:
        """Whether the answer's body was exactly what its headers declared."""
        if self.overrun or self.answer_status < 200:  # a 1xx is never a final answer
            return False
        return self.bodyless or self.chunked or (self.declared is not None and self.written == self.declared)

    # -- logs and dates ----------------------------------------------------------------------------

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One access-log line, only when the gateway logs them (``--access-log``): werkzeug formats it first."""
        if getattr(self.server, "access_log", True):
            super().log_request(code, size)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header: formatted once a second, not once a request."""
        return _http_date(int(time.time() if timestamp is None else timestamp))

    def log_error(self, format: str, *args: Any) -> None:
        """A connection that sent no request in time is not an error."""
        if not format.startswith("Request timed out"):
            super().log_error(format, *args)


def _malformed(defects: list[email.errors.MessageDefect]) -> bool:
    """Whether the parser met a malformed header line (the headers after it are lost to it); the other
    defects it reports are of a MIME body, which a request's headers do not have."""
    return any(isinstance(defect, _HEADER_DEFECTS) for defect in defects)


_HEADER_DEFECTS = (email.errors.MissingHeaderBodySeparatorDefect, email.errors.FirstHeaderLineIsContinuationDefect)


@functools.lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    return email.utils.formatdate(second, usegmt=True)
