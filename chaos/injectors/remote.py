"""Faults armed in a gateway that is already running (a shared ``outage serve``), for one run.

The application under test already points at the gateway. The run's faults are posted with the
run's id (the gateway refuses faults that overlap another run's), each with a ``for`` that ends
with the run's hold, so they end by themselves even if the runner dies; removal takes exactly this
run's faults (``DELETE /_chaos/faults?run=ID``) and checks that none is left. The ledger is the
gateway's, read over HTTP: counts per phase are the differences between snapshots at phase changes.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from chaos.engine.fault import Fault
from chaos.errors import InjectionError
from chaos.gate import Refused
from chaos.guardrails import Limits, Violation
from chaos.injectors.base import Injector

__all__ = ["RemoteGatewayInjector", "RemoteLedger"]


class _Client:
    """The gateway's control API, with its token; errors become InjectionError (or Refused for a 403)."""

    def __init__(self, endpoint: str, token: str | None, timeout: float = 10.0) -> None:
        self.endpoint, self.token, self.timeout = endpoint.rstrip("/"), token, timeout

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.endpoint}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            with exc:
                text = exc.read().decode(errors="replace")
            try:
                detail = json.loads(text)
            except ValueError:
                detail = {"error": text}
            message = detail.get("error", text) if isinstance(detail, dict) else text
            if exc.code == 403 and isinstance(detail, dict) and detail.get("limits"):
                raise Refused([Violation(str(limit), message) for limit in detail["limits"]]) from None
            raise InjectionError(f"the gateway at {self.endpoint} answered {exc.code}: {message}") from None
        except (OSError, ValueError) as exc:
            raise InjectionError(f"cannot reach the gateway at {self.endpoint}: {exc}") from None


class RemoteLedger:
    """The shared gateway's ledger, read over HTTP; counts per phase from snapshots at phase changes."""

    def __init__(self, client: _Client) -> None:
        self._client = client
        self._phase = "setup"
        self._mark = 0
        self._by_phase: dict[str, int] = {}

    def _totals(self) -> dict[str, Any]:
        try:
            data = self._client.call("GET", "/_chaos/ledger")
        except InjectionError:
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def total(self) -> int:
        """Calls the gateway has seen (every client's, not only this application's)."""
        return int(self._totals().get("total", 0))

    @property
    def fired(self) -> int:
        """Calls a fault fired on."""
        return int(self._totals().get("fired", 0))

    @property
    def phase(self) -> str:
        """The run's phase; setting it closes the count of the previous one."""
        return self._phase

    @phase.setter
    def phase(self, value: str) -> None:
        total = self.total
        self._by_phase[self._phase] = self._by_phase.get(self._phase, 0) + total - self._mark
        self._mark, self._phase = total, value

    def by_phase(self) -> dict[str, int]:
        """Calls per phase of the run (the gateway's, so other clients' calls are counted too)."""
        return dict(self._by_phase)

    def start(self, phase: str) -> None:
        """The faults are armed: count what they meet from now."""
        self._armed_at = self._totals()

    def summary(self, faults: Iterable[tuple[int, Fault]] = (), phase: str = "faults") -> dict[str, Any]:
        """For the journal: the gateway's totals, and per fault the calls in its scope and those it fired
        on since it was armed (the gateway's counts: other clients' calls in the same scope count too)."""
        now, then = self._totals(), getattr(self, "_armed_at", {})
        before = {_key(item): int(item.get("count", 0)) for item in then.get("counts", [])}
        after = [(item, int(item.get("count", 0)) - before.get(_key(item), 0)) for item in now.get("counts", [])]
        fired_then, fired_now = then.get("by_fault", {}), now.get("by_fault", {})
        report = []
        for ident, fault in faults:
            seen: dict[str, int] = {}
            for item, count in after:
                if count > 0 and _in_scope(fault, item):
                    seen[str(item.get("operation"))] = seen.get(str(item.get("operation")), 0) + count
            fired = int(fired_now.get(fault.label, 0)) - int(fired_then.get(fault.label, 0))
            report.append(
                {
                    "id": ident,
                    "label": fault.label,
                    "scope": "the shared gateway's calls in its services and regions",
                    "window": [fault.after, fault.end],
                    "seen": max(sum(seen.values()), fired),
                    "fired": fired,
                    "fired_by_other": 0,
                    "operations": {name: {"seen": count, "fired": None} for name, count in sorted(seen.items())},
                }
            )
        return {
            "total": int(now.get("total", 0)),
            "fired": int(now.get("fired", 0)),
            "by_phase": self.by_phase(),
            "counts": now.get("counts", []),
            "shared_gateway": True,
            "faults": report,
        }


