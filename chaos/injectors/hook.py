"""In-process injection: faults decided inside botocore, before moto and before the network.

While any injection is armed, botocore's ``Endpoint._do_get_response`` (the step that emits
``before-send`` and then sends) is wrapped, so every client in the process is covered, including
clients created before the injection began. The wrapper runs before every ``before-send`` handler,
moto's included: an injected error is parsed by botocore's own parser exactly as a real answer
would be, and the backend never sees the call. The original method is restored when the last
injection ends.

An injection scoped to a boto3 Session covers the clients created from that session once it is
scoped (botocore gives each client a copy of its session's event system when it is created).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

import botocore.endpoint
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from chaos.engine.botodata import GLOBAL_REGION, global_services
from chaos.engine.call import Call
from chaos.engine.decision import PASS, Action, Decision
from chaos.engine.fault import Fault
from chaos.engine.render import render_error
from chaos.injectors import timewarp
from chaos.injectors.base import EngineInjector, flatten
from chaos.injectors.exempt import EXEMPT_ATTRIBUTE
from chaos.model import Guardrails

__all__ = ["HookInjector", "flatten", "is_patched"]

_SCOPE_ATTR = "_chaos_scope"
_REGION_ATTR = "_chaos_signed_region"
_GLOBAL_ATTR = "_chaos_global_endpoint"
# The step of botocore's Endpoint that emits before-send and then sends (botocore.endpoint).
_SEND_STEP = "_do_get_response"
_DEFAULT_READ_TIMEOUT = 60.0
_GLOBAL_STS_HOST = "sts.amazonaws.com"


class _Dispatch:
    """The process-wide wrapper around botocore's send step, installed while any injection is armed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: tuple[HookInjector, ...] = ()
        # Replaced together with ``active`` (one attribute, read once per call): whether any
        # injection is scoped to a session, so the common global case skips the scope lookup.
        self.state: tuple[tuple[HookInjector, ...], bool] = ((), False)
        self.original: Callable[..., Any] | None = None

    def _set(self, active: tuple[HookInjector, ...]) -> None:
        self.active = active
        self.state = (active, any(injector.scope is not None for injector in active))

    def add(self, injector: HookInjector) -> None:
        with self.lock:
            if not self.active:
                self.original = getattr(botocore.endpoint.Endpoint, _SEND_STEP)
                setattr(botocore.endpoint.Endpoint, _SEND_STEP, _do_get_response)
            self._set((*self.active, injector))

    def remove(self, injector: HookInjector) -> None:
        with self.lock:
            if injector not in self.active:
                return
            self._set(tuple(item for item in self.active if item is not injector))
            if not self.active and self.original is not None:
                setattr(botocore.endpoint.Endpoint, _SEND_STEP, self.original)
                self.original = None


_DISPATCH = _Dispatch()


def is_patched() -> bool:
    """Whether the hook is installed in botocore now (any injection armed)."""
    return getattr(botocore.endpoint.Endpoint, _SEND_STEP) is _do_get_response


def _describe(endpoint: Any, request: Any, operation_model: Any, context: dict[str, Any]) -> Call:
    # The region is the one the request is signed for: the endpoint rules' signing region when
    # they give one (S3 always), else the region of the signature. Calls to global endpoints (not
    # S3's) are in aws-global. What is fixed for a client is remembered on its endpoint: this runs
    # on every call.
    service = operation_model.service_model.service_name
    bucket = key = None
    if service == "s3":
        signing = context.get("signing")
        region = (signing.get("region") if signing else None) or _signed_region(endpoint, request, context)
        params = context.get("input_params") or {}
        bucket, key = params.get("Bucket"), params.get("Key")
        host = _host(request.url)
        global_endpoint = host == "s3.amazonaws.com" or host.endswith(".s3.amazonaws.com")
    else:
        known: bool | None = getattr(endpoint, _GLOBAL_ATTR, None)
        if known is None:
            known = _global(service, context.get("client_region") or "", request.url)
            setattr(endpoint, _GLOBAL_ATTR, known)
        global_endpoint = known
        if known:
            region = GLOBAL_REGION
        else:
            signing = context.get("signing")
            region = (signing.get("region") if signing else None) or _signed_region(endpoint, request, context)
    retries = context.get("retries") or {}
    return Call(
        service,
        operation_model.name,
        region,
        bucket,
        key,
        retries.get("attempt", 1),
        retries.get("invocation-id"),
        global_endpoint,
    )


