"""The record-only hook: a :class:`~chaos.injectors.hook.HookInjector` with no fault that notes every call.

It arms the hook injector like any injection (through the guardrail gate, with nothing to inject)
and lets every call through unchanged; on the way it counts where each call went and how. Per call
that is a few dictionary lookups and one walk up the stack, whose frames are classified once per
code object (SDK, library, application, monitoring code) and remembered; the code location is
formatted only the first time a combination is seen.

What a call is classified by, and why it is honest about it:

* service and operation come from botocore's operation model; the region from the request's
  signing context (S3) or the client's region (``aws-global`` for IAM and the global STS endpoint);
* the resource from the call's parameters (``Bucket``, ``TableName``, ``QueueUrl``...): botocore's
  request context has S3's; the others are read from the frame of botocore's ``_make_api_call`` on
  the stack walked anyway;
* the endpoint is the host the request was built for; ``s3.amazonaws.com``, ``iam.amazonaws.com`` and
  ``sts.amazonaws.com`` are global endpoints served from us-east-1;
* the client's settings are its ``Config`` as botocore resolved it (read and connect timeouts, retry
  mode and attempts);
* monitoring: a frame on the stack whose function, class or module is named like ``health``,
  ``metrics``, ``status``, ``ready`` or ``liveness`` (the audit cannot see which HTTP request a
  thread is serving; it sees which code made the call).
"""

from __future__ import annotations

import inspect
import os
import re
import site
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

from botocore.client import BaseClient

from chaos.audit.observe import ClientSettings, Observation, Site
from chaos.engine.decision import Action, Decision
from chaos.injectors.hook import HookInjector

__all__ = ["MONITORING_WORDS", "RESOURCE_PARAMETERS", "Recorder", "Tally"]

#: Call parameters that name the resource a call is about, and what kind of resource that is.
RESOURCE_PARAMETERS = (
    ("Bucket", "bucket"),
    ("TableName", "table"),
    ("QueueUrl", "queue"),
    ("QueueName", "queue"),
    ("TopicArn", "topic"),
    ("StreamName", "stream"),
    ("FunctionName", "function"),
    ("SecretId", "secret"),
)
#: Words in a function, class or module name that make its calls monitoring calls.
MONITORING_WORDS = frozenset(
    {"health", "healthz", "healthcheck", "metrics", "metric", "status", "ready", "readyz", "readiness"}
    | {"livez", "liveness", "heartbeat"}
)
_GLOBAL_HOSTS = frozenset({"iam.amazonaws.com", "sts.amazonaws.com", "s3.amazonaws.com"})
_SDK, _LIBRARY, _APP = 0, 1, 2
# The frame of botocore's client method that holds the call's parameters (``api_params``): stable since botocore 1.0.
_API_CALL: CodeType = inspect.unwrap(vars(BaseClient)["_make_api_call"]).__code__
_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")


def _directory(module: str) -> str | None:
    found = sys.modules.get(module)
    where = getattr(found, "__file__", None)
    return None if where is None else str(Path(where).resolve().parent) + os.sep


