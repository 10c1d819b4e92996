"""The controller behind the ``chaos`` pytest fixture: arm outages during a test, assert on calls.

Usable without pytest: everything it arms is removed by :meth:`ChaosController.close`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

from chaos.api import region_outage, s3_outage
from chaos.engine.fault import Fault
from chaos.gate import admit
from chaos.guardrails import limits_for
from chaos.injectors import timewarp
from chaos.injectors.hook import HookInjector, flatten
from chaos.ledger import Event, Ledger
from chaos.model import Guardrails

__all__ = ["Armed", "ChaosController"]


class Armed:
    """Faults armed by the controller: removed at the end of the test, or earlier as a context manager."""

    def __init__(
        self, controller: ChaosController, injector: HookInjector, ids: list[int], faults: tuple[Fault, ...]
    ) -> None:
        self._controller = controller
        self._injector = injector
        self.ids = ids
        self.faults = faults

    def remove(self) -> None:
        """Disarm these faults now."""
        self._injector.remove(self.ids)

    def __enter__(self) -> Armed:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()


def _matches(event: Event, service: str | None, region: str | None, operation: str | None) -> bool:
    return (
        (service is None or event.service == service)
        and (region is None or event.region == region)
        and (operation is None or event.operation == operation)
    )


def _where(service: str | None, region: str | None, operation: str | None) -> str:
    parts = [f"{service or 'any service'}.{operation}" if operation else (service or "any service")]
    if region:
        parts.append(f"in {region}")
    return " ".join(parts)


class ChaosController:
    """Arms outages for one test and answers questions about the AWS calls it saw."""

    def __init__(
        self, seed: int | None = None, compress_time: bool = False, project_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self.seed = seed
        self.project_dir = project_dir
        """Whose ``[tool.chaos]`` applies (the project under test; default: the working directory)."""
        self._injector = HookInjector((), seed=seed)
        self._scoped: list[HookInjector] = []
        self._time = timewarp.compressed_time() if compress_time else None
        if self._time is not None:
            self._time.__enter__()
        self._injector.arm()

    @property
    def ledger(self) -> Ledger:
        """Every call seen since the test began, and every decision."""
        return self._injector.ledger

    def inject(
        self, *faults: Fault | Iterable[Fault], session: Any = None, guardrails: Guardrails | None = None
    ) -> Armed:
        """Arm faults now, until the end of the test (or the end of a ``with`` block).

        Through the guardrail gate: ``[tool.chaos]`` of the project, and ``guardrails`` (an
        experiment's) when given; a fault beyond them raises :class:`chaos.gate.Refused`.
        """
        flat = flatten(faults)
        limits = limits_for(guardrails, project_dir=self.project_dir)
        injector = self._injector
        if session is not None:
            injector = HookInjector((), session=session, seed=self.seed)
            ids = injector.arm(flat, limits=limits)
            self._scoped.append(injector)
            return Armed(self, injector, ids, flat)
        return Armed(self, injector, injector.arm(flat, limits=limits), flat)

    def check(
        self, *faults: Fault | Iterable[Fault], session: Any = None, guardrails: Guardrails | None = None
    ) -> None:
        """Raise :class:`chaos.gate.Refused` if :meth:`inject` would refuse these faults now; arms nothing."""
        already = self._injector.active_count()  # every injection of the process, scoped ones included
        admit(flatten(faults), limits_for(guardrails, project_dir=self.project_dir), already_active=already)

    def clear(self) -> None:
        """Disarm every fault armed so far; the ledger stays, and faults can be armed again."""
        for scoped in self._scoped:
            scoped.remove()
        self._injector.remove()

    def s3_outage(self, region: str | Sequence[str] = "us-east-1", kind: str = "unavailable", **fields: Any) -> Armed:
        """S3 failing in a region (same arguments as :func:`chaos.s3_outage`), armed now."""
        session = fields.pop("session", None)
        return self.inject(s3_outage(region, kind, **fields), session=session)

    def region_outage(self, region: str | Sequence[str], **fields: Any) -> Armed:
        """A region going dark (same arguments as :func:`chaos.region_outage`), armed now."""
        session = fields.pop("session", None)
        return self.inject(region_outage(region, **fields), session=session)

    def calls(self, service: str | None = None, region: str | None = None, operation: str | None = None) -> list[Event]:
        """The call attempts seen (retries included), filtered, in the order they were made."""
        # The controller's own injection covers every client, so its ledger holds every attempt
        # once, also those a session-scoped injection decided (that one records them as well).
        return [event for event in self._injector.ledger.events() if _matches(event, service, region, operation)]

    @property
    def fired(self) -> list[Event]:
        """The call attempts a fault fired on."""
        return [event for event in self.calls() if event.fired]

    def _seen(self) -> str:
        seen = Counter(
            f"{event.service}.{event.operation} in {event.region} ({event.outcome})" for event in self.calls()
        )
        if not seen:
            return "no AWS call at all"
        return ", ".join(f"{count}x {name}" for name, count in seen.most_common(10))

    def assert_fired(
        self,
        service: str | None = None,
        region: str | None = None,
        operation: str | None = None,
        times: int | None = None,
    ) -> None:
        """Assert a fault fired on matching calls (``times``: exactly that many attempts)."""
        fired = [event for event in self.fired if _matches(event, service, region, operation)]
        where = _where(service, region, operation)
        if times is None and not fired:
            raise AssertionError(f"expected a fault to fire on {where}, but none did; seen: {self._seen()}")
        if times is not None and len(fired) != times:
            raise AssertionError(
                f"expected faults to fire {times} times on {where}, they fired {len(fired)} times; seen: {self._seen()}"
            )

    def assert_not_called(
        self, service: str | None = None, region: str | None = None, operation: str | None = None
    ) -> None:
        """Assert no call matched (e.g. the application never touched the region that is down)."""
        calls = self.calls(service, region, operation)
        if calls:
            listed = Counter(f"{e.service}.{e.operation} in {e.region} ({e.outcome})" for e in calls)
            names = ", ".join(f"{count}x {name}" for name, count in listed.most_common(10))
            raise AssertionError(f"expected no call to {_where(service, region, operation)}, saw {len(calls)}: {names}")

    def summary(self) -> str:
        """One paragraph for a test report."""
        fired = len(self.fired)
        return f"seed {self._injector.seed}; {self.ledger.total} AWS calls, faults fired on {fired}; {self._seen()}"

    def close(self) -> None:
        """Remove everything this controller armed."""
        try:
            for scoped in self._scoped:
                scoped.disarm()
            self._injector.disarm()
        finally:
            if self._time is not None:
                self._time.__exit__(None, None, None)
                self._time = None
