"""The contract every injector keeps, with the guardrail gate at its only way in.

::

    Injector                  arm(faults) through the gate -> ids; remove(ids); disarm(); ledger
    ├── EngineInjector        faults decided per call by an Engine (chaos.engine)
    │   ├── HookInjector      in-process: botocore itself fails the calls
    │   └── GatewayInjector   out-of-process: the outage gateway's middleware
    └── IamInjector           real AWS: self-expiring deny policies

:meth:`Injector.arm` is defined here and nowhere else: it asks :func:`chaos.gate.admit` first, and
a subclass that defines its own ``arm`` fails when its class is created. A new backend implements
``_arm`` and gets the gate whether it wants it or not.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from chaos.engine.engine import Engine
from chaos.engine.fault import Fault
from chaos.gate import admit
from chaos.guardrails import Limits, limits_for
from chaos.ledger import Ledger
from chaos.model import Guardrails

__all__ = ["EngineInjector", "Injector", "flatten"]


def flatten(faults: Iterable[Fault | Iterable[Fault]]) -> tuple[Fault, ...]:
    """Faults given one by one or in lists, as one tuple."""
    flat: list[Fault] = []
    for item in faults:
        if isinstance(item, Fault):
            flat.append(item)
        else:
            flat.extend(flatten(item))
    return tuple(flat)


class Injector(ABC):
    """A backend that makes faults happen: in-process, in a gateway, or on real AWS.

    ``faults`` given when it is made are armed by the first ``arm()`` without arguments;
    ``guardrails`` are the caller's own limits (an experiment's), merged by the gate with the
    project's ``[tool.chaos]``.
    """

    name: ClassVar[str]
    ledger: Ledger

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "arm" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} defines arm(): the guardrail gate in Injector.arm is the only way to arm "
                "faults; implement _arm() instead"
            )

    def __init__(self, faults: Iterable[Fault | Iterable[Fault]] = (), *, guardrails: Guardrails | None = None) -> None:
        self._pending = flatten(faults)
        self.guardrails = guardrails

    def arm(
        self,
        faults: Iterable[Fault | Iterable[Fault]] | None = None,
        *,
        limits: Limits | None = None,
        hold: float | None = None,
    ) -> list[int]:
        """Arm ``faults`` (default: those given when the injector was made) through the guardrail gate.

        ``limits``: from :func:`chaos.guardrails.limits_for` (default: this injector's guardrails and
        the project's). ``hold``: how long the caller keeps them at most, None for "until removed".
        Raises :class:`chaos.gate.Refused` before anything changes; returns the ids of the faults.
        """
        chosen = self._pending if faults is None else flatten(faults)
        in_force = limits if limits is not None else limits_for(self.guardrails)
        admit(chosen, in_force, hold=hold, already_active=self.active_count())
        if faults is None:
            self._pending = ()
        return self._arm(chosen, in_force, hold)

    @abstractmethod
    def _arm(self, faults: tuple[Fault, ...], limits: Limits, hold: float | None = None) -> list[int]:
        """Start injecting ``faults`` (already admitted by the gate, held at most ``hold`` seconds); their ids."""

    @abstractmethod
    def remove(self, ids: Iterable[int] | None = None) -> list[int]:
        """Stop injecting the faults with these ids (all when None); the ids removed."""

    @abstractmethod
    def disarm(self) -> None:
        """Remove every fault and everything the injector added; safe to call twice."""

    @property
    @abstractmethod
    def faults(self) -> tuple[Fault, ...]:
        """The faults armed now (before the first arm: those waiting for it)."""

    @property
    @abstractmethod
    def armed(self) -> bool:
        """Whether the injector is injecting now."""

    def active_count(self) -> int:
        """How many armed faults are active or still to come (the gate counts them for max_concurrent_faults)."""
        return len(self.faults) if self.armed else 0

    def active_faults(self) -> tuple[Fault, ...]:
        """The faults injecting right now (for the live display)."""
        return self.faults if self.armed else ()


class EngineInjector(Injector):
    """An injector whose faults an :class:`~chaos.engine.Engine` decides call by call."""

    def __init__(
        self,
        faults: Iterable[Fault | Iterable[Fault]] = (),
        *,
        seed: int | None = None,
        now: Callable[[], float] | None = None,
        max_events: int = 10_000,
        guardrails: Guardrails | None = None,
    ) -> None:
        super().__init__(faults, guardrails=guardrails)
        self.engine = Engine((), seed=seed, **({"now": now} if now is not None else {}))
        self.ledger = Ledger(max_events=max_events)
        self._armed = False

    @property
    def seed(self) -> int:
        """The seed of probability sampling (given, or drawn at random and recorded here)."""
        return self.engine.seed

    @property
    def faults(self) -> tuple[Fault, ...]:
        return self.engine.faults if self._armed else self._pending

    @property
    def armed(self) -> bool:
        return self._armed

    def active_count(self) -> int:
        if not self._armed:
            return 0
        now = self.engine.now()
        return sum(1 for _, _, _, end in self.engine.rules() if end > now)

    def active_faults(self) -> tuple[Fault, ...]:
        return tuple(self.engine.active()) if self._armed else ()

    def _arm(self, faults: tuple[Fault, ...], limits: Limits, hold: float | None = None) -> list[int]:
        if not self._armed:
            self.engine.arm()
            self._start()
            self._armed = True
        return self.engine.add(faults)

    def _start(self) -> None:
        """Begin intercepting calls (the first arm)."""

    def _stop(self) -> None:
        """Stop intercepting calls (disarm)."""

    def remove(self, ids: Iterable[int] | None = None) -> list[int]:
        return self.engine.remove(ids)

    def disarm(self) -> None:
        self.engine.remove()
        if self._armed:
            self._stop()
        self._armed = False
