"""A typed view of a journal, for the renderers.

Journals come from this version, from older ones, and from runs that crashed or were aborted half
way: every field may be missing, and the view then says less rather than failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Calls",
    "Check",
    "FaultCalls",
    "FaultWindow",
    "PhaseLoad",
    "ReportView",
    "RollbackStep",
    "Second",
]

VERDICTS = {
    "passed": "GRACEFUL",
    "failed": "NOT GRACEFUL",
    "unverified": "UNVERIFIED",
    "aborted": "ABORTED",
    "error": "ERROR",
    "running": "NOT FINISHED",
}


@dataclass(frozen=True)
class Check:
    """One check as the journal holds it."""

    name: str
    passed: bool
    measured: Any
    limit: Any
    reason: str
    at: float | None = None
    """Seconds into the run of the moment that decided it, when the check recorded one."""


@dataclass(frozen=True)
class FaultWindow:
    """When a fault was active, in seconds into the run."""

    label: str
    start: float
    end: float
    id: int | None = None
    effect: str = ""
    """What it does, in words (from the plan)."""


@dataclass(frozen=True)
class FaultCalls:
    """What the ledger says one fault met: calls in its scope during its window, and those it fired on."""

    id: int | None
    label: str
    scope: str
    seen: int
    fired: int
    fired_by_other: int
    operations: list[tuple[str, int, int]]
    """(operation, seen, fired), most seen first."""


@dataclass(frozen=True)
class Calls:
    """The injector's ledger: every AWS call the application made, and what the faults did to them."""

    total: int
    fired: int
    faults: list[FaultCalls]
    counts: list[tuple[str, str, str, str, int]]
    """(service, region, operation, outcome, count)."""
    by_phase: dict[str, int]


@dataclass(frozen=True)
class PhaseLoad:
    """The load of one phase: requests, successes, and how many of each status."""

    phase: str
    requests: int
    successes: int
    statuses: list[tuple[str, int]]


@dataclass(frozen=True)
class RollbackStep:
    """One step of rollback: what, whether it was verified, and its details in words."""

    step: str
    ok: bool | None
    details: str


@dataclass(frozen=True)
class Second:
    """One second of the load."""

    t: int
    requests: int
    successes: int
    graceful: int
    failures: int
    latency_mean: float | None
    latency_max: float


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _calls(data: Any) -> Calls | None:
    if not isinstance(data, dict):
        return None
    faults = [
        FaultCalls(
            item.get("id"),
            str(item.get("label", "")),
            str(item.get("scope", "")),
            _int(item.get("seen")),
            _int(item.get("fired")),
            _int(item.get("fired_by_other")),
            sorted(
                (
                    (str(name), _int(counts.get("seen")), _int(counts.get("fired")))
                    for name, counts in (item.get("operations") or {}).items()
                    if isinstance(counts, dict)
                ),
                key=lambda row: (-row[1], row[0]),
            ),
        )
        for item in data.get("faults") or []
        if isinstance(item, dict)
    ]
    counts = [
        (
            str(c.get("service")),
            str(c.get("region")),
            str(c.get("operation")),
            str(c.get("outcome")),
            _int(c.get("count")),
        )
        for c in data.get("counts") or []
        if isinstance(c, dict)
    ]
    by_phase = {str(k): _int(v) for k, v in (data.get("by_phase") or {}).items()}
    return Calls(_int(data.get("total")), _int(data.get("fired")), faults, counts, by_phase)


