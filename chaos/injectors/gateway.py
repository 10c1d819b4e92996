"""Out-of-process injection: moto's server application wrapped in a fault middleware.

One process, no second hop: each request is recognised (service, region, operation, bucket),
decided by the same engine as the hook injector, and either answered with an AWS-shaped error
(moto never sees it), delayed, dropped, held until the client gives up, or passed to moto. Any
SDK in any language points ``AWS_ENDPOINT_URL`` at it. The control API lives under ``/_chaos/``.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from types import TracebackType
from typing import Any, NoReturn

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.s3.models import s3_backends
from werkzeug.serving import make_server

from chaos.engine.call import Call
from chaos.engine.decision import Action, Decision
from chaos.engine.fault import Fault
from chaos.engine.render import render_error
from chaos.errors import ConfigError
from chaos.injectors.base import EngineInjector
from chaos.injectors.control import ControlApi
from chaos.injectors.http_calls import HttpRequest, describe, headers_from_environ, warm_service_names
from chaos.model import Guardrails

__all__ = ["GatewayInjector", "GatewayServer", "is_loopback"]

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

#: How long a ``timeout`` or ``lost_response`` holds a request when the fault sets no wait.
DEFAULT_HOLD = 60.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (the control API needs no token there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bucket_region(bucket: str) -> str | None:
    """The region moto's S3 backend holds ``bucket`` in, if it holds it."""
    for account in list(s3_backends.keys()):
        for backend in list(s3_backends[account].values()):
            found = backend.buckets.get(bucket)
            if found is not None:
                return str(found.region_name)
    return None


def _reset_moto() -> None:
    moto_api_backend.reset()


class _Dropped(ConnectionAbortedError):
    """Raised to end a request whose connection the gateway closed on purpose (no answer)."""


class GatewayInjector(EngineInjector):
    """Faults injected into requests that reach moto through the gateway."""

    name = "gateway"

    def __init__(
        self,
        faults: Iterable[Fault | Iterable[Fault]] = (),
        *,
        seed: int | None = None,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_events: int = 10_000,
        hold: float = DEFAULT_HOLD,
        guardrails: Guardrails | None = None,
    ) -> None:
        super().__init__(faults, seed=seed, now=now, max_events=max_events, guardrails=guardrails)
        self.hold = hold
        self._sleep = sleep

    def decide(self, call: Call) -> Decision:
        """Decide for one call and record it."""
        decision = self.engine.decide(call)
        self.ledger.record(call, decision)
        return decision

    def wrap(self, app: WsgiApp, token: str | None = None) -> FaultMiddleware:
        """``app`` (moto's WSGI application) behind this injector's faults and control API."""
        return FaultMiddleware(app, self, ControlApi(self, _reset_moto, token))


def _status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Error"


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bytes(stream.read(int(length)))
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    return b""


class FaultMiddleware:
    """The WSGI middleware: control API, request recognition, fault decisions, then moto."""

    def __init__(self, app: WsgiApp, injector: GatewayInjector, control: ControlApi) -> None:
        self.app = app
        self.injector = injector
        self.control = control

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_chaos"):
            return self._control(environ, start_response)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        headers = headers_from_environ(environ)
        body = b""
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            body = _read_body(environ)  # query-protocol calls name their operation in the body
            environ["wsgi.input"] = io.BytesIO(body)
        raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or path)
        raw_path, _, query = raw.partition("?")
        request = HttpRequest(
            method=environ.get("REQUEST_METHOD", "GET"),
            host=headers.get("host", ""),
            path=raw_path,
            query=query or environ.get("QUERY_STRING", ""),
            headers=headers,
            body=body,
        )
        call = describe(request, _bucket_region)
        decision = self.injector.decide(call)
        action = decision.action
        if action is Action.PASS:
            return self.app(environ, start_response)
        if action is Action.DELAY:
            self.injector._sleep(decision.delay or 0.0)
            return self.app(environ, start_response)
        if action is Action.ERROR:
            assert decision.error is not None
            rendered = render_error(
                decision.error, call.service, call.operation if call.operation != "Unknown" else None
            )
            payload = b"" if request.method == "HEAD" else rendered.body
            response_headers = [*rendered.headers.items(), ("Content-Length", str(len(rendered.body)))]
            start_response(_status(rendered.status), response_headers)
            return [payload]
        if action is Action.CONNECTION_ERROR:
            self._drop(environ)
        if action is Action.LOST_RESPONSE:
            result = self.app(environ, lambda *args, **kwargs: None)
            try:
                for _ in result:  # run moto to the end: the write happens
                    pass
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        _read_body(environ)  # the client finished sending; now it waits for an answer
        self._hold(environ, decision.delay if decision.delay is not None else self.injector.hold)
        self._drop(environ)

    def _hold(self, environ: dict[str, Any], limit: float) -> None:
        """Keep the request unanswered until the client closes the connection or ``limit`` passes."""
        sock: socket.socket | None = environ.get("werkzeug.socket")
        deadline = time.monotonic() + limit
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if sock is None:
                self.injector._sleep(min(remaining, 0.05))
                continue
            try:
                readable, _, _ = select.select([sock], [], [], min(remaining, 0.05))
                if readable and not sock.recv(1, socket.MSG_PEEK):
                    return  # the client gave up
            except (OSError, ValueError):
                return

    def _drop(self, environ: dict[str, Any]) -> NoReturn:
        """Close the connection without an HTTP answer."""
        sock: socket.socket | None = environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise _Dropped("connection closed by an injected fault")

    def _control(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = _read_body(environ)
        status, payload = self.control.handle(
            environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""), body, environ.get("HTTP_AUTHORIZATION")
        )
        data = (json.dumps(payload, indent=2) + "\n").encode()
        start_response(_status(status), [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


class GatewayServer:
    """The gateway as a threaded HTTP server: moto's app behind a :class:`GatewayInjector`."""

    def __init__(
        self,
        injector: GatewayInjector,
        host: str = "127.0.0.1",
        port: int = 4566,
        token: str | None = None,
        access_log: bool = False,
    ) -> None:
        if not is_loopback(host) and not token:
            raise ConfigError(f"--host {host} is not loopback: the control API would be open; set --token")
        self.injector = injector
        if not access_log:
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_app = DomainDispatcherApplication(create_backend_app)
        self.server = make_server(
            host, port, injector.wrap(moto_app, token), threaded=True, request_handler=MotoRequestHandler
        )
        self.server.daemon_threads = True  # type: ignore[attr-defined]  # socketserver.ThreadingMixIn
        self.host = host
        self.port = int(self.server.server_port)
        self._thread: threading.Thread | None = None

    @staticmethod
    def reset_backend() -> None:
        """Forget everything moto holds (buckets, objects, queues...)."""
        _reset_moto()

    @property
    def url(self) -> str:
        """The endpoint SDKs point at."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> GatewayServer:
        """Serve in a background thread."""
        threading.Thread(target=warm_service_names, name="outage-gateway-warm", daemon=True).start()
        self._thread = threading.Thread(target=self.server.serve_forever, name="outage-gateway", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` is called from another."""
        self.server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
