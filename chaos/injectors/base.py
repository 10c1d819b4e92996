"""The contract every injector keeps: arm, disarm, and a ledger of what it saw."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from chaos.engine.fault import Fault
from chaos.ledger import Ledger

__all__ = ["Injector"]


@runtime_checkable
class Injector(Protocol):
    """A backend that makes faults happen: in-process, in a gateway, or on real AWS."""

    name: str
    faults: tuple[Fault, ...]
    ledger: Ledger

    def arm(self) -> None:
        """Start injecting; the fault timeline starts now."""

    def disarm(self) -> None:
        """Stop injecting and remove everything that was added; safe to call twice."""

    @property
    def armed(self) -> bool:
        """Whether faults are being injected now."""
