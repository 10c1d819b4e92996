"""Out-of-process injection: moto's server application wrapped in a fault middleware.

One process, no second hop: each request is recognised (service, region, operation, bucket),
decided by the same engine as the hook injector, and either answered with an AWS-shaped error
(moto never sees it), delayed, dropped, held until the client gives up, or passed to moto. Any
SDK in any language points ``AWS_ENDPOINT_URL`` at it. The control API lives under ``/_chaos/``.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlsplit

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.models import s3_backends
from werkzeug.serving import make_server

from chaos.engine.call import Call
from chaos.engine.decision import Action, Decision, ErrorSpec
from chaos.engine.fault import Fault, FaultKind
from chaos.engine.render import error_spec, render_error
from chaos.errors import ConfigError
from chaos.guardrails import Limits
from chaos.injectors.admission import ADMIN_PREFIXES, CONTROL_PREFIX, Admission, Refused, is_loopback
from chaos.injectors.backend import CALL_KEY, Backend
from chaos.injectors.base import EngineInjector
from chaos.injectors.connection import (
    BODY_ERRORS,
    BodyTooLarge,
    WsgiApp,
    body_pending,
    discard_body,
    drop,
    frame_body,
    hold,
    read_body,
)
from chaos.injectors.control import MAX_BODY, ControlApi, error
from chaos.injectors.http_calls import HttpRequest, describe, headers_from_environ
from chaos.injectors.keepalive import KeepAliveHandler, allow_keep_alive, answer_then_close
from chaos.model import Guardrails

__all__ = ["DEFAULT_HOLD", "MAX_FORM_BODY", "FaultMiddleware", "GatewayInjector", "GatewayServer", "is_loopback"]

StartResponse = Callable[..., Any]

#: How long a ``timeout`` or ``lost_response`` holds a request when the fault sets no wait.
DEFAULT_HOLD = 60.0
#: The largest form-encoded (query-protocol) body the gateway reads to find the operation; no AWS
#: query API takes more than a few MiB.
MAX_FORM_BODY = 16 * 1024 * 1024
_REFUSAL_CODES = {400: "BadRequest", 401: "AccessDenied", 413: "RequestEntityTooLarge", 415: "BadRequest"}


def _bucket_region(bucket: str) -> str | None:
    """The region moto's S3 backend holds ``bucket`` in, if it holds it."""
    for account in list(s3_backends.keys()):
        for backend in list(s3_backends[account].values()):
            found = backend.buckets.get(bucket)
            if found is not None:
                return str(found.region_name)
    return None


def _no_region(bucket: str) -> str | None:
    return None


def _reset_moto() -> None:
    moto_api_backend.reset()


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

    def wrap(
        self, app: WsgiApp, token: str | None = None, limits: Limits | None = None, backend: Backend | None = None
    ) -> FaultMiddleware:
        """``app`` (moto's WSGI application, or ``backend``) behind this injector's faults and control API.

        ``limits``: the guardrails every fault armed through the control API must keep (default: the
        working directory's ``[tool.chaos]``).
        """
        if backend is None:
            return FaultMiddleware(app, self, ControlApi(self, _reset_moto, limits=limits), Admission(token))
        control = ControlApi(self, backend.reset, limits=limits, health=backend.health)
        return FaultMiddleware(backend, self, control, Admission(token), bucket_region=backend.bucket_region)


@functools.lru_cache(maxsize=64)
def _status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Error"


