"""The engine: armed faults, indexed by service and region, deciding for each call what happens.

Pure: no boto3 client, no I/O, no sleeping. The clock (``now``) and the seed are injected, so a test
can move time by hand and two runs with the same seed and calls take the same decisions.
"""

from __future__ import annotations

import math
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from chaos.engine.call import Call
from chaos.engine.decision import PASS, Action, Decision
from chaos.engine.fault import ERROR_KINDS, Fault, FaultKind
from chaos.engine.render import error_spec

__all__ = ["Engine", "Explanation"]

_ANY: frozenset[str] | None = None
_NOT_ARMED = math.inf


def _set(values: tuple[str, ...]) -> frozenset[str] | None:
    return None if not values or "*" in values else frozenset(values)


@dataclass(eq=False, slots=True)
class _Rule:
    """A fault compiled for fast matching, with its own seeded random stream."""

    index: int
    """The fault's id in its engine: its position for the faults given at creation."""
    fault: Fault
    rng: random.Random
    services: frozenset[str] | None = field(init=False)
    regions: frozenset[str] | None = field(init=False)
    operations: frozenset[str] | None = field(init=False)
    buckets: frozenset[str] | None = field(init=False)
    start: float = _NOT_ARMED
    end: float = _NOT_ARMED

    def __post_init__(self) -> None:
        self.services = _set(self.fault.service)
        self.regions = _set(self.fault.region)
        self.operations = _set(self.fault.operations)
        self.buckets = _set(self.fault.buckets)

    def targets(self, service: str, region: str, global_endpoint: bool) -> bool:
        """Whether this rule can ever match calls to ``service`` in ``region``."""
        if self.services is not None and service not in self.services:
            return False
        if self.regions is None or region in self.regions:
            return True
        return global_endpoint and self.fault.include_global

    def mismatch(self, call: Call, now: float) -> str | None:
        """Why this rule does not match ``call`` at ``now``, or None when it does."""
        fault = self.fault
        if self.services is not None and call.service not in self.services:
            return f"service {call.service} is not {', '.join(fault.service)}"
        if not self.targets(call.service, call.region, call.global_endpoint):
            return f"region {call.region} is not {', '.join(fault.region)}"
        if now < self.start:
            return "not started yet" if self.start != _NOT_ARMED else "not armed"
        if now >= self.end:
            return "already over"
        if self.operations is not None and call.operation not in self.operations:
            return f"operation {call.operation} is not {', '.join(fault.operations)}"
        if self.buckets is not None and call.bucket not in self.buckets:
            return f"bucket {call.bucket} is not {', '.join(fault.buckets)}"
        if fault.key_prefix is not None and not (call.key or "").startswith(fault.key_prefix):
            return f"key {call.key!r} does not start with {fault.key_prefix!r}"
        return None

    def fire(self, call: Call, draw: float | None) -> Decision:
        """The decision this rule takes for a call it matched."""
        fault = self.fault
        reason = f"{fault.label} matched {call.service}.{call.operation} in {call.region}"
        if draw is not None:
            reason += f" (drew {draw:.4f} < p={fault.probability:g})"
        kind = fault.kind
        if kind in ERROR_KINDS:
            spec = error_spec(kind, call.service)
            return Decision(Action.ERROR, reason, self.index, fault.label, error=spec)
        if kind is FaultKind.LATENCY:
            delay = fault.latency or 0.0
            if fault.jitter:
                delay += self.rng.random() * fault.jitter
            return Decision(Action.DELAY, reason, self.index, fault.label, delay=delay)
        if kind is FaultKind.TIMEOUT:
            return Decision(Action.TIMEOUT, reason, self.index, fault.label, delay=fault.latency)
        if kind is FaultKind.CONNECTION_ERROR:
            return Decision(Action.CONNECTION_ERROR, reason, self.index, fault.label)
        return Decision(Action.LOST_RESPONSE, reason, self.index, fault.label, delay=fault.latency)


@dataclass(frozen=True, slots=True)
class _Candidates:
    """The rules that can match calls to one (service, region).

    Each rule sits under its most selective dimension: its buckets if it has any, else its
    operations, else it is general. A call looks at the general rules plus those filed under its
    bucket and its operation, so faults aimed elsewhere cost nothing.
    """

    general: tuple[_Rule, ...]
    by_bucket: dict[str, tuple[_Rule, ...]]
    by_operation: dict[str, tuple[_Rule, ...]]

    def lookup(self, call: Call) -> tuple[_Rule, ...]:
        found = self.general
        extra: tuple[_Rule, ...] = ()
        if self.by_bucket and call.bucket is not None:
            extra = self.by_bucket.get(call.bucket, ())
        if self.by_operation:
            extra += self.by_operation.get(call.operation, ())
        if not extra:
            return found
        return tuple(sorted(found + extra, key=lambda rule: rule.index))


_EMPTY = _Candidates((), {}, {})


@dataclass(frozen=True, slots=True)
class Explanation:
    """Whether one fault matches a call, and why or why not."""

    fault: Fault
    matches: bool
    reason: str


@dataclass(frozen=True, slots=True)
class _State:
    """The armed rules and their index; replaced whole when faults are added or removed."""

    rules: tuple[_Rule, ...]
    index: dict[tuple[str, str, bool], _Candidates]