def _key(item: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(item.get(name)) for name in ("service", "region", "operation", "outcome"))


def _in_scope(fault: Fault, item: dict[str, Any]) -> bool:
    service, region, operation = item.get("service"), item.get("region"), item.get("operation")
    return (
        ("*" in fault.service or service in fault.service)
        and ("*" in fault.region or region in fault.region)
        and (not fault.operations or operation in fault.operations)
    )


class RemoteGatewayInjector(Injector):
    """This run's faults in a shared gateway."""

    name = "remote-gateway"

    def __init__(
        self,
        endpoint: str,
        run_id: str,
        *,
        token: str | None = None,
        record: Callable[..., None] | None = None,
    ) -> None:
        super().__init__()
        self.endpoint, self.run_id, self.token = endpoint, run_id, token
        self._client = _Client(endpoint, token)
        self.ledger = RemoteLedger(self._client)  # type: ignore[assignment]
        self.record = record or (lambda kind, **fields: None)
        self._armed: dict[int, Fault] = {}
        self._recorded = False

    @property
    def faults(self) -> tuple[Fault, ...]:
        return tuple(self._armed.values())

    @property
    def armed(self) -> bool:
        return bool(self._armed)

    def health(self) -> dict[str, Any]:
        """The gateway's /_chaos/health (InjectionError when it does not answer)."""
        answer = self._client.call("GET", "/_chaos/health")
        return answer if isinstance(answer, dict) else {}

    def _arm(self, faults: tuple[Fault, ...], limits: Limits, hold: float | None = None) -> list[int]:
        if not faults:
            return []
        if hold is not None:  # each ends with the hold in the gateway itself, even if this runner dies
            faults = tuple(
                fault.model_copy(update={"for_": max(hold - fault.after, 0.001)})
                if fault.end is None or fault.end > hold
                else fault
                for fault in faults
            )
        if not self._recorded:  # written ahead: rollback removes this run's faults by its id
            self.record("gateway_faults", endpoint=self.endpoint, run=self.run_id)  # never the token
            self._recorded = True
        body = {"faults": [fault.to_json() for fault in faults], "run": self.run_id}
        answer = self._client.call("POST", "/_chaos/faults", body)
        ids = [int(ident) for ident in answer.get("ids", [])]
        self._armed.update(zip(ids, faults, strict=True))
        return ids

    def remove(self, ids: Iterable[int] | None = None) -> list[int]:
        if ids is None:
            answer = self._client.call("DELETE", f"/_chaos/faults?{urllib.parse.urlencode({'run': self.run_id})}")
            removed = [int(ident) for ident in answer.get("removed", [])]
            self._armed.clear()
            return removed
        removed = []
        run = urllib.parse.urlencode({"run": self.run_id})
        for ident in ids:
            try:  # only if it is still this run's: after a reset another run may have the same id
                answer = self._client.call("DELETE", f"/_chaos/faults/{int(ident)}?{run}")
                removed += [int(item) for item in answer["removed"]]
            except InjectionError as exc:
                if "answered 404" not in str(exc) and "answered 409" not in str(exc):  # gone, or not ours now
                    raise
            self._armed.pop(int(ident), None)
        return removed

    def left(self) -> list[int]:
        """This run's faults still armed in the gateway (checked over HTTP)."""
        listing = self._client.call("GET", "/_chaos/faults").get("faults", [])
        return [int(item["id"]) for item in listing if item.get("run") == self.run_id]

    def disarm(self) -> None:
        self.remove()
        left = self.left()
        if left:
            raise InjectionError(f"faults {left} of run {self.run_id} are still armed in {self.endpoint}")
