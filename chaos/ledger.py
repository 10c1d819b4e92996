"""The ledger: every call an injector saw and every decision it took.

Exact aggregates (counts per service, region, operation and outcome, and per fault) are kept for
the whole run; individual events only for the most recent ``max_events``, so memory stays bounded
however long a game day lasts. Thread-safe: many threads record at once.

Per fault, the ledger can also say which calls were in its scope during its window and which it
fired on (:meth:`Ledger.fault_calls`): every call is counted once more, by phase, time slot (a
quarter of a second from the start of its phase), service, region, operation, bucket and the fault
that fired. Counters, not events: when there are more than ``max_cells`` of them the slots double
in width (coarser windows, same totals), so memory stays bounded here too.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, astuple, dataclass
from typing import Any, NamedTuple

from chaos.engine.call import Call
from chaos.engine.decision import Decision
from chaos.engine.fault import Fault

__all__ = ["CountKey", "Event", "FaultCalls", "Ledger"]

#: Seconds per time slot of the per-fault counts, at first (they double when there are too many).
SLOT = 0.25
#: The widest slot: beyond a day, counts are kept per phase only.
_WIDEST = 2.0**17

# (phase segment, slot, service, region, operation, bucket, global endpoint, fault id, fault label)
_Cell = tuple[int, int, str, str, str, str | None, bool, int | None, str | None]


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


@dataclass(frozen=True)
class FaultCalls:
    """What one fault met: the calls in its scope during its window, and those it fired on."""

    id: int
    label: str
    scope: str
    """Its services and regions (and operations, buckets), in words."""
    start: float
    """Seconds after the start of its phase when its window opened."""
    end: float
    """... and when it closed (the end of the phase at the latest: the faults are removed then)."""
    seen: int
    """Calls in its scope during its window (a call it fired on always counts)."""
    fired: int
    """Calls it fired on."""
    fired_by_other: int
    """Calls in its scope and window on which another fault fired first."""
    operations: dict[str, tuple[int, int]]
    """Per operation: (seen, fired)."""
    resolution: float
    """Seconds per time slot: a call within this much of the window's edges may be counted on the wrong side."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "label": self.label,
            "scope": self.scope,
            "window": [round(self.start, 3), round(self.end, 3)],
            "seen": self.seen,
            "fired": self.fired,
            "fired_by_other": self.fired_by_other,
            "operations": {
                name: {"seen": seen, "fired": fired} for name, (seen, fired) in sorted(self.operations.items())
            },
        }


def _scope(fault: Fault) -> str:
    words = f"{', '.join(fault.service)} in {', '.join(fault.region)}".replace("*", "any")
    if fault.include_global:
        words += " and the global endpoints"
    if fault.operations:
        words += f", operations {', '.join(fault.operations)}"
    if fault.buckets:
        words += f", buckets {', '.join(fault.buckets)}"
    if fault.key_prefix is not None:
        words += f", keys {fault.key_prefix}* (counted per bucket)"
    return words


def _in_scope(fault: Fault, service: str, region: str, operation: str, bucket: str | None, glob: bool) -> bool:
    """Whether a call is one ``fault`` targets (its key prefix aside: the ledger keeps no keys)."""
    if "*" not in fault.service and service not in fault.service:
        return False
    if "*" not in fault.region and region not in fault.region and not (glob and fault.include_global):
        return False
    if fault.operations and "*" not in fault.operations and operation not in fault.operations:
        return False
    return not fault.buckets or "*" in fault.buckets or bucket in fault.buckets