class FaultMiddleware:
    """The WSGI middleware: admission, control API, request recognition, fault decisions, then moto."""

    def __init__(
        self,
        app: WsgiApp,
        injector: GatewayInjector,
        control: ControlApi,
        admission: Admission,
        bucket_region: Callable[[str], str | None] = _bucket_region,
    ) -> None:
        self.app = app
        self.injector = injector
        self.control = control
        self.admission = admission
        self.bucket_region = bucket_region

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        try:
            length = self.admission.admit(environ)
        except Refused as refused:
            return self._refuse(environ, start_response, refused)
        body = frame_body(environ, length)
        if path.startswith(CONTROL_PREFIX):
            return self._control(environ, start_response, body, length)
        if path.startswith(ADMIN_PREFIXES):
            return self._pass(environ, start_response, body)
        return self._aws(environ, start_response, body, length)

    def _pass(self, environ: dict[str, Any], start_response: StartResponse, body: IO[bytes]) -> Iterable[bytes]:
        """The request to moto (or the upstream); a body it could not read (broken chunks) is a 400."""
        try:
            answer = self.app(environ, start_response)
        except BODY_ERRORS:
            if not body_pending(body):
                raise
            refused = Refused(400, "body", "the connection ended before the body did, or its chunks are broken")
            return self._refuse(environ, start_response, refused)
        allow_keep_alive(environ, body)
        return answer

    def _aws(
        self, environ: dict[str, Any], start_response: StartResponse, body: IO[bytes], length: int | None
    ) -> Iterable[bytes]:
        headers = headers_from_environ(environ)
        request = _request(environ, headers)
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            # Query-protocol calls name their operation in the body: read it (bounded), then hand it to moto.
            try:
                if length is not None and length > MAX_FORM_BODY:
                    raise BodyTooLarge(f"{length} bytes")
                form = read_body(body, MAX_FORM_BODY)
            except BodyTooLarge:
                refused = Refused(413, "Content-Length", f"a form-encoded body over {MAX_FORM_BODY} bytes")
                return self._refuse(environ, start_response, refused, request)
            except BODY_ERRORS:
                refused = Refused(400, "body", "the connection ended before the body did, or broken chunks")
                return self._refuse(environ, start_response, refused, request)
            environ["wsgi.input"] = io.BytesIO(form)
            environ["CONTENT_LENGTH"] = str(len(form))
            request = _request(environ, headers, form)
        call = describe(request, self.bucket_region)
        environ[CALL_KEY] = call  # a backend that forwards needs it too
        decision = self.injector.decide(call)
        action = decision.action
        if action is Action.PASS:
            return self._pass(environ, start_response, body)
        if action is Action.DELAY:
            self.injector._sleep(decision.delay or 0.0)
            return self._pass(environ, start_response, body)
        if action is Action.ERROR:
            assert decision.error is not None
            answer = self._error(environ, start_response, decision.error, call.service, call.operation)
            allow_keep_alive(environ, body)  # a body left unread: the connection closes after the answer
            return answer
        if action is Action.LOST_RESPONSE:
            result = self.app(environ, lambda *args, **kwargs: None)
            try:
                for _ in result:  # run moto to the end: the write happens
                    pass
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        # Every drop reads the rest of the body first (moto may have read it all): never parsed as a request.
        discard_body(environ, body)
        if action is not Action.CONNECTION_ERROR:
            # timeout and lost_response: the client has sent everything and waits for an answer that never comes.
            hold(environ, decision.delay if decision.delay is not None else self.injector.hold, self.injector._sleep)
        drop(environ)

    @staticmethod
    def _error(
        environ: dict[str, Any], start_response: StartResponse, spec: ErrorSpec, service: str, operation: str
    ) -> Iterable[bytes]:
        rendered = render_error(spec, service, operation if operation != "Unknown" else None)
        payload = b"" if environ.get("REQUEST_METHOD") == "HEAD" else rendered.body
        start_response(
            _status(rendered.status), [*rendered.headers.items(), ("Content-Length", str(len(rendered.body)))]
        )
        return [payload]

    def _refuse(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        refused: Refused,
        request: HttpRequest | None = None,
    ) -> Iterable[bytes]:
        """Answer a refused request (JSON on the administrative APIs, the service's error shape on AWS calls)
        and close its connection without reading its body."""
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN_PREFIXES):
            status, payload = error(refused.status, refused.field, refused.message)
            data = _json(payload)
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
            start_response(_status(status), headers)
        else:
            call = describe(request or _request(environ, headers_from_environ(environ)), self.bucket_region)
            modeled = error_spec(FaultKind.ACCESS_DENIED, call.service) if refused.status == 403 else None
            code = modeled.code if modeled else _REFUSAL_CODES.get(refused.status, "BadRequest")
            spec = ErrorSpec(refused.status, code, str(refused), sender_fault=True)
            rendered = render_error(spec, call.service, call.operation if call.operation != "Unknown" else None)
            data = rendered.body
            start_response(
                _status(rendered.status), [*rendered.headers.items(), ("Content-Length", str(len(rendered.body)))]
            )
        if environ.get("REQUEST_METHOD") == "HEAD":
            data = b""
        return answer_then_close(environ, data)

    def _control(
        self, environ: dict[str, Any], start_response: StartResponse, body: IO[bytes], length: int | None
    ) -> Iterable[bytes]:
        if length is not None and length > MAX_BODY:
            refused = Refused(413, "Content-Length", f"{length} bytes; control requests are at most {MAX_BODY} bytes")
            return self._refuse(environ, start_response, refused)
        try:
            data = read_body(body, MAX_BODY)
        except BodyTooLarge:
            return self._refuse(environ, start_response, Refused(413, "body", f"more than {MAX_BODY} bytes"))
        except BODY_ERRORS:
            refused = Refused(400, "body", "the connection ended before the body did, or its chunks are broken")
            return self._refuse(environ, start_response, refused)
        status, payload = self.control.handle(
            environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""), data, environ.get("QUERY_STRING", "")
        )
        answer = _json(payload)
        start_response(_status(status), [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
        allow_keep_alive(environ, body)
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else answer]


def _json(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload, indent=2) + "\n").encode()


