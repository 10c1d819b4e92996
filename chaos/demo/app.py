"""The demo document service over HTTP: ``PUT /docs/{id}``, ``GET /docs/{id}``, ``GET /health``.

The application itself is the WSGI app of :mod:`chaos.demo.wsgi`; this serves it with the standard
library's WSGI server, threaded, and reads its AWS endpoint from ``AWS_ENDPOINT_URL`` like any
SDK-based application.
"""

from __future__ import annotations

from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.simple_server import make_server as wsgi_server

from chaos.demo import wsgi

__all__ = ["make_server"]


class _Quiet(WSGIRequestHandler):
    # Headers and body leave in separate writes; with Nagle's algorithm on, each answer would wait
    # for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a load test makes thousands of requests."""


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def server_close(self) -> None:
        super().server_close()
        close = getattr(self.get_app(), "close", None)
        if callable(close):
            close()


def make_server(variant: str, port: int, host: str = "127.0.0.1", spool: Any = None) -> _Server:
    """The demo service, ready to ``serve_forever``."""
    if variant not in ("naive", "resilient"):
        raise ValueError(f"variant must be naive or resilient, not {variant!r}")
    application = wsgi.naive() if variant == "naive" else wsgi.resilient(spool)
    server = wsgi_server(host, port, application, server_class=_Server, handler_class=_Quiet)
    assert isinstance(server, _Server)
    return server
