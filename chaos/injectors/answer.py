"""One answer on a connection to the gateway, written by its request handler
(:class:`~chaos.injectors.keepalive.KeepAliveHandler`) in place of werkzeug's writer: the head in one
write with the start of the body, the body held to what the head declared, chunked when no length is
declared (to an HTTP/1.1 client; to an older one, the connection's end ends it)."""

from __future__ import annotations

from typing import Any, Protocol

from chaos.injectors.connection import WsgiApp

__all__ = ["KEEP", "Answer", "Connection"]

#: Set in the environ: the request was read to its end, the connection may serve another.
KEEP = "chaos.keep_alive"
_BODYLESS = frozenset({204, 304})
#: A body smaller than this leaves in the same write as the head.
_COALESCE = 16 * 1024


class Connection(Protocol):
    """What an answer needs of the request handler it is written by."""

    command: str
    request_version: str
    protocol_version: str
    access_log: bool

    @property
    def wfile(self) -> Any: ...
    def version_string(self) -> str: ...
    def date_time_string(self, timestamp: float | None = None) -> str: ...
    def may_keep(self) -> bool: ...
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None: ...


class Answer:
    """One answer on the connection, written by the handler (werkzeug's writer closed every connection):
    its head in one write with the start of its body, its body held to what the head declared (no byte
    past a ``Content-Length``, none after a HEAD, a 204 or a 304), chunked when no length is declared."""

    __slots__ = (
        "bodyless",
        "chunked",
        "code",
        "complete",
        "declared",
        "handler",
        "headers",
        "keep",
        "overrun",
        "started",
        "status",
        "written",
    )

    def __init__(self, handler: Connection) -> None:
        self.handler = handler
        self.status: str | None = None
        self.headers: list[tuple[str, str]] | None = None
        self.started = False
        self.code = 0
        self.declared: int | None = None
        self.chunked = False
        self.bodyless = False
        self.written = 0
        self.overrun = False
        self.keep = False
        self.complete = False

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        """PEP 3333's ``start_response``."""
        if exc_info:
            try:
                if self.started:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.headers is not None:
            raise AssertionError("Headers already set")
        self.status = status
        self.headers = headers
        return self.write

    def run(self, app: WsgiApp, environ: dict[str, Any]) -> None:
        """Call the application and write its answer to the end."""
        answer = app(environ, self.start_response)
        try:
            for data in answer:
                self.write(data)
            if not self.started:
                self.write(b"")
            if self.chunked:
                self.handler.wfile.write(b"0\r\n\r\n")
            self.complete = True
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    def write(self, data: bytes) -> None:
        """Write ``data`` of the body (the head first, in the same write when the data is small)."""
        assert isinstance(data, bytes), "applications must write bytes"
        head = b"" if self.started else self._head()
        out = self._body(data) if data else b""
        wfile = self.handler.wfile
        if head and len(out) < _COALESCE:
            wfile.write(head + out)
            return
        if head:
            wfile.write(head)
        if out:
            wfile.write(out)

    def _body(self, data: bytes) -> bytes:
        if self.bodyless:
            return b""  # nothing after a HEAD, 204 or 304
        if self.chunked:
            return b"%x\r\n%s\r\n" % (len(data), data)
        if self.declared is not None:
            room = self.declared - self.written
            if len(data) > room:
                self.overrun = True  # an application (an upstream) that sends more is cut at its length
                data = data[:room]
        self.written += len(data)
        return data

    def _head(self) -> bytes:
        assert self.status is not None and self.headers is not None, "write() before start_response"
        handler = self.handler
        self.started = True
        code_text, _, message = self.status.strip().partition(" ")
        self.code = code = int(code_text)
        self.bodyless = handler.command == "HEAD" or code in _BODYLESS or code < 200
        lines = [
            f"{handler.protocol_version} {code} {message.strip()}\r\nServer: {handler.version_string()}\r\n"
            f"Date: {handler.date_time_string()}\r\n"
        ]
        closing = False
        length_given = False
        for name, value in self.headers:
            lower = name.lower()
            if lower == "connection":
                closing |= "close" in value.lower()
                continue  # the server says what becomes of the connection
            if lower == "transfer-encoding":
                continue  # and frames the body itself
            if lower == "content-length":
                length_given = True
                self.declared = int(value) if value.isascii() and value.isdigit() else None
                closing |= self.declared is None  # a body whose length is not known ends with the connection
            lines.append(f"{name}: {value}\r\n")
        if not length_given and not self.bodyless:
            if handler.request_version == "HTTP/1.1":
                self.chunked = True
                lines.append("Transfer-Encoding: chunked\r\n")
            else:
                closing = True  # an HTTP/1.0 client reads a body without a length to the end of the connection
        self.keep = not closing and handler.may_keep()
        lines.append("\r\n" if self.keep else "Connection: close\r\n\r\n")
        if handler.access_log:
            handler.log_request(code)
        return "".join(lines).encode("latin-1")

    def framed(self) -> bool:
        """Whether the answer was written to its end, exactly as its head declared."""
        if self.overrun or not self.complete or self.code < 200:  # a 1xx is never a final answer
            return False
        return self.bodyless or self.chunked or self.written == self.declared