def _details(step: dict[str, Any]) -> str:
    parts = []
    for key, value in step.items():
        if key in ("step", "ok", "output") or value in (None, [], {}, ""):
            continue
        if isinstance(value, bool):
            parts.append(key.replace("_", " ") if value else f"not {key.replace('_', ' ')}")
            continue
        parts.append(f"{key.replace('_', ' ')} {', '.join(map(str, value)) if isinstance(value, list) else value}")
    return "; ".join(parts)


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
    description: str = ""
    calls: Calls | None = None
    """The ledger, when the run got as far as judging (and the injector sees calls: not IAM)."""
    load: list[PhaseLoad] = field(default_factory=list)
    app_output: str = ""
    rollback_steps: list[RollbackStep] = field(default_factory=list)
    after_crash: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    """The experiment's previous runs, oldest first (from the history database), when the CLI added them."""
    """Rolled back by ``outage rollback`` after the runner died, not by the run itself."""

    @property
    def verdict(self) -> str:
        """GRACEFUL, NOT GRACEFUL, UNVERIFIED, ABORTED, ERROR, or NOT FINISHED for a journal still running."""
        return VERDICTS.get(self.status, self.status.upper())

    @property
    def never_fired(self) -> list[FaultCalls]:
        """Faults the ledger saw fire on no call: nothing proves their outage happened."""
        return [fault for fault in self.calls.faults if fault.fired == 0] if self.calls else []

    @property
    def requests(self) -> tuple[int, int]:
        """Requests through the application in all phases, and how many of them did not succeed."""
        total = sum(phase.requests for phase in self.load)
        return total, total - sum(phase.successes for phase in self.load)

    @classmethod
    def from_journal(cls, data: dict[str, Any]) -> ReportView:
        """The view of a journal as :func:`chaos.journal.read_journal` returns it."""
        checks = [
            Check(
                str(c.get("name", "?")),
                bool(c.get("passed")),
                c.get("measured"),
                c.get("limit"),
                str(c.get("reason", "")),
                c.get("at") if isinstance(c.get("at"), (int, float)) else None,
            )
            for c in data.get("checks") or []
            if isinstance(c, dict)
        ]
        plan = _dict(data.get("plan"))
        effects = {item.get("index"): str(item.get("effect", "")) for item in plan.get("faults") or []}
        faults = [
            FaultWindow(
                str(f.get("label", "")), float(f["start"]), float(f["end"]), f.get("id"), effects.get(f.get("id"), "")
            )
            for f in data.get("faults") or []
            if isinstance(f, dict) and "start" in f and "end" in f
        ]
        phases = [
            (str(e["phase"]), float(e["run_t"]))
            for e in data.get("timeline") or []
            if isinstance(e, dict) and e.get("event") == "phase" and "run_t" in e
        ]
        seconds = [
            Second(
                _int(row.get("t")),
                _int(row.get("requests")),
                _int(row.get("successes")),
                _int(row.get("graceful")),
                _int(row.get("failures")),
                row.get("latency_mean") if isinstance(row.get("latency_mean"), (int, float)) else None,
                float(row.get("latency_max") or 0.0),
            )
            for row in data.get("timeseries") or []
            if isinstance(row, dict)
        ]
        load = [
            PhaseLoad(
                str(phase),
                _int(stats.get("requests")),
                _int(stats.get("successes")),
                sorted(((str(k), _int(v)) for k, v in (stats.get("statuses") or {}).items()), key=lambda kv: -kv[1]),
            )
            for phase, stats in _dict(data.get("load")).items()
            if isinstance(stats, dict)
        ]
        rollback = _dict(data.get("rollback"))
        steps = [step for step in rollback.get("steps") or [] if isinstance(step, dict)]
        output = "\n".join(str(step["output"]) for step in steps if step.get("output"))
        experiment = _dict(data.get("experiment"))
        return cls(
            title=str(data.get("title", "")),
            source=str(data.get("source", "")),
            status=str(data.get("status", "error")),
            reason=str(data.get("reason", "")),
            started_at=str(data.get("started_at", "")),
            duration=data.get("duration"),
            injector=str(data.get("injector", "")),
            seed=data.get("seed"),
            rollback_complete=rollback.get("complete"),
            checks=checks,
            faults=faults,
            phases=phases,
            seconds=seconds,
            experiment=dict(experiment),
            tool_version=str(_dict(data.get("tool")).get("version", "")),
            description=str(experiment.get("description", "")).strip(),
            calls=_calls(data.get("ledger")),
            load=load,
            app_output=output,
            rollback_steps=[
                RollbackStep(str(step.get("step", "?")), step.get("ok"), _details(step))
                for step in steps
                if "output" not in step
            ],
            after_crash=bool(rollback.get("after_crash")),
            history=[run for run in data.get("history") or [] if isinstance(run, dict)][-10:],
        )