def _request(environ: dict[str, Any], headers: dict[str, str], body: bytes = b"") -> HttpRequest:
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", ""))
    if raw[:8].lower().startswith(("http://", "https://")):  # an absolute URL (its host is the Host)
        target = urlsplit(raw)
        raw_path, query = target.path or "/", target.query
    else:
        raw_path, _, query = raw.partition("?")
    return HttpRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        host=headers.get("host", ""),
        path=raw_path,
        query=query or environ.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
    )


class GatewayServer:
    """The gateway as a threaded HTTP server: moto's app, or ``backend`` (an upstream), behind a
    :class:`GatewayInjector`."""

    def __init__(
        self,
        injector: GatewayInjector,
        host: str = "127.0.0.1",
        port: int = 4566,
        token: str | None = None,
        access_log: bool = False,
        limits: Limits | None = None,
        backend: Backend | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        if not is_loopback(host) and not token:
            raise ConfigError(f"--host {host} is not loopback: the control API would be open; set --token")
        if not is_loopback(host) and backend is not None and backend.lends_credentials:
            raise ConfigError(
                f"--host {host} is not loopback: every machine that reaches it would call {backend.label} with the "
                "gateway's credentials; bind loopback (tunnel to it), or forward untouched with --no-resign"
            )
        self.injector = injector
        self.backend = backend
        if not access_log:
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._moto: WsgiApp | None = None
        if backend is None:
            self._moto = DomainDispatcherApplication(create_backend_app)
        app: WsgiApp = backend if backend is not None else self._moto  # type: ignore[assignment]
        self.server = make_server(
            host,
            port,
            injector.wrap(app, token, limits, backend),
            threaded=True,
            request_handler=KeepAliveHandler,
            fd=None if sock is None else sock.fileno(),  # a socket already listening (the caller closes its copy)
        )
        self.server.daemon_threads = True  # type: ignore[attr-defined]  # socketserver.ThreadingMixIn
        self.server.access_log = access_log  # type: ignore[attr-defined]  # read by KeepAliveHandler.log_request
        self.host = host
        self.port = int(self.server.socket.getsockname()[1])  # also when given a listening socket
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

    def start(self, warm: bool = True) -> GatewayServer:
        """Serve in a background thread; S3's first request is prepared meanwhile (see :meth:`warm`).

        Other services' recognition tables are built when a request first needs them (most requests need
        only their own service's): warming every service's model held hundreds of MB for the gateway's life.
        """
        if warm:
            threading.Thread(target=self.warm, name="outage-gateway-warm", daemon=True).start()
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="outage-gateway", daemon=True
        )  # stop() waits for the loop to notice: 50 ms, not socketserver's 0.5 s
        self._thread.start()
        return self

    def warm(self) -> None:
        """Do the slow part of the first S3 request now (moto creates S3's backend and application on the
        first one: 0.5-1.5 s, longer than many clients' read timeout), straight to moto: no ledger entry."""
        from werkzeug.test import Client  # noqa: PLC0415

        scope = "Credential=warm/20200101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
        headers = {"Host": "s3.amazonaws.com", "Authorization": f"AWS4-HMAC-SHA256 {scope}"}
        try:
            if self._moto is not None:  # an upstream answers for itself
                Client(self._moto).get("/", headers=headers)
            for method in ("PUT", "GET"):  # and our recognition of S3 requests (routes, global endpoints)
                describe(HttpRequest(method, "127.0.0.1", "/warm-bucket/key", "", {"authorization": scope}), _no_region)
        except Exception:  # warming is an optimisation: the first request would do it anyway
            logging.getLogger(__name__).debug("warming moto's S3 failed", exc_info=True)

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` is called from another."""
        self.server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.backend is not None:
            self.backend.close()

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
