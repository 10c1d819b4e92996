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
from collections.abc import Callable, Iterable, Sequence
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


#: The sets of services and regions faults name (a handful of distinct ones), shared by their rules.
_NAME_SETS: dict[tuple[str, ...], frozenset[str] | None] = {}


def _names(values: tuple[str, ...]) -> frozenset[str] | None:
    if values in _NAME_SETS:
        return _NAME_SETS[values]
    found = _set(values)
    if len(_NAME_SETS) < 4096:  # bounded: a control API client may name many
        _NAME_SETS[values] = found
    return found


class _Rule:
    """A fault compiled for fast matching, with its own seeded random stream."""

    __slots__ = (
        "_rng",
        "buckets",
        "end",
        "fault",
        "index",
        "operations",
        "prefix",
        "probability",
        "regions",
        "seed",
        "services",
        "start",
    )

    def __init__(self, index: int, fault: Fault, seed: int) -> None:
        self.index = index
        """The fault's id in its engine: its position for the faults given at creation."""
        self.fault = fault
        self.seed = seed
        """The engine's seed: this rule's stream is seeded with ``f"{seed}:{index}"`` at its first draw."""
        self.services = _names(fault.service)
        self.regions = _names(fault.region)
        self.operations = _set(fault.operations)
        self.buckets = _set(fault.buckets)
        self.prefix = fault.key_prefix
        self.probability = fault.probability
        self.start = _NOT_ARMED
        self.end = _NOT_ARMED
        self._rng: random.Random | None = None

    def random(self) -> float:
        """The next draw of this rule's own seeded stream."""
        if self._rng is None:
            self._rng = random.Random(f"{self.seed}:{self.index}")
        return self._rng.random()

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
                delay += self.random() * fault.jitter
            return Decision(Action.DELAY, reason, self.index, fault.label, delay=delay)
        if kind is FaultKind.TIMEOUT:
            return Decision(Action.TIMEOUT, reason, self.index, fault.label, delay=fault.latency)
        if kind is FaultKind.CONNECTION_ERROR:
            return Decision(Action.CONNECTION_ERROR, reason, self.index, fault.label)
        return Decision(Action.LOST_RESPONSE, reason, self.index, fault.label, delay=fault.latency)


#: (bucket, operation) a rule is filed under; None stands for "any".
_GroupKey = tuple[str | None, str | None]
#: A rule with more (bucket, operation) pairs than this is filed under its buckets only, or its
#: operations only, and the other dimension is checked per call: the index stays linear in size.
_MAX_PAIRS = 64
#: The index is rebuilt at most this often (engine seconds) when faults start and end: rules that
#: start within this horizon are indexed early and skipped per call by their window until then.
_HORIZON = 1.0


@dataclass(slots=True)
class _Group:
    """Rules filed under one (bucket, operation): those without a key prefix, and those with one by prefix."""

    plain: list[_Rule] = field(default_factory=list)
    prefixed: dict[str, list[_Rule]] = field(default_factory=dict)
    lengths: tuple[int, ...] = ()
    """The lengths of the prefixes in ``prefixed``, shortest first."""


@dataclass(frozen=True, slots=True)
class _Candidates:
    """The rules that can match calls to one (service, region, global endpoint).

    Each rule is filed under every (bucket, operation) it names, "any" standing for a dimension it
    does not restrict, and within that by its key prefix. A call looks at four groups at most (its
    bucket or any, its operation or any) and within each at the prefixes its key starts with (one
    dictionary lookup per distinct prefix length), so faults aimed elsewhere cost nothing.
    """

    groups: dict[_GroupKey, _Group]
    buckets: bool
    """Whether any group names a bucket (calls without one skip those lookups)."""

    def lookup(self, call: Call) -> Sequence[_Rule]:
        """The rules that can match ``call`` (their windows aside), in the order they were added."""
        groups = self.groups
        operation = call.operation
        if self.buckets and call.bucket is not None:
            keys: tuple[_GroupKey, ...] = (
                (call.bucket, operation),
                (call.bucket, None),
                (None, operation),
                (None, None),
            )
        else:
            keys = ((None, operation), (None, None))
        key = call.key or ""
        found: list[list[_Rule]] = []
        for group_key in keys:
            group = groups.get(group_key)
            if group is None:
                continue
            if group.plain:
                found.append(group.plain)
            if group.lengths:
                size = len(key)
                prefixed = group.prefixed
                for length in group.lengths:
                    if length > size:
                        break
                    hit = prefixed.get(key[:length])
                    if hit is not None:
                        found.append(hit)
        if not found:
            return ()
        if len(found) == 1:
            return found[0]
        merged = [rule for part in found for rule in part]
        merged.sort(key=_by_index)
        return merged


def _by_index(rule: _Rule) -> int:
    return rule.index


_EMPTY = _Candidates({}, False)


