"""A typed view of a journal, for the renderers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Check", "FaultWindow", "ReportView", "Second"]


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    measured: Any
    limit: Any
    reason: str


@dataclass(frozen=True)
class FaultWindow:
    label: str
    start: float
    end: float


@dataclass(frozen=True)
class Second:
    t: int
    requests: int
    successes: int
    graceful: int
    failures: int
    latency_mean: float | None
    latency_max: float


@dataclass(frozen=True)
class ReportView:
    """What a report shows about one run."""

    title: str
    source: str
    status: str
    reason: str
    started_at: str
    duration: float | None
    injector: str
    seed: Any
    rollback_complete: bool | None
    checks: list[Check]
    faults: list[FaultWindow]
    phases: list[tuple[str, float]]
    seconds: list[Second]
    experiment: dict[str, Any] = field(default_factory=dict)
    tool_version: str = ""

    @property
    def verdict(self) -> str:
        """GRACEFUL, NOT GRACEFUL, ABORTED or ERROR."""
        return {"passed": "GRACEFUL", "failed": "NOT GRACEFUL"}.get(self.status, self.status.upper())

    @classmethod
    def from_journal(cls, data: dict[str, Any]) -> ReportView:
        checks = [
            Check(c["name"], bool(c["passed"]), c.get("measured"), c.get("limit"), c.get("reason", ""))
            for c in data.get("checks", [])
        ]
        faults = [
            FaultWindow(f.get("label", ""), float(f["start"]), float(f["end"]))
            for f in data.get("faults", [])
            if "start" in f
        ]
        phases = [
            (e["phase"], float(e["run_t"]))
            for e in data.get("timeline", [])
            if e.get("event") == "phase" and "run_t" in e
        ]
        seconds = [Second(**row) for row in data.get("timeseries", [])]
        return cls(
            title=str(data.get("title", "")),
            source=str(data.get("source", "")),
            status=str(data.get("status", "error")),
            reason=str(data.get("reason", "")),
            started_at=str(data.get("started_at", "")),
            duration=data.get("duration"),
            injector=str(data.get("injector", "")),
            seed=data.get("seed"),
            rollback_complete=data.get("rollback", {}).get("complete"),
            checks=checks,
            faults=faults,
            phases=phases,
            seconds=seconds,
            experiment=dict(data.get("experiment", {})),
            tool_version=str(data.get("tool", {}).get("version", "")),
        )
