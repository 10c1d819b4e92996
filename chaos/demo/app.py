"""The demo document service: ``PUT /docs/{id}``, ``GET /docs/{id}``, ``GET /health``.

Standard library HTTP server plus boto3; reads its AWS endpoint from ``AWS_ENDPOINT_URL`` like
any SDK-based application.
"""

from __future__ import annotations

import json
import re
import tempfile
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chaos.demo.store import NaiveStore, NotFound, ResilientStore, Unavailable

__all__ = ["make_server"]

_DOC = re.compile(r"^/docs/([A-Za-z0-9_.-]{1,128})$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm on, each answer would wait for
    # the client's delayed ACK (about 40 ms) on a keep-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a load test makes thousands of requests."""

    def _send(self, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any], **headers: str) -> None:
        self._send(status, json.dumps(payload).encode(), **headers)

    def _failed(self, exc: Exception) -> None:
        if self.server.variant == "naive":
            # What an unhandled exception looks like in many web apps: a 500 and a stack trace.
            self._send(500, traceback.format_exc().encode(), "text/plain")
        else:
            self._json(503, {"error": "temporarily unavailable", "detail": str(exc)}, Retry_After="1")

    def do_GET(self) -> None:
        if self.path == "/health":
            self._json(200, self.server.store.health())
            return
        match = _DOC.match(self.path)
        if not match:
            self._json(404, {"error": "no such route"})
            return
        try:
            body = self.server.store.get(match.group(1))
        except NotFound:
            self._json(404, {"error": "no such document"})
        except Unavailable as exc:
            self._failed(exc)
        except Exception as exc:
            self._failed(exc)
        else:
            self._send(200, body, "application/octet-stream")

    def do_PUT(self) -> None:
        match = _DOC.match(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if not match:
            self._json(404, {"error": "no such route"})
            return
        try:
            outcome = self.server.store.put(match.group(1), body)
        except Exception as exc:
            self._failed(exc)
        else:
            self._json(202 if outcome == "spooled" else 200, {"id": match.group(1), "outcome": outcome})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], variant: str, spool: Path | None) -> None:
        self.variant = variant
        self.store: NaiveStore | ResilientStore
        if variant == "naive":
            self.store = NaiveStore()
        else:
            self.store = ResilientStore(spool or Path(tempfile.mkdtemp(prefix="chaos-demo-spool-")))
        super().__init__(address, _Handler)

    def server_close(self) -> None:
        super().server_close()
        self.store.close()


def make_server(variant: str, port: int, host: str = "127.0.0.1", spool: Path | None = None) -> ThreadingHTTPServer:
    """The demo service, ready to ``serve_forever``."""
    if variant not in ("naive", "resilient"):
        raise ValueError(f"variant must be naive or resilient, not {variant!r}")
    return _Server((host, port), variant, spool)
