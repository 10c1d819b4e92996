"""What the load generator saw: every request's outcome, kept as bounded aggregates.

Memory stays bounded however long the run: counts per phase and per second, a reservoir of
latencies per phase for percentiles, the first few examples of each kind of failure, and the
acknowledged writes (one entry per document id) for the durability check.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["PhaseStats", "RequestLog", "Sample"]

RESERVOIR = 50_000
EXAMPLES = 10


@dataclass(frozen=True, slots=True)
class Sample:
    """One request of the load: when it started (seconds into the run), how long, what came back."""

    start: float
    latency: float
    status: int | None
    """HTTP status; None when no answer came (timeout, connection refused or reset)."""
    error: str | None
    phase: str
    method: str
    doc_id: str
    written_before: bool = False
    """For reads: whether a write of this document had been acknowledged when the read started."""
    body: bytes | None = None
    """For writes: what was written."""

    @property
    def success(self) -> bool:
        """2xx, or a correct 404: a read of a document no acknowledged write had created."""
        if self.status is None:
            return False
        if 200 <= self.status < 300:
            return True
        return self.status == 404 and self.method in ("GET", "HEAD") and not self.written_before


@dataclass
class PhaseStats:
    """Aggregates of one phase."""

    count: int = 0
    successes: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: dict[str, list[str]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seen_latencies: int = 0
    last_failure_end: float | None = None
    first_start: float | None = None
    last_end: float | None = None


class RequestLog:
    """Thread-safe, bounded record of the load."""

    def __init__(self, graceful: tuple[int, ...] = (503, 429), seed: int = 0) -> None:
        self.graceful = frozenset(graceful)
        self.phases: dict[str, PhaseStats] = {}
        self.per_second: dict[int, list[float]] = {}
        """Second of the run -> [requests, successes, graceful refusals, failures, latency sum, latency max]."""
        self.answered: dict[int, list[int]] = {}
        """Second of the run in which requests were answered (or timed out) -> [answers, successes]."""
        self.acknowledged: dict[str, bytes] = {}
        self.acknowledged_at: dict[str, float] = {}
        """Document id -> when its last acknowledged write was answered (seconds into the run)."""
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def outcome(self, sample: Sample) -> str:
        """``success``, ``graceful`` (a declared refusal) or ``failure``."""
        if sample.success:
            return "success"
        if sample.status is not None and sample.status in self.graceful:
            return "graceful"
        return "failure"

    @staticmethod
    def describe(sample: Sample) -> str:
        """A short name for what came back: ``503``, ``timeout``, ``404 for a written document``."""
        if sample.status is None:
            return sample.error or "no answer"
        if sample.status == 404 and sample.written_before:
            return "404 for a written document"
        return str(sample.status)

    def written(self, doc_id: str) -> bool:
        """Whether a write of ``doc_id`` has been acknowledged."""
        return doc_id in self.acknowledged

    def add(self, sample: Sample) -> None:
        """Record one request."""
        outcome = self.outcome(sample)
        end = sample.start + sample.latency
        with self._lock:
            stats = self.phases.setdefault(sample.phase, PhaseStats())
            stats.count += 1
            stats.statuses[self.describe(sample)] += 1
            if outcome == "success":
                stats.successes += 1
            else:
                stats.last_failure_end = max(stats.last_failure_end or 0.0, end)
                if outcome == "failure":
                    examples = stats.failures.setdefault(self.describe(sample), [])
                    if len(examples) < EXAMPLES:
                        examples.append(f"{sample.method} /docs/{sample.doc_id} at {sample.start:.2f}s")
            stats.first_start = sample.start if stats.first_start is None else min(stats.first_start, sample.start)
            stats.last_end = end if stats.last_end is None else max(stats.last_end, end)
            stats.seen_latencies += 1
            if len(stats.latencies) < RESERVOIR:
                stats.latencies.append(sample.latency)
            else:  # reservoir sampling keeps percentiles honest for long runs
                slot = self._random.randrange(stats.seen_latencies)
                if slot < RESERVOIR:
                    stats.latencies[slot] = sample.latency
            answered = self.answered.setdefault(int(end), [0, 0])
            answered[0] += 1
            answered[1] += outcome == "success"
            second = self.per_second.setdefault(int(sample.start), [0, 0, 0, 0, 0.0, 0.0])
            second[0] += 1
            second[{"success": 1, "graceful": 2, "failure": 3}[outcome]] += 1
            second[4] += sample.latency
            second[5] = max(second[5], sample.latency)
            if sample.method in ("PUT", "POST") and sample.status is not None and 200 <= sample.status < 300:
                self.acknowledged[sample.doc_id] = sample.body or b""
                self.acknowledged_at[sample.doc_id] = end

    def stats(self, phase: str) -> PhaseStats:
        """The aggregates of one phase (empty when it saw no request)."""
        with self._lock:
            return self.phases.get(phase, PhaseStats())

    def total(self) -> int:
        """Requests recorded in all phases."""
        with self._lock:
            return sum(stats.count for stats in self.phases.values())

    def failures(self) -> int:
        """Requests that were neither a success nor a declared graceful refusal."""
        with self._lock:
            return sum(
                count
                for stats in self.phases.values()
                for name, count in stats.statuses.items()
                if name in stats.failures
            )
