"""The demo document service as WSGI applications: served over HTTP by ``python -m chaos.demo``,
or run in-process with the hook injector.

``outage run`` imports one of these factories (``app.wsgi: "chaos.demo.wsgi:resilient"``), calls it
inside moto's in-process AWS, and serves the application in a thread: the hook injector then fails
the application's boto3 calls inside botocore.
"""

from __future__ import annotations

import json
import re
import tempfile
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from chaos.demo.store import NaiveStore, NotFound, ResilientStore, Unavailable

__all__ = ["naive", "resilient"]

_DOC = re.compile(r"^/docs/([A-Za-z0-9_.-]{1,128})$")
StartResponse = Callable[..., Any]


class _App:
    def __init__(self, variant: str, store: NaiveStore | ResilientStore) -> None:
        self.variant, self.store = variant, store

    def close(self) -> None:
        self.store.close()

    def _answer(
        self, start: StartResponse, status: str, body: bytes, kind: str = "application/json"
    ) -> Iterable[bytes]:
        start(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]

    def _failed(self, start: StartResponse, exc: Exception) -> Iterable[bytes]:
        if self.variant == "naive":
            return self._answer(start, "500 Internal Server Error", traceback.format_exc().encode(), "text/plain")
        body = json.dumps({"error": "temporarily unavailable", "detail": str(exc)}).encode()
        start(
            "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Retry-After", "1"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/health":
            return self._answer(start, "200 OK", json.dumps(self.store.health()).encode())
        match = _DOC.match(path)
        if not match:
            return self._answer(start, "404 Not Found", b'{"error": "no such route"}')
        doc = match.group(1)
        try:
            if method == "PUT":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                outcome = self.store.put(doc, environ["wsgi.input"].read(length))
                status = "202 Accepted" if outcome == "spooled" else "200 OK"
                return self._answer(start, status, json.dumps({"id": doc, "outcome": outcome}).encode())
            return self._answer(start, "200 OK", self.store.get(doc), "application/octet-stream")
        except NotFound:
            return self._answer(start, "404 Not Found", b'{"error": "no such document"}')
        except Unavailable as exc:
            return self._failed(start, exc)
        except Exception as exc:
            return self._failed(start, exc)


def naive() -> _App:
    """The naive variant (one bucket, acknowledged background uploads, 500s)."""
    return _App("naive", NaiveStore())


def resilient(spool: Path | None = None) -> _App:
    """The resilient variant (replica, spool, retry budget, circuit breaker, honest health); without
    ``spool``, its spool is a temporary directory, removed when the application closes with no write in it."""
    if spool is not None:
        return _App("resilient", ResilientStore(spool))
    return _App("resilient", ResilientStore(Path(tempfile.mkdtemp(prefix="chaos-demo-spool-")), temporary=True))