def _global(service: str, client_region: str, url: str) -> bool:
    """Whether a call (not S3) goes to a global endpoint living in us-east-1: IAM, global STS...

    Clients botocore puts in ``aws-global``; the services that have only a global endpoint, also
    behind an ``endpoint_url`` (as the gateway sees them), but not the global endpoints of other
    partitions (``aws-cn-global``); STS when it is sent to ``sts.amazonaws.com`` (legacy
    ``sts_regional_endpoints``, or an ``endpoint_url`` there), whatever its client's region.
    """
    if client_region == GLOBAL_REGION:
        return True
    if service == "sts":
        return _host(url) == _GLOBAL_STS_HOST
    return service in global_services() and not client_region.endswith("-global")


def _signed_region(endpoint: Any, request: Any, context: dict[str, Any]) -> str:
    """The region of the SigV4 credential scope in the Authorization header (the client's signer's,
    so remembered on its endpoint); for an unsigned call, the client's region."""
    region: str | None = getattr(endpoint, _REGION_ATTR, None)
    if region is not None:
        return region
    auth = request.headers.get("Authorization")
    if isinstance(auth, bytes):  # as botocore prepares it
        auth = auth.decode("ascii", "replace")
    start = auth.find("Credential=") if isinstance(auth, str) else -1
    if start >= 0:
        # Credential=AKID/20170228/us-east-1/s3/aws4_request (SigV4a has no region: four parts)
        parts = auth[start + 11 :].split("/", 4)
        if len(parts) == 5:
            region = str(parts[2])
            setattr(endpoint, _REGION_ATTR, region)
            return region
    return str(context.get("client_region") or "")


def _host(url: str) -> str:
    """The host of a URL; cheaper than urlsplit on the path of every call."""
    start = url.find("://") + 3
    end = url.find("/", start)
    host = url[start:] if end < 0 else url[start:end]
    return host.rsplit(":", 1)[0] if ":" in host else host


def _scope_of(emitter: Any) -> object | None:
    inner = getattr(emitter, "_emitter", emitter)
    return getattr(inner, "__dict__", {}).get(_SCOPE_ATTR)


def _session_scope(session: Any) -> object:
    """The scope token of a boto3 or botocore Session, created on first use."""
    botocore_session = getattr(session, "_session", session)
    emitter = botocore_session.get_component("event_emitter")
    inner = getattr(emitter, "_emitter", emitter)
    token = inner.__dict__.get(_SCOPE_ATTR)
    if token is None:
        token = object()
        # Clients copy their session's emitter (and its __dict__) when they are created.
        inner.__dict__[_SCOPE_ATTR] = token
    return token


def _do_get_response(endpoint: Any, request: Any, operation_model: Any, context: dict[str, Any]) -> Any:
    original = _DISPATCH.original
    active, scoped = _DISPATCH.state
    if original is None:  # disarmed between the lookup of this method and its call
        original = getattr(botocore.endpoint.Endpoint, _SEND_STEP)
    if not active or getattr(endpoint, EXEMPT_ATTRIBUTE, False):  # the runner's own monitoring: never touched
        return original(endpoint, request, operation_model, context)
    applicable = active
    if scoped:
        scope = _scope_of(endpoint._event_emitter)
        applicable = tuple(inj for inj in active if inj.scope is None or inj.scope is scope)
        if not applicable:
            return original(endpoint, request, operation_model, context)
    call = _describe(endpoint, request, operation_model, context)
    decision, owner = PASS, applicable[-1]
    for injector in reversed(applicable):  # the innermost injection decides first
        candidate = injector.engine.decide(call)
        if candidate.fired:
            decision, owner = candidate, injector
            break
    for injector in applicable:
        injector.ledger.record(call, decision)
    return owner.apply(decision, original, endpoint, request, operation_model, context)