class _Epoch:
    """The index of the rules live between ``since`` and ``until`` on the engine's clock, built per key on demand."""

    __slots__ = ("keys", "live", "since", "until")

    def __init__(self, rules: tuple[_Rule, ...], now: float) -> None:
        upcoming = [t for rule in rules for t in (rule.start, rule.end) if now < t < math.inf]
        self.since = now
        self.until = max(min(upcoming), now + _HORIZON) if upcoming else math.inf
        until = self.until
        self.live = [rule for rule in rules if rule.start < until and rule.end > now]
        self.keys: dict[tuple[str, str, bool], _Candidates] = {}

    def candidates(self, key: tuple[str, str, bool]) -> _Candidates:
        found = self.keys.get(key)
        if found is None:
            found = _build([rule for rule in self.live if rule.targets(*key)])
            self.keys[key] = found
        return found


#: An epoch no clock reading falls in.
_EXPIRED = _Epoch((), math.inf)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Whether one fault matches a call, and why or why not."""

    fault: Fault
    matches: bool
    reason: str


class _State:
    """The armed rules, and the index of those live now; replaced whole when faults are added or removed.

    The index belongs to its state: a decision that rebuilds it for a state already replaced cannot
    put stale rules back.
    """

    __slots__ = ("epoch", "rules")

    def __init__(self, rules: tuple[_Rule, ...]) -> None:
        self.rules = rules
        self.epoch = _EXPIRED  # the first decision builds the real one


class Engine:
    """Armed faults and the decisions they take.

    Faults are indexed by (service, region, global endpoint), then by S3 bucket and operation, then
    by key prefix, so deciding for a call looks only at the faults that can match it, however many
    are armed. The index holds the faults live in a window of the engine's clock and is rebuilt when
    one starts or ends (at most once per second). The first matching fault that
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
        self._state = _State(self._make_rules(faults))

    def _make_rules(self, faults: Iterable[Fault]) -> tuple[_Rule, ...]:
        rules = []
        for fault in faults:
            rules.append(_Rule(self._next_id, fault, self.seed))
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
        self._state = _State(self._state.rules)

    def add(self, faults: Iterable[Fault], start: float | None = None) -> list[int]:
        """Arm more faults, their timeline starting at ``start`` (default: now); returns their ids."""
        with self._lock:
            rules = self._make_rules(faults)
            begin = self._now() if start is None else start
            for rule in rules:
                _schedule(rule, begin)
            self._state = _State(self._state.rules + rules)
        return [rule.index for rule in rules]

    def remove(self, ids: Iterable[int] | None = None) -> list[int]:
        """Disarm the faults with these ids (all when None); returns the ids removed."""
        with self._lock:
            wanted = None if ids is None else set(ids)
            kept = tuple(rule for rule in self._state.rules if wanted is not None and rule.index not in wanted)
            removed = [rule.index for rule in self._state.rules if wanted is None or rule.index in wanted]
            self._state = _State(kept)
        return removed

    def reset(self) -> None:
        """Disarm every fault and number new ones from 0 again (same seed: the same random streams)."""
        with self._lock:
            self._state = _State(())
            self._next_id = 0

    def now(self) -> float:
        """The engine's clock."""
        return self._now()

    def elapsed(self) -> float:
        """Seconds since the timeline started (0 before it did)."""
        return 0.0 if self.started_at is None else self._now() - self.started_at

    def _candidates(self, call: Call, now: float) -> _Candidates:
        state = self._state
        epoch = state.epoch
        if not epoch.since <= now < epoch.until:
            epoch = state.epoch = _Epoch(state.rules, now)
        return epoch.candidates((call.service, call.region, call.global_endpoint))

    def decide(self, call: Call) -> Decision:
        """What happens to ``call`` now."""
        now = self._now()
        rules = self._candidates(call, now).lookup(call)
        if not rules:
            return PASS
        for rule in rules:
            if not rule.start <= now < rule.end:
                continue
            if rule.operations is not None and call.operation not in rule.operations:
                continue
            if rule.buckets is not None and call.bucket not in rule.buckets:
                continue
            # The key prefix is the index's: a rule is found only under a prefix the key starts with.
            draw = None
            if rule.probability < 1.0:
                draw = rule.random()
                if draw >= rule.probability:
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


def _too_many(buckets: frozenset[str], operations: frozenset[str]) -> bool:
    return len(buckets) * len(operations) > _MAX_PAIRS


def _build(rules: list[_Rule]) -> _Candidates:
    """The candidates of one (service, region, global endpoint) from the rules that target it, in order."""
    if not rules:
        return _EMPTY
    groups: dict[_GroupKey, _Group] = {}
    for rule in rules:
        buckets: Iterable[str | None] = (None,) if rule.buckets is None else rule.buckets
        operations: Iterable[str | None] = (None,) if rule.operations is None else rule.operations
        if rule.buckets is not None and rule.operations is not None and _too_many(rule.buckets, rule.operations):
            # Filed under the narrower dimension only; decide() checks the other per call.
            if len(rule.buckets) <= len(rule.operations):
                operations = (None,)
            else:
                buckets = (None,)
        for bucket in buckets:
            for operation in operations:
                group = groups.get((bucket, operation))
                if group is None:
                    group = groups[(bucket, operation)] = _Group()
                if rule.prefix is None:
                    group.plain.append(rule)
                else:
                    group.prefixed.setdefault(rule.prefix, []).append(rule)
    for group in groups.values():
        group.lengths = tuple(sorted({len(prefix) for prefix in group.prefixed}))
    return _Candidates(groups, any(bucket is not None for bucket, _ in groups))