class Engine:
    """Armed faults and the decisions they take.

    Faults are indexed by (service, region, global endpoint) and by S3 bucket and operation, so
    deciding for a call looks only at the faults that target it. The first matching fault that
    fires, in the order the faults were added, decides; a fault with probability below 1 fires on
    a seeded share of the calls it matches. Faults can be added and removed while calls are being
    decided (the gateway's control API does): each change replaces the rules and index at once.
    """

    def __init__(
        self,
        faults: Iterable[Fault] = (),
        *,
        seed: int | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seed: int = secrets.randbits(32) if seed is None else seed
        self._now = now
        self._lock = threading.Lock()
        self._next_id = 0
        self.started_at: float | None = None
        self._state = _State(self._make_rules(faults), {})

    def _make_rules(self, faults: Iterable[Fault]) -> tuple[_Rule, ...]:
        rules = []
        for fault in faults:
            rules.append(_Rule(self._next_id, fault, random.Random(f"{self.seed}:{self._next_id}")))
            self._next_id += 1
        return tuple(rules)

    @property
    def faults(self) -> tuple[Fault, ...]:
        """The faults armed now, in order."""
        return tuple(rule.fault for rule in self._state.rules)

    def rules(self) -> list[tuple[int, Fault, float, float]]:
        """(id, fault, start, end) of every fault, on the engine's clock."""
        return [(rule.index, rule.fault, rule.start, rule.end) for rule in self._state.rules]

    def arm(self, start: float | None = None) -> None:
        """Start the timeline: each fault is active from ``start + after`` for ``for`` seconds."""
        self.started_at = self._now() if start is None else start
        for rule in self._state.rules:
            _schedule(rule, self.started_at)

    def add(self, faults: Iterable[Fault], start: float | None = None) -> list[int]:
        """Arm more faults, their timeline starting at ``start`` (default: now); returns their ids."""
        with self._lock:
            rules = self._make_rules(faults)
            begin = self._now() if start is None else start
            for rule in rules:
                _schedule(rule, begin)
            self._state = _State(self._state.rules + rules, {})
        return [rule.index for rule in rules]

    def remove(self, ids: Iterable[int] | None = None) -> list[int]:
        """Disarm the faults with these ids (all when None); returns the ids removed."""
        with self._lock:
            wanted = None if ids is None else set(ids)
            kept = tuple(rule for rule in self._state.rules if wanted is not None and rule.index not in wanted)
            removed = [rule.index for rule in self._state.rules if rule not in kept]
            self._state = _State(kept, {})
        return removed

    def reset(self) -> None:
        """Disarm every fault and number new ones from 0 again (same seed: the same random streams)."""
        with self._lock:
            self._state = _State((), {})
            self._next_id = 0

    def now(self) -> float:
        """The engine's clock."""
        return self._now()

    def elapsed(self) -> float:
        """Seconds since the timeline started (0 before it did)."""
        return 0.0 if self.started_at is None else self._now() - self.started_at

    def _candidates(self, call: Call) -> _Candidates:
        state = self._state
        key = (call.service, call.region, call.global_endpoint)
        found = state.index.get(key)
        if found is None:
            found = _build(state.rules, key)
            state.index[key] = found
        return found

    def decide(self, call: Call) -> Decision:
        """What happens to ``call`` now."""
        rules = self._candidates(call).lookup(call)
        if not rules:
            return PASS
        now = self._now()
        for rule in rules:
            if not rule.start <= now < rule.end:
                continue
            if rule.operations is not None and call.operation not in rule.operations:
                continue
            prefix = rule.fault.key_prefix
            if prefix is not None and not (call.key or "").startswith(prefix):
                continue
            draw = None
            if rule.fault.probability < 1.0:
                draw = rule.rng.random()
                if draw >= rule.fault.probability:
                    continue
            return rule.fire(call, draw)
        return PASS

    def explain(self, call: Call) -> list[Explanation]:
        """For every fault: does it match ``call`` now, and why (not)? Slow; for messages and reports."""
        now = self._now()
        explained = []
        for rule in self._state.rules:
            why = rule.mismatch(call, now)
            if why is None:
                probability = rule.fault.probability
                why = "matches" + (f" (fires on {probability:.0%} of calls)" if probability < 1 else "")
            explained.append(Explanation(rule.fault, why.startswith("matches"), why))
        return explained

    def active(self) -> list[Fault]:
        """The faults active now."""
        now = self._now()
        return [rule.fault for rule in self._state.rules if rule.start <= now < rule.end]

    def next_change(self) -> float | None:
        """Seconds until the next fault switches on or off, or None when nothing will change."""
        now = self._now()
        upcoming = [t for rule in self._state.rules for t in (rule.start, rule.end) if now < t < math.inf]
        return min(upcoming) - now if upcoming else None


def _schedule(rule: _Rule, start: float) -> None:
    rule.start = start + rule.fault.after
    rule.end = math.inf if rule.fault.for_ is None else rule.start + rule.fault.for_


def _build(rules: tuple[_Rule, ...], key: tuple[str, str, bool]) -> _Candidates:
    """The candidates of one (service, region, global endpoint)."""
    matching = [rule for rule in rules if rule.targets(*key)]
    if not matching:
        return _EMPTY
    general: list[_Rule] = []
    by_bucket: dict[str, list[_Rule]] = {}
    by_operation: dict[str, list[_Rule]] = {}
    for rule in matching:
        if rule.buckets is not None:
            for bucket in rule.buckets:
                by_bucket.setdefault(bucket, []).append(rule)
        elif rule.operations is not None:
            for operation in rule.operations:
                by_operation.setdefault(operation, []).append(rule)
        else:
            general.append(rule)
    return _Candidates(
        tuple(general),
        {name: tuple(group) for name, group in by_bucket.items()},
        {name: tuple(group) for name, group in by_operation.items()},
    )
