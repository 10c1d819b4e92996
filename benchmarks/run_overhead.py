"""How much ``outage run`` costs beyond the declared duration of the experiment, and where it goes.

Runs the 2017 replay (``experiments/s3-us-east-1-2017.yaml`` of the package under test, copied to a
temporary folder: 3 s baseline, 12 s of faults, 6 s recovery, the resilient demo application behind
the gateway) through ``outage run`` as a new process, ROUNDS times. Each run must pass (exit 0, the
journal's status "passed") and its faults must have hit calls (the journal's ledger: fired > 0).

The overhead is the process's wall time less the declared duration (baseline + fault phase +
recovery). It is broken down from the journal's clock (``started_at``, each timeline event's ``t``
and the final ``duration``), the parts adding up to the whole:

- start-up: from the launch of the process to the journal's opening (imports, loading the file);
- to the gateway event: from the journal's opening to its "gateway" event;
- application ready: from the "gateway" event to "app_ready" (the application and the gateway
  start; since c5594f7 both at once, before it one after the other);
- steady state before: from "app_ready" to the baseline phase;
- phases beyond their declared length: baseline to the steady state after, less the declared duration;
- steady state after: to the verify phase;
- verify: the read-back and the checks, to the last "check" event;
- rollback: to the "rollback" event;
- final journal: to the journal's final write (its ``duration``);
- exit: from there to the end of the process (the verdict printed, the interpreter's exit).

Target: the overhead at most 2 s.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import code, env, figure, finish, setup

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TARGET = 2.0
EXPERIMENT = "experiments/s3-us-east-1-2017.yaml"
PARTS = [
    "start-up",
    "to the gateway event",
    "application ready",
    "steady state before",
    "phases beyond their declared length",
    "steady state after",
    "verify",
    "rollback",
    "final journal",
    "exit",
]


def declared(path: Path) -> float:
    """Baseline + fault phase + recovery of the experiment, in seconds."""
    from chaos.loading import load_experiment

    experiment = load_experiment(path)
    fault_phase = experiment.fault_phase
    assert fault_phase is not None, "the fault phase must end"
    return float(experiment.phases.baseline + fault_phase + experiment.phases.recovery)


def breakdown(journal: dict[str, object], launched: float, ended: float, planned: float) -> dict[str, float]:
    """The overhead's parts (seconds) from the journal; ``launched`` and ``ended`` are wall-clock times."""
    opened = datetime.datetime.fromisoformat(str(journal["started_at"])).timestamp()
    timeline = journal["timeline"]
    assert isinstance(timeline, list)

    def first(event: str, **fields: str) -> float:
        for entry in timeline:
            if entry["event"] == event and all(entry.get(k) == v for k, v in fields.items()):
                return float(entry["t"])
        raise AssertionError(f"no {event} {fields} in the journal's timeline")

    checks = [float(entry["t"]) for entry in timeline if entry["event"] == "check"]
    assert checks, "no check in the journal's timeline"
    duration = float(journal["duration"])  # type: ignore[arg-type]
    marks = [
        0.0,
        first("gateway"),
        first("app_ready"),
        first("phase", phase="baseline"),
        first("phase", phase="steady_state_after"),
        first("phase", phase="verify"),
        max(checks),
        first("rollback"),
        duration,
    ]
    parts = {"start-up": opened - launched}
    for name, (start, end) in zip(PARTS[1:-1], itertools.pairwise(marks), strict=True):
        parts[name] = end - start
    parts["phases beyond their declared length"] -= planned
    parts["exit"] = ended - (opened + duration)
    return parts


def once(folder: Path, experiment: Path, index: int) -> tuple[float, dict[str, float]]:
    """One ``outage run``: (overhead in seconds, its parts)."""
    journal_path = folder / f"journal-{index}.json"
    launched = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(experiment), "--journal", str(journal_path)],
        capture_output=True,
        check=False,
        text=True,
        cwd=folder,
        env=env(),
    )
    ended = time.time()
    if result.returncode != 0:
        raise AssertionError(
            f"outage run exited {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    journal = json.loads(journal_path.read_text())
    assert journal["status"] == "passed", journal["status"]
    fired = journal.get("ledger", {}).get("fired", 0)
    assert fired > 0, "the faults hit no call"
    planned = declared(experiment)
    parts = breakdown(journal, launched, ended, planned)
    overhead = ended - launched - planned
    assert abs(sum(parts.values()) - overhead) < 0.01, (parts, overhead)
    return overhead, parts


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="run-overhead-") as name:
        folder = Path(name)
        experiment = folder / "replay.yaml"
        shutil.copyfile(code() / EXPERIMENT, experiment)
        planned = declared(experiment)
        overheads: list[float] = []
        parts: dict[str, list[float]] = {part: [] for part in PARTS}
        for index in range(ROUNDS):
            overhead, measured = once(folder, experiment, index)
            overheads.append(overhead)
            for part, value in measured.items():
                parts[part].append(value)
            print(f"run {index + 1}: {planned + overhead:.2f} s, overhead {overhead:.2f} s", flush=True)
    setup(rounds=ROUNDS, experiment=EXPERIMENT, declared_s=planned)
    ok = figure(
        "overhead s",
        overheads,
        "s",
        target=TARGET,
        better="lower",
        label=f"outage run: wall time beyond the declared {planned:g} s",
        digits=2,
    )
    figure("wall s", [planned + o for o in overheads], "s", better="lower", label="outage run: wall time", digits=2)
    for part, values in parts.items():
        figure(f"part: {part}", values, "s", better="lower", label=f"  {part}", digits=2)
    return finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
