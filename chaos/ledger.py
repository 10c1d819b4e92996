"""The ledger: every call an injector saw and every decision it took.

Exact aggregates (counts per service, region, operation and outcome, and per fault) are kept for
the whole run; individual events only for the most recent ``max_events``, so memory stays bounded
however long a game day lasts. Thread-safe: many threads record at once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, astuple, dataclass
from typing import Any, NamedTuple

from chaos.engine.call import Call
from chaos.engine.decision import Decision

__all__ = ["CountKey", "Event", "Ledger"]


@dataclass(frozen=True, slots=True)
class CountKey:
    """What the ledger counts by."""

    service: str
    region: str
    operation: str
    outcome: str


class Event(NamedTuple):
    """One call attempt and what was decided for it (a named tuple: cheap on the hot path)."""

    time: float
    service: str
    operation: str
    region: str
    bucket: str | None
    key: str | None
    attempt: int
    invocation_id: str | None
    outcome: str
    """``pass``, the injected error code, ``connection_error``, ``timeout``, ``latency``, ``lost_response``."""
    fault: str | None
    reason: str

    @property
    def fired(self) -> bool:
        """Whether a fault fired on this call."""
        return self.fault is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return self._asdict()


class Ledger:
    """Counts and recent events of the calls an injector saw."""

    def __init__(self, max_events: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._counts: Counter[tuple[str, str, str, str]] = Counter()
        self._by_fault: Counter[str] = Counter()
        self._by_phase: Counter[str] = Counter()
        self._events: deque[Event] = deque(maxlen=max_events)
        self.phase = ""
        """The phase of the run now (set by the runner); calls are counted per phase too."""

    def record(self, call: Call, decision: Decision) -> Event:
        """Record one call attempt and its decision."""
        outcome = decision.outcome
        event = Event(
            self._clock(),
            call.service,
            call.operation,
            call.region,
            call.bucket,
            call.key,
            call.attempt,
            call.invocation_id,
            outcome,
            decision.fault_label,
            decision.reason,
        )
        key = (call.service, call.region, call.operation, outcome)
        with self._lock:
            self._counts[key] += 1
            self._by_phase[self.phase] += 1
            if decision.fault_label is not None:
                self._by_fault[decision.fault_label] += 1
            self._events.append(event)
        return event

    def counts(self) -> dict[CountKey, int]:
        """Exact counts per (service, region, operation, outcome) since the ledger was created."""
        with self._lock:
            return {CountKey(*key): count for key, count in self._counts.items()}

    def calls(
        self,
        service: str | None = None,
        region: str | None = None,
        operation: str | None = None,
        outcome: str | None = None,
        fired: bool | None = None,
    ) -> int:
        """How many call attempts match every filter given (exact, whatever the event limit)."""
        total = 0
        for key, count in self.counts().items():
            if service is not None and key.service != service:
                continue
            if region is not None and key.region != region:
                continue
            if operation is not None and key.operation != operation:
                continue
            if outcome is not None and key.outcome != outcome:
                continue
            if fired is not None and (key.outcome != "pass") != fired:
                continue
            total += count
        return total

    @property
    def total(self) -> int:
        """Every call attempt seen."""
        return self.calls()

    @property
    def fired(self) -> int:
        """Call attempts on which a fault fired."""
        return self.calls(fired=True)

    def by_phase(self) -> dict[str, int]:
        """How many call attempts were seen in each phase of the run."""
        with self._lock:
            return dict(self._by_phase)

    def by_fault(self) -> dict[str, int]:
        """How often each fault fired, by its label."""
        with self._lock:
            return dict(self._by_fault)

    def events(self, **filters: Any) -> list[Event]:
        """The recent events (at most ``max_events``), optionally filtered by Event fields."""
        with self._lock:
            snapshot = list(self._events)
        return [event for event in snapshot if all(getattr(event, k) == v for k, v in filters.items())]

    def attempts(self, invocation_id: str) -> int:
        """How many attempts botocore made for one logical call (its invocation id)."""
        return len(self.events(invocation_id=invocation_id))

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events())

    def __len__(self) -> int:
        return self.total

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._counts.clear()
            self._by_fault.clear()
            self._by_phase.clear()
            self._events.clear()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: totals, counts, per-fault counts and the recent events."""
        return {
            "total": self.total,
            "fired": self.fired,
            "counts": [
                {**asdict(key), "count": count}
                for key, count in sorted(self.counts().items(), key=lambda item: astuple(item[0]))
            ],
            "by_fault": self.by_fault(),
            "by_phase": self.by_phase(),
            "events": [event.to_dict() for event in self.events()],
        }
