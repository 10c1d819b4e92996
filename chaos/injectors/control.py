"""The gateway's control API under ``/_chaos/``: faults, ledger, reset, health.

Same JSON as experiment faults. Every refusal is a 4xx whose JSON names what was wrong:
``{"error": "<field>: <why>", "field": "<field>"}`` (plus ``problems`` for invalid faults). Who
may call it at all (token, Host, Origin, Content-Type) is decided before the body is read, by
:mod:`chaos.injectors.admission`; this module sees only admitted calls and their bodies.
"""

from __future__ import annotations

import json
import math
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chaos.engine.engine import Engine
from chaos.engine.fault import Fault
from chaos.gate import Refused, admit
from chaos.guardrails import Limits, limits_for
from chaos.ledger import Ledger
from chaos.loading import dotted, explain_validation

__all__ = [
    "MAX_BODY",
    "MAX_DEPTH",
    "MAX_FAULTS",
    "MAX_FAULTS_PER_REQUEST",
    "MAX_NUMBER_DIGITS",
    "ControlApi",
    "Controlled",
    "FaultList",
    "Response",
    "error",
]

Response = tuple[int, dict[str, Any]]
#: The largest control request body; a larger Content-Length is refused (413) before it is read.
MAX_BODY = 1024 * 1024
#: Faults armed at once in one gateway; more is refused (400) with the cap named.
MAX_FAULTS = 10_000
#: Faults added by one POST or PUT.
MAX_FAULTS_PER_REQUEST = 1_000
#: JSON nesting deeper than this is refused: a fault is four levels deep.
MAX_DEPTH = 32
#: Digits in one JSON number (a probability or a duration needs a handful).
MAX_NUMBER_DIGITS = 32
_FAULT_ID = re.compile(r"[0-9]{1,18}")


class Controlled(Protocol):
    """What the control API needs of an injector: the gated way to arm and remove faults, its engine
    (to list them) and its ledger."""

    @property
    def engine(self) -> Engine:
        """The faults armed now, and the decisions they take."""

    @property
    def ledger(self) -> Ledger:
        """Every call seen and every decision taken."""

    def arm(
        self, faults: Iterable[Fault] | None = None, *, limits: Limits | None = None, hold: float | None = None
    ) -> list[int]:
        """Arm faults through the guardrail gate (raises chaos.gate.Refused)."""

    def remove(self, ids: Iterable[int] | None = None) -> list[int]:
        """Remove faults by id (all when None)."""


class FaultList(BaseModel):
    """The body of PUT and POST /_chaos/faults (a bare list or a single fault is accepted too)."""

    model_config = ConfigDict(extra="forbid")

    faults: list[Fault] = Field(description="Faults, as in experiment files.")
    run: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="The run these faults belong to: listed with them, removable together (DELETE ?run=), "
        "and refused when they overlap another run's.",
    )