def _prefixes() -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(SDK directories, other library directories, the demo application's directory)."""
    chaos_dir = str(Path(__file__).resolve().parents[1]) + os.sep
    sdk = [chaos_dir, *filter(None, (_directory(name) for name in ("botocore", "boto3", "s3transfer", "urllib3")))]
    library = {sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    library.update(getattr(site, "getsitepackages", list)())
    user = getattr(site, "getusersitepackages", lambda: None)()
    if user:
        library.add(user)
    resolved = tuple(str(Path(path).resolve()) + os.sep for path in library if path)
    return tuple(sdk), resolved, chaos_dir + "demo" + os.sep


def _words(text: str) -> set[str]:
    return set(_WORD.findall(_CAMEL.sub(r"\1_\2", text).lower()))


class _Frames:
    """Classifies code objects once each: SDK, library or application; monitoring or not."""

    def __init__(self) -> None:
        self.sdk, self.library, self.demo = _prefixes()
        self.cwd = str(Path.cwd().resolve()) + os.sep
        self.known: dict[CodeType, tuple[int, Site | None]] = {}

    def classify(self, code: CodeType) -> tuple[int, Site | None]:
        """(SDK, library or application; where it is defined if it is monitoring code, else None)."""
        filename = code.co_filename
        path = filename if filename.startswith("<") else str(Path(filename).resolve())
        if path.startswith("<"):
            kind = _LIBRARY
        elif path.startswith(self.demo):  # the demo application is application code, chaos's own or not
            kind = _APP
        elif path.startswith(self.sdk):
            kind = _SDK
        elif path.startswith(self.library):
            kind = _LIBRARY
        else:
            kind = _APP
        stdlib = kind == _LIBRARY and not ("site-packages" in path or "dist-packages" in path)
        name = getattr(code, "co_qualname", code.co_name)
        monitoring = None
        if kind != _SDK and not stdlib and _words(f"{name} {Path(path).stem}") & MONITORING_WORDS:
            monitoring = Site(self._shown(code.co_filename), code.co_firstlineno, name)
        self.known[code] = kind, monitoring
        return kind, monitoring

    def _shown(self, path: str) -> str:
        return path[len(self.cwd) :] if path.startswith(self.cwd) else path

    def site(self, frame: FrameType) -> Site:
        """Where ``frame`` is now."""
        code = frame.f_code
        return Site(self._shown(code.co_filename), frame.f_lineno, getattr(code, "co_qualname", code.co_name))


def _host(url: str) -> str:
    start = url.find("://") + 3
    end = url.find("/", start)
    host = url[start:] if end < 0 else url[start:end]
    return host.rsplit(":", 1)[0] if ":" in host else host


def _settings(config: Any) -> ClientSettings | None:
    if config is None:
        return None
    retries = getattr(config, "retries", None) or {}
    attempts = retries.get("total_max_attempts")
    if attempts is None and retries.get("max_attempts") is not None:
        attempts = retries["max_attempts"] + 1  # botocore's max_attempts counts retries only
    return ClientSettings(
        getattr(config, "read_timeout", None), getattr(config, "connect_timeout", None), retries.get("mode"), attempts
    )


def _resource(params: dict[str, Any]) -> tuple[str | None, str | None]:
    for name, kind in RESOURCE_PARAMETERS:
        value = params.get(name)
        if isinstance(value, str) and value:
            if kind == "queue" and "/" in value:
                value = value.rstrip("/").rsplit("/", 1)[1]
            elif kind == "topic" and ":" in value:
                value = value.rsplit(":", 1)[1]
            return kind, value
    return None, None


class _Count:
    __slots__ = ("calls", "first_site", "first_time", "retries")

    def __init__(self, first_time: float, first_site: Site | None) -> None:
        self.calls, self.retries = 0, 0
        self.first_time, self.first_site = first_time, first_site


class Tally:
    """Counts of call attempts by everything the audit tells apart; thread-safe, bounded by their variety."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[Any, ...], _Count] = {}
        self._frames = _Frames()
        self._clock = clock
        self.failures = 0
        """Calls the audit could not describe (they were made all the same)."""

    def note(self, request: Any, operation_model: Any, context: dict[str, Any], frame: FrameType | None) -> None:
        """Count one call attempt; ``frame`` is where to start looking for the code that made it."""
        service = operation_model.service_model.service_name
        region = context.get("client_region") or ""
        if service == "s3":
            region = (context.get("signing") or {}).get("region") or region
        host = _host(request.url)
        global_endpoint = region == "aws-global" or host in _GLOBAL_HOSTS or host.endswith(".s3.amazonaws.com")
        params: dict[str, Any] | None = context.get("input_params")  # botocore's, for S3; the others are found below
        first_app: FrameType | None = None
        first_library: FrameType | None = None
        monitoring: Site | None = None
        known, frames = self._frames.known, self._frames
        while frame is not None:
            code = frame.f_code
            if code is _API_CALL and params is None:
                params = frame.f_locals.get("api_params")
            found = known.get(code) or frames.classify(code)
            if found[0] == _APP and first_app is None:
                first_app = frame
            elif found[0] == _LIBRARY and first_library is None:
                first_library = frame
            if found[1] is not None and monitoring is None:
                monitoring = found[1]
            frame = frame.f_back
        kind, resource = _resource(params or {})
        if kind == "bucket" and resource is not None and host.startswith(f"{resource}."):
            host = host[len(resource) + 1 :]  # virtual-hosted style: the endpoint is the rest
        key = (
            service,
            region,
            operation_model.name,
            kind,
            resource,
            host,
            global_endpoint,
            _settings(context.get("client_config")),
            monitoring,
        )
        attempt = (context.get("retries") or {}).get("attempt", 1)
        with self._lock:
            count = self._counts.get(key)
            if count is None:
                where = first_app or first_library
                count = self._counts[key] = _Count(self._clock(), None if where is None else frames.site(where))
            count.calls += 1
            if attempt > 1:
                count.retries += 1

    def observations(self) -> list[Observation]:
        """What was counted so far."""
        with self._lock:
            items = [
                (key, count.calls, count.retries, count.first_time, count.first_site)
                for key, count in self._counts.items()
            ]
        return [_observation(key, calls, retries, first, where) for key, calls, retries, first, where in items]

    def reset(self) -> None:
        """Forget everything (a forked child starts from nothing; its lock is new too)."""
        self._lock = threading.Lock()
        self._counts = {}


def _observation(key: tuple[Any, ...], calls: int, retries: int, first: float, where: Site | None) -> Observation:
    service, region, operation, kind, resource, host, global_endpoint, settings, monitoring = key
    return Observation(
        service,
        region,
        operation,
        kind,
        resource,
        host,
        global_endpoint,
        settings,
        monitoring,
        calls,
        retries,
        first,
        where,
    )


class Recorder(HookInjector):
    """The hook injector in record-only mode: no fault, every call let through and counted.

    A context manager like any :class:`HookInjector`; :meth:`observations` is what it saw. Calls
    that another injection armed inside it decided (its faults fired, or it was the innermost)
    are in its ledger's counts only, and :meth:`observations` adds them without resource, client
    settings or code location.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__((), max_events=1)
        self.tally = Tally(clock)

    def apply(
        self,
        decision: Decision,
        original: Callable[..., Any],
        endpoint: Any,
        request: Any,
        operation_model: Any,
        context: dict[str, Any],
    ) -> Any:
        """Note the call, then let the hook carry out the decision (with no fault of ours: let it through)."""
        if decision.action is Action.PASS:
            try:
                self.tally.note(request, operation_model, context, sys._getframe(1))
            except Exception:  # the audit never breaks a call it watches
                self.tally.failures += 1
        return super().apply(decision, original, endpoint, request, operation_model, context)

    def __enter__(self) -> Recorder:
        self.arm()
        return self

    def observations(self) -> list[Observation]:
        """Every call seen: those described in full, and those only the ledger counted."""
        described = self.tally.observations()
        return described + list(_undescribed(self.ledger.counts().items(), described))


def _undescribed(counts: Iterable[tuple[Any, int]], described: list[Observation]) -> Iterable[Observation]:
    """Ledger counts beyond what the tally described, per (service, region, operation)."""
    seen: dict[tuple[str, str, str], int] = {}
    for observation in described:
        key = (observation.service, observation.region, observation.operation)
        seen[key] = seen.get(key, 0) + observation.calls
    counted: dict[tuple[str, str, str], int] = {}
    for key, count in counts:
        where = (key.service, key.region, key.operation)
        counted[where] = counted.get(where, 0) + count
    for (service, region, operation), count in sorted(counted.items()):
        extra = count - seen.get((service, region, operation), 0)
        if extra > 0:
            yield Observation(
                service, region, operation, None, None, "", region == "aws-global", None, None, extra, 0, 0.0, None
            )
