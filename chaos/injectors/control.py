"""The gateway's control API under ``/_chaos/``: faults, ledger, reset, health.

Same JSON as experiment faults. Invalid input gives 400 naming the field; with a token set, every
call needs ``Authorization: Bearer <token>`` (401 otherwise).
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chaos.engine.fault import Fault
from chaos.loading import dotted, explain_validation

if TYPE_CHECKING:
    from chaos.injectors.gateway import GatewayInjector

__all__ = ["ControlApi", "FaultList", "Response"]

Response = tuple[int, dict[str, Any]]
MAX_BODY = 1024 * 1024


class FaultList(BaseModel):
    """The body of PUT and POST /_chaos/faults (a bare list or a single fault is accepted too)."""

    model_config = ConfigDict(extra="forbid")

    faults: list[Fault] = Field(description="Faults, as in experiment files.")


class _Invalid(Exception):
    def __init__(self, message: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def _parse_faults(body: bytes) -> list[Fault]:
    if len(body) > MAX_BODY:
        raise _Invalid(f"body larger than {MAX_BODY} bytes")
    try:
        value = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise _Invalid(f"invalid JSON{where}: {exc}") from None
    if isinstance(value, list):
        value = {"faults": value}
    elif isinstance(value, dict) and "faults" not in value:
        value = {"faults": [value]}
    if not isinstance(value, dict):
        raise _Invalid('expected a fault, a list of faults, or {"faults": [...]}')
    try:
        return FaultList.model_validate(value).faults
    except ValidationError as exc:
        problems = [
            {"path": dotted(path), "message": message} for path, message in explain_validation(exc, value, FaultList)
        ]
        first = problems[0] if problems else {"path": "", "message": str(exc)}
        raise _Invalid(f"{first['path']}: {first['message']}", problems) from None


def _seconds(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 3)


class ControlApi:
    """Handles ``/_chaos/...`` requests for one gateway injector."""

    def __init__(self, injector: GatewayInjector, reset_backend: Callable[[], None], token: str | None = None) -> None:
        self.injector = injector
        self.reset_backend = reset_backend
        self.token = token

    def authorized(self, authorization: str | None) -> bool:
        """Whether a call may proceed: always without a token, else with the right bearer token."""
        if self.token is None:
            return True
        expected = f"Bearer {self.token}"
        return hmac.compare_digest((authorization or "").encode(), expected.encode())

    def handle(self, method: str, path: str, body: bytes, authorization: str | None) -> Response:
        """Answer one control call: (HTTP status, JSON body)."""
        if not self.authorized(authorization):
            return 401, {"error": "missing or wrong bearer token: send Authorization: Bearer <token>"}
        route = path.rstrip("/")
        try:
            if route == "/_chaos/health":
                return self._health()
            if route == "/_chaos/ledger" and method == "GET":
                return 200, self.injector.ledger.to_dict()
            if route == "/_chaos/reset" and method == "POST":
                self.injector.engine.reset()
                self.injector.ledger.clear()
                self.reset_backend()
                return 200, {"reset": True}
            if route == "/_chaos/faults":
                return self._faults(method, body)
            if route.startswith("/_chaos/faults/"):
                return self._one_fault(method, route.rsplit("/", 1)[1])
        except _Invalid as exc:
            return 400, {"error": str(exc), "problems": exc.problems}
        if route in ("/_chaos/ledger", "/_chaos/reset"):
            return 405, {"error": f"{method} is not allowed on {route}"}
        return 404, {"error": f"no control endpoint {path}; see /_chaos/health, /_chaos/faults, /_chaos/ledger"}

    def _health(self) -> Response:
        ledger = self.injector.ledger
        return 200, {
            "status": "ok",
            "faults": len(self.injector.engine.faults),
            "active": len(self.injector.engine.active()),
            "calls": ledger.total,
            "fired": ledger.fired,
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
                }
                for rule_id, fault, start, end in engine.rules()
            ],
        }

    def _faults(self, method: str, body: bytes) -> Response:
        engine = self.injector.engine
        if method == "GET":
            return 200, self._listing()
        if method == "POST":
            ids = engine.add(_parse_faults(body))
            return 201, {"ids": ids}
        if method == "PUT":
            faults = _parse_faults(body)
            engine.remove()
            return 200, {"ids": engine.add(faults)}
        if method == "DELETE":
            return 200, {"removed": engine.remove()}
        return 405, {"error": f"{method} is not allowed on /_chaos/faults"}

    def _one_fault(self, method: str, ident: str) -> Response:
        if not ident.isdigit():
            return 404, {"error": f"fault id {ident!r} is not a number"}
        if method != "DELETE":
            return 405, {"error": "only DELETE is allowed on /_chaos/faults/<id>"}
        removed = self.injector.engine.remove([int(ident)])
        if not removed:
            return 404, {"error": f"no armed fault has id {ident}"}
        return 200, {"removed": removed}