def _names_meet(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return not a or not b or "*" in a or "*" in b or bool(set(a) & set(b))


def _regions(fault: Fault) -> tuple[str, ...]:
    """The regions whose calls a fault can fail: the global endpoints are aws-global (the hook) and
    us-east-1 (the gateway, where global calls are signed)."""
    return (*fault.region, *(("us-east-1", "aws-global") if fault.include_global else ()))


def overlap(first: Fault, second: Fault) -> bool:
    """Whether two faults can match the same call (their windows aside)."""
    regions_a, regions_b = _regions(first), _regions(second)
    prefixes = first.key_prefix, second.key_prefix
    keys_meet = (
        None in prefixes
        or str(prefixes[0]).startswith(str(prefixes[1]))
        or str(prefixes[1]).startswith(str(prefixes[0]))
    )
    return (
        _names_meet(first.service, second.service)
        and _names_meet(regions_a, regions_b)
        and _names_meet(first.operations, second.operations)
        and _names_meet(first.buckets, second.buckets)
        and keys_meet
    )


def error(status: int, field: str, message: str, **extra: Any) -> Response:
    """A refusal: ``{"error": "<field>: <message>", "field": <field>}``."""
    return status, {"error": f"{field}: {message}", "field": field, **extra}


class _Invalid(Exception):
    def __init__(self, field: str, message: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.problems = problems or []


def _number(text: str) -> NoReturn:
    raise _Invalid("body", f"a JSON number of {len(text)} characters; numbers have at most {MAX_NUMBER_DIGITS}")


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        _number(text)
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        _number(text)
    value = float(text)
    if not math.isfinite(value):
        raise _Invalid("body", f"the number {text} is too large to be a float")
    return value


def _constant(text: str) -> NoReturn:
    raise _Invalid("body", f"{text} is not JSON (a number must be finite)")


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (level by level: deep input cannot overflow the stack).

    Each level keeps only its containers, so the walk touches every value once and builds nothing per
    scalar (for 10,000 faults the former walk was a third of a PUT).
    """
    depth, level = 0, [value]
    while depth <= MAX_DEPTH:
        containers = [item for item in level if isinstance(item, (list, dict))]
        if not containers:
            return depth
        depth += 1
        level = [child for item in containers for child in (item.values() if isinstance(item, dict) else item)]
    return depth


def _load(body: bytes) -> Any:
    if len(body) > MAX_BODY:
        raise _Invalid("body", f"larger than {MAX_BODY} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Invalid("body", f"not UTF-8: {exc}") from None
    try:
        value = json.loads(text or "null", parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise _Invalid("body", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        too_deep = True  # deeper than the parser's own stack allows
    else:
        too_deep = _depth(value) > MAX_DEPTH
    if too_deep:
        raise _Invalid("body", f"JSON nested more than {MAX_DEPTH} levels deep; a fault needs four")
    return value


class _Conflict(Exception):
    """Faults that overlap another run's (409)."""


def _run_of(query: str) -> str | None:
    values = urllib.parse.parse_qs(query).get("run")
    if not values:
        return None
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", values[0]):
        raise _Invalid("run", f"{values[0][:70]!r} is not a run id (1-64 letters, digits, '_', '.', '-')")
    return values[0]


def _parse_faults(body: bytes, limit: int) -> tuple[list[Fault], str | None]:
    value = _load(body)
    if isinstance(value, list):
        value = {"faults": value}
    elif isinstance(value, dict) and "faults" not in value:
        value = {"faults": [value]}
    if not isinstance(value, dict):
        raise _Invalid("body", 'expected a fault, a list of faults, or {"faults": [...]}')
    listed = value.get("faults")
    if isinstance(listed, list) and len(listed) > limit:  # before validating them all
        raise _Invalid("faults", f"{len(listed)} faults in one request; at most {limit} per request")
    try:
        parsed = FaultList.model_validate(value)
    except ValidationError as exc:
        problems = [
            {"path": dotted(path), "message": message} for path, message in explain_validation(exc, value, FaultList)
        ]
        first = problems[0] if problems else {"path": "faults", "message": str(exc)}
        raise _Invalid(first["path"] or "faults", first["message"], problems) from None
    return parsed.faults, parsed.run


def _seconds(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 3)


class ControlApi:
    """Handles ``/_chaos/...`` requests for one injector."""

    def __init__(
        self,
        injector: Controlled,
        reset_backend: Callable[[], None],
        *,
        max_faults: int = MAX_FAULTS,
        max_per_request: int = MAX_FAULTS_PER_REQUEST,
        limits: Limits | None = None,
        health: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.injector = injector
        self.reset_backend = reset_backend
        self.backend_health = health
        """Fields the backend adds to ``GET /_chaos/health`` (an upstream: its URL and whether it answers)."""
        self.limits = limits if limits is not None else limits_for(None)
        """The guardrails the gateway started with: its working directory's [tool.chaos] and --faults file's."""
        self.max_faults = max_faults
        self.max_per_request = max_per_request
        self._lock = threading.Lock()  # the cap is checked and the faults added as one step
        self._runs: dict[int, str] = {}  # fault id -> the run that armed it

    def handle(self, method: str, path: str, body: bytes, query: str = "") -> Response:
        """Answer one admitted control call: (HTTP status, JSON body)."""
        route = path.rstrip("/")
        try:
            if route == "/_chaos/health":
                return self._health()
            if route == "/_chaos/ledger" and method == "GET":
                return 200, self.injector.ledger.to_dict()
            if route == "/_chaos/reset" and method == "POST":
                with self._lock:
                    self._runs.clear()
                    self.injector.engine.reset()
                    self.injector.ledger.clear()
                    self.reset_backend()
                return 200, {"reset": True}
            if route == "/_chaos/faults":
                return self._faults(method, body, query)
            if route.startswith("/_chaos/faults/"):
                return self._one_fault(method, route.rsplit("/", 1)[1], _run_of(query))
        except _Invalid as exc:
            return error(400, exc.field, str(exc), problems=exc.problems)
        except Refused as exc:
            limits = [violation.limit for violation in exc.violations]
            return error(403, "faults", str(exc), limits=limits, sources=exc.sources)
        except _Conflict as exc:
            return error(409, "faults", str(exc))
        if route in ("/_chaos/ledger", "/_chaos/reset"):
            return error(405, "method", f"{method} is not allowed on {route}")
        endpoints = "/_chaos/health, /_chaos/faults, /_chaos/ledger, /_chaos/reset"
        return error(404, "path", f"no control endpoint {path}; see {endpoints}")

    def _health(self) -> Response:
        ledger = self.injector.ledger
        return 200, {
            "status": "ok",
            "faults": len(self.injector.engine.faults),
            "active": len(self.injector.engine.active()),
            "calls": ledger.total,
            "fired": ledger.fired,
            **(self.backend_health() if self.backend_health is not None else {}),
        }

    def _listing(self) -> dict[str, Any]:
        engine = self.injector.engine
        now = engine.now()
        return {
            "seed": engine.seed,
            "faults": [
                {
                    "id": rule_id,
                    "fault": fault.to_json(),
                    "active": start <= now < end,
                    "starts_in": _seconds(max(start - now, 0.0)),
                    "ends_in": _seconds(end - now),
                    "run": self._runs.get(rule_id),
                }
                for rule_id, fault, start, end in engine.rules()
            ],
        }

    def _conflict(self, faults: list[Fault], run: str | None) -> str | None:
        """Why ``faults`` (of ``run``) may not be armed beside another run's, or None."""
        engine = self.injector.engine
        now = engine.now()
        if run is None and not self._runs:
            return None  # untagged faults beside untagged faults: as before runs existed
        others = [
            (rule_id, armed, start, end, self._runs.get(rule_id))
            for rule_id, armed, start, end in engine.rules()
            if end > now and self._runs.get(rule_id) != run and (run is not None or rule_id in self._runs)
        ]
        for index, fault in enumerate(faults):
            begins = now + fault.after
            ends = math.inf if fault.end is None else now + fault.end
            for rule_id, armed, start, end, owner in others:
                if begins < end and start < ends and overlap(fault, armed):
                    theirs = f"run {owner}" if owner else "no run (outage inject?)"
                    return (
                        f"fault {index} ({fault.label}) overlaps fault {rule_id} ({armed.label}) of {theirs}; "
                        "two runs on one gateway must not fail the same calls: wait for it to end, or narrow the faults"
                    )
        return None

    def _add(self, faults: list[Fault], *, replace: bool = False, run: str | None = None) -> list[int]:
        """The one way the control API arms faults (POST adds them, PUT replaces all with them).

        Through the guardrail gate with the gateway's limits (``Refused``: 403). Raises ``_Invalid``
        (400) when they would pass the caps. Nothing changes on either refusal.
        """
        if len(faults) > self.max_per_request:
            raise _Invalid("faults", f"{len(faults)} faults in one request; at most {self.max_per_request} per request")
        engine = self.injector.engine
        with self._lock:
            armed = 0 if replace else len(engine.faults)
            if armed + len(faults) > self.max_faults:
                raise _Invalid(
                    "faults",
                    f"{armed} armed + {len(faults)} new would pass the cap of {self.max_faults} armed faults; "
                    "remove some first (DELETE /_chaos/faults)",
                )
            if replace:
                admit(faults, self.limits)  # as if the armed ones were gone: refused before they go
                self.injector.remove()
                self._runs.clear()
            else:
                conflict = self._conflict(faults, run)
                if conflict is not None:
                    raise _Conflict(conflict)
            ids = self.injector.arm(faults, limits=self.limits)
            if run is not None:
                self._runs.update(dict.fromkeys(ids, run))
            return ids

    def _faults(self, method: str, body: bytes, query: str = "") -> Response:
        if method == "GET":
            return 200, self._listing()
        if method == "POST":
            faults, run = _parse_faults(body, self.max_per_request)
            return 201, {"ids": self._add(faults, run=run), "run": run}
        if method == "PUT":
            faults, run = _parse_faults(body, self.max_per_request)
            return 200, {"ids": self._add(faults, replace=True, run=run), "run": run}
        if method == "DELETE":
            run = _run_of(query)
            with self._lock:
                if run is None:
                    self._runs.clear()
                    return 200, {"removed": self.injector.remove()}
                ids = [ident for ident, owner in self._runs.items() if owner == run]
                removed = self.injector.remove(ids)
                for ident in ids:
                    self._runs.pop(ident, None)
                return 200, {"removed": removed, "run": run}
        return error(405, "method", f"{method} is not allowed on /_chaos/faults")

    def _one_fault(self, method: str, ident: str, run: str | None = None) -> Response:
        if method != "DELETE":
            return error(405, "method", "only DELETE is allowed on /_chaos/faults/<id>")
        if not _FAULT_ID.fullmatch(ident):
            shown = ident if len(ident) <= 40 else ident[:40] + "..."
            return error(400, "id", f"{shown!r} is not a fault id (a number of at most 18 digits)")
        with self._lock:
            owner = self._runs.get(int(ident))
            if run is not None and owner != run:
                holder = f"run {owner}" if owner else "no run"
                return error(409, "run", f"fault {ident} is not run {run}'s ({holder}'s)")
            removed = self.injector.remove([int(ident)])
            self._runs.pop(int(ident), None)
        if not removed:
            return error(404, "id", f"no armed fault has id {ident}")
        return 200, {"removed": removed}