class Ledger:
    """Counts and recent events of the calls an injector saw."""

    def __init__(
        self, max_events: int = 10_000, clock: Callable[[], float] = time.time, max_cells: int = 20_000
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._counts: Counter[tuple[str, str, str, str]] = Counter()
        self._by_fault: Counter[str] = Counter()
        self._by_phase: Counter[str] = Counter()
        self._events: deque[Event] = deque(maxlen=max_events)
        self._phase = ""
        self._segments: list[tuple[str, float]] = [("", clock())]
        self._segment, self._segment_start = 0, self._segments[0][1]
        self._cells: dict[_Cell, int] = {}
        self._width, self._per_second = SLOT, 1 / SLOT
        self._max_cells = max_cells

    @property
    def phase(self) -> str:
        """The phase of the run now (set by the runner); calls are counted per phase too."""
        return self._phase

    @phase.setter
    def phase(self, phase: str) -> None:
        if phase != self._phase:
            self.start(phase)

    def start(self, phase: str) -> None:
        """Start ``phase`` now, or start it again: the windows of :meth:`fault_calls` count from its last start.

        The runner starts the fault phase again once the faults are armed, so that the calls made between
        its journal entry and the arming are not counted as calls the faults met and let through.
        """
        with self._lock:
            self._phase = phase
            self._segment_start = self._clock()
            self._segments.append((phase, self._segment_start))
            self._segment = len(self._segments) - 1

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
            self._by_phase[self._phase] += 1
            if decision.fault_label is not None:
                self._by_fault[decision.fault_label] += 1
            self._events.append(event)
            cell = (
                self._segment,
                int((event.time - self._segment_start) * self._per_second),
                call.service,
                call.region,
                call.operation,
                call.bucket,
                call.global_endpoint,
                decision.fault_index,
                decision.fault_label,
            )
            cells = self._cells
            count = cells.get(cell)
            if count is None:
                cells[cell] = 1
                if len(cells) > self._max_cells:
                    self._coarsen()
            else:
                cells[cell] = count + 1
        return event

    def _coarsen(self) -> None:
        """Halve the time resolution until the cells fit again (under the lock)."""
        while len(self._cells) > self._max_cells // 2 and self._width < _WIDEST:
            self._width *= 2
            self._per_second = 1 / self._width
            merged: Counter[_Cell] = Counter()
            for (segment, slot, service, region, operation, bucket, glob, index, label), count in self._cells.items():
                merged[(segment, slot // 2, service, region, operation, bucket, glob, index, label)] += count
            self._cells = dict(merged)
        if len(self._cells) > self._max_cells // 2:  # as many distinct calls as that: time is not the cause
            self._max_cells = 2 * len(self._cells)

    def fault_calls(self, faults: Iterable[tuple[int, Fault]], phase: str = "faults") -> list[FaultCalls]:
        """For each fault (its id in the engine, and its definition), armed when ``phase`` began and
        removed when it ended: the calls in its scope during its window, and those it fired on.

        Windows are the fault's ``after`` and ``for`` from the last start of ``phase`` (:meth:`start`),
        at the ledger's time resolution; a call the fault fired on always counts, wherever it falls.
        Raises ValueError when the ledger never saw ``phase``.
        """
        with self._lock:
            cells = list(self._cells.items())
            segments = list(self._segments)
            width = self._width
            now = self._clock()
        found = [index for index, (name, _) in enumerate(segments) if name == phase]
        if not found:
            raise ValueError(f"the ledger never saw the phase {phase!r}")
        segment = found[-1]
        length = (segments[segment + 1][1] if segment + 1 < len(segments) else now) - segments[segment][1]
        results = []
        for ident, fault in faults:
            start = min(fault.after, length)
            end = length if fault.end is None else min(fault.end, length)
            seen = fired = other = 0
            operations: dict[str, tuple[int, int]] = {}
            for (where, slot, service, region, operation, bucket, glob, index, label), count in cells:
                mine = index == ident and label == fault.label
                if not mine:
                    middle = (slot + 0.5) * width
                    if where != segment or not start <= middle < end:
                        continue
                    if not _in_scope(fault, service, region, operation, bucket, glob):
                        continue
                    if index is not None:
                        other += count
                seen += count
                fired += count if mine else 0
                was_seen, was_fired = operations.get(operation, (0, 0))
                operations[operation] = (was_seen + count, was_fired + (count if mine else 0))
            results.append(
                FaultCalls(ident, fault.label, _scope(fault), start, end, seen, fired, other, operations, width)
            )
        return results

    def summary(self, faults: Iterable[tuple[int, Fault]] = (), phase: str = "faults") -> dict[str, Any]:
        """For the journal: totals, counts per service, region, operation and outcome, calls per phase,
        and per fault (id and definition) what :meth:`fault_calls` says. No events: bounded size."""
        faults = list(faults)
        return {
            "total": self.total,
            "fired": self.fired,
            "by_phase": self.by_phase(),
            "counts": [
                {**asdict(key), "count": count}
                for key, count in sorted(self.counts().items(), key=lambda item: astuple(item[0]))
            ],
            "resolution": self._width,
            "faults": [calls.to_dict() for calls in self.fault_calls(faults, phase)] if faults else [],
        }

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
            self._cells.clear()
            self._segment_start = self._clock()
            self._segments = [(self._phase, self._segment_start)]
            self._segment = 0

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