class _RawBody(io.BytesIO):
    """The raw body botocore reads an injected response from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


class _AnsweringEmitter:
    """The endpoint's event system, except that ``before-send`` is answered with our response."""

    def __init__(self, emitter: Any, response: AWSResponse) -> None:
        self._emitter = emitter
        self._response = response

    def emit(self, event_name: str, **kwargs: Any) -> Any:
        if event_name.startswith("before-send."):
            return [(None, self._response)]
        return self._emitter.emit(event_name, **kwargs)


class _AnsweringEndpoint:
    """Stands in for an Endpoint for one call so botocore parses our response on its usual path."""

    def __init__(self, endpoint: Any, response: AWSResponse) -> None:
        self._event_emitter = _AnsweringEmitter(endpoint._event_emitter, response)
        self._response_parser_factory = endpoint._response_parser_factory
        self._add_modeled_error_fields = endpoint._add_modeled_error_fields

    def _send(self, request: Any) -> Any:  # pragma: no cover - the response is always answered
        raise AssertionError("an injected error must never reach the network")


def _read_timeout(context: dict[str, Any]) -> float:
    config = context.get("client_config")
    timeout = getattr(config, "read_timeout", None)
    return float(timeout) if timeout is not None else _DEFAULT_READ_TIMEOUT


class HookInjector(EngineInjector):
    """Faults injected into every botocore client of this process (or of one session).

    A context manager: arms on enter (through the guardrail gate: the project's ``[tool.chaos]``
    applies here too), disarms on exit (also when the body raised). Nests: the innermost injection
    decides first; every armed injection records the calls it covers.
    """

    name = "hook"

    def __init__(
        self,
        faults: Iterable[Fault | Iterable[Fault]] = (),
        *,
        session: Any = None,
        seed: int | None = None,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = timewarp.sleep,
        max_events: int = 10_000,
        guardrails: Guardrails | None = None,
    ) -> None:
        super().__init__(faults, seed=seed, now=now, max_events=max_events, guardrails=guardrails)
        self.scope: object | None = None if session is None else _session_scope(session)
        self._sleep = sleep

    def active_count(self) -> int:
        """Faults active or still to come in every injection armed in this process (nested ``with`` blocks,
        scoped sessions, a test's controller): ``max_concurrent_faults`` counts them all."""
        injectors = {*_DISPATCH.active, *((self,) if self.armed else ())}
        return sum(EngineInjector.active_count(injector) for injector in injectors)

    def _start(self) -> None:
        global_services()  # read botocore's endpoint data now, not during the first call
        _DISPATCH.add(self)

    def _stop(self) -> None:
        _DISPATCH.remove(self)

    def __enter__(self) -> HookInjector:
        self.arm()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.disarm()

    def apply(
        self,
        decision: Decision,
        original: Callable[..., Any],
        endpoint: Any,
        request: Any,
        operation_model: Any,
        context: dict[str, Any],
    ) -> Any:
        """Carry out ``decision`` for one request; returns what ``_do_get_response`` returns."""
        action = decision.action
        if action is Action.PASS:
            return original(endpoint, request, operation_model, context)
        if action is Action.DELAY:
            self._sleep(decision.delay or 0.0)
            return original(endpoint, request, operation_model, context)
        if action is Action.ERROR:
            assert decision.error is not None
            rendered = render_error(decision.error, operation_model.service_model.service_name, operation_model.name)
            headers = HTTPHeaders()
            for name, value in rendered.headers.items():
                headers[name] = value
            response = AWSResponse(request.url, rendered.status, headers, _RawBody(rendered.body))
            return original(_AnsweringEndpoint(endpoint, response), request, operation_model, context)
        if action is Action.CONNECTION_ERROR:
            return None, EndpointConnectionError(endpoint_url=request.url)
        if action is Action.LOST_RESPONSE:
            result, _ = original(endpoint, request, operation_model, context)
            if result is not None and result[0] is not None:
                result[0].raw.close()
        self._sleep(decision.delay if decision.delay is not None else _read_timeout(context))
        return None, ReadTimeoutError(endpoint_url=request.url)
