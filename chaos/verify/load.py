"""The load generator: a steady rate of weighted requests, through clients no injector can touch.

Open loop: request k is due at ``start + k / rate`` whatever happened to the ones before, and its
latency counts from when it was due, so a stalled application shows up as latency, not as a
politely slower load. At most ``concurrency`` requests are in flight. Plain ``http.client``
connections straight to the application: no AWS SDK, nothing an injector can reach.

A load thread that fails (a bug, never the application's answer: that is recorded) does not end
the load silently: the first failure is kept in ``error``, every thread stops, ``on_error`` is told,
and ``raise_for_error()`` turns it into :class:`LoadFailed`, so that a run is not judged on a load
that was never sent.
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from chaos.errors import ChaosError
from chaos.model import Load, RequestSpec
from chaos.verify.log import RequestLog, Sample

__all__ = ["LoadFailed", "LoadGenerator"]


class LoadFailed(ChaosError):
    """The load generator itself failed: the load was not sent, so the run cannot be judged."""


class _Connection(http.client.HTTPConnection):
    """A keep-alive connection with Nagle's algorithm off: small requests leave at once."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class LoadGenerator:
    """Sends the experiment's load to the application and records every request in a RequestLog."""

    def __init__(
        self,
        load: Load,
        base_url: str,
        log: RequestLog,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        origin: float | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.load = load
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.log = log
        self.clock = clock
        self.origin = clock() if origin is None else origin
        self.phase = "baseline"
        self._random = random.Random(seed)
        self._weights = [spec.weight for spec in load.requests]
        self._lock = threading.Lock()
        self._next = 0
        self._start = 0.0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._on_error = on_error
        self.sent = 0
        self.error: str | None = None
        """The first failure of a load thread, ``"TypeName: message"``; None while the load runs as it should."""

    def start(self) -> None:
        """Start sending, now."""
        self._start = self.clock()
        self._threads = [
            threading.Thread(target=self._worker, name=f"load-{index}", daemon=True)
            for index in range(self.load.concurrency)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop sending and wait for the requests in flight (each bounded by the load timeout)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.load.timeout + 5)

    def _slot(self) -> tuple[float, RequestSpec, str]:
        with self._lock:
            due = self._start + self._next / self.load.rate
            self._next += 1
            spec = self._random.choices(self.load.requests, self._weights)[0]
            doc_id = str(self._random.randrange(self.load.ids))
        return due, spec, doc_id

    def raise_for_error(self) -> None:
        """Raise :class:`LoadFailed` ("the load generator failed: ...") if a load thread failed."""
        if self.error is not None:
            raise LoadFailed(f"the load generator failed: {self.error}")

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            first = self.error is None
            if first:
                self.error = f"{type(exc).__name__}: {exc}"
        self._stop.set()  # every thread stops: half a load would be judged as a whole one
        if first and self._on_error is not None and self.error is not None:
            self._on_error(self.error)

    def _worker(self) -> None:
        connection: http.client.HTTPConnection | None = None
        try:
            while not self._stop.is_set():
                due, spec, doc_id = self._slot()
                wait = due - self.clock()
                if wait > 0 and self._stop.wait(wait):
                    break
                if connection is None:
                    connection = _Connection(self.host, self.port, timeout=self.load.timeout)
                connection = self._send(connection, due, spec, doc_id)
        except Exception as exc:  # a bug in the load, not the application's answer: say so, do not go quiet
            self._failed(exc)
        finally:
            if connection is not None:
                connection.close()

    def _send(
        self, connection: http.client.HTTPConnection, due: float, spec: RequestSpec, doc_id: str
    ) -> http.client.HTTPConnection | None:
        path = self.prefix + spec.path.replace("{id}", doc_id)
        body = spec.body.replace("{id}", doc_id).encode() if spec.body is not None else None
        written_before = self.log.written(doc_id)
        phase = self.phase
        status: int | None = None
        error: str | None = None
        keep: http.client.HTTPConnection | None = connection
        try:
            connection.request(spec.method, path, body=body, headers=spec.headers)
            response = connection.getresponse()
            response.read()
            status = response.status
            if response.will_close:
                connection.close()
                keep = None
        except TimeoutError:
            error, keep = "timeout", None
        except (OSError, http.client.HTTPException) as exc:
            error, keep = f"no answer ({type(exc).__name__})", None
        if keep is None:
            connection.close()
        end = self.clock()
        self.sent += 1
        self.log.add(
            Sample(
                start=due - self.origin,
                latency=end - due,
                status=status,
                error=error,
                phase=phase,
                method=spec.method,
                doc_id=doc_id,
                written_before=written_before,
                body=body,
            )
        )
        return keep
