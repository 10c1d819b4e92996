"""How long validating a 1,000-fault experiment takes, against a 1-fault file; and the CLI's start-up.

1. In process: ``load_experiment`` of the 1-fault and the 1,000-fault file, interleaved in rotating
   order over ROUNDS rounds (after one warm-up load: botocore's lists are read once per process).
2. New processes, interleaved in rotating order over PROCESS_ROUNDS rounds: ``outage validate`` of
   each file, ``outage --help``, and ``aws --version`` (the installed awscli, a Python CLI on the
   same botocore: what a user of AWS tools already waits for). Each answer is checked: validate says
   "ok (1000 faults", help prints its usage, aws its version.

Targets: the 1,000-fault file validates in under 1 s (in process, and as a command beyond the
1-fault file's time); ``outage --help`` starts no slower than ``aws --version`` (ratio <= 1).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml
from _bench import env, figure, finish, interleave, ratios, setup

from chaos.loading import load_experiment

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
PROCESS_ROUNDS = int(os.environ.get("BENCH_PROCESS_ROUNDS", "9"))
REGIONS = ["us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"]
SERVICES = ["s3", "dynamodb", "sqs", "lambda"]
BIN = Path(sys.executable).parent


def _experiment(faults: int) -> dict[str, object]:
    return {
        "version": 1,
        "title": f"{faults} faults",
        "guardrails": {"max_duration": "2h"},
        "faults": [
            {
                "name": f"fault {i}",
                "kind": "unavailable" if i % 3 else "throttle",
                "service": SERVICES[i % len(SERVICES)],
                "region": REGIONS[i % len(REGIONS)],
                **({"operations": ["GetObject", "PutObject"]} if i % len(SERVICES) == 0 else {}),
                "probability": 0.5,
                "after": f"{i % 60}s",
                "for": "30s",
            }
            for i in range(faults)
        ],
    }


def _loading(path: Path, faults: int) -> Callable[[], float]:
    def once() -> float:
        started = time.perf_counter()
        experiment = load_experiment(path)
        elapsed = time.perf_counter() - started
        assert len(experiment.faults) == faults
        return elapsed * 1000

    return once


def _process(argv: list[str], expect: str) -> Callable[[], float]:
    """Wall seconds of ``argv`` as a new process; its output must contain ``expect``."""

    def once() -> float:
        started = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, text=True, check=False, env=env())
        elapsed = time.perf_counter() - started
        output = result.stdout + result.stderr
        assert result.returncode == 0 and expect in output, f"{argv[1:]}: exit {result.returncode}, {output[-500:]}"
        return elapsed

    return once


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        small, large = Path(folder) / "one.yaml", Path(folder) / "thousand.yaml"
        small.write_text(yaml.safe_dump(_experiment(1)))
        large.write_text(yaml.safe_dump(_experiment(1000)))
        size = large.stat().st_size
        load_experiment(small)  # warm-up: botocore's models are read once per process
        loads = interleave({"1 fault": _loading(small, 1), "1,000 faults": _loading(large, 1000)}, ROUNDS)
        outage = [sys.executable, "-m", "chaos"]
        commands = {
            "validate 1 fault": _process([*outage, "validate", str(small)], "ok (1 fault"),
            "validate 1,000 faults": _process([*outage, "validate", str(large)], "ok (1000 faults"),
            "outage --help": _process([*outage, "--help"], "Usage:"),
            "aws --version": _process([str(BIN / "aws"), "--version"], "aws-cli/"),
        }
        for command in commands.values():  # warm-up: files in the page cache, .pyc written
            command()
        runs = interleave(commands, PROCESS_ROUNDS)
    setup(rounds=ROUNDS, process_rounds=PROCESS_ROUNDS, faults=1000, file_bytes=size)
    figure("load 1 ms", loads["1 fault"], "ms", better="lower", label="in process, 1 fault", digits=1)
    ok = figure(
        "load 1000 ms",
        loads["1,000 faults"],
        "ms",
        target=1000,
        better="lower",
        label="in process, 1,000 faults",
        digits=1,
    )
    figure(
        "load 1000 / 1", ratios(loads["1,000 faults"], loads["1 fault"]), "x", label="in process, 1,000 / 1", digits=0
    )
    for name, values in runs.items():
        figure(f"{name} s", values, "s", better="lower", label=f"{name}, a new process", digits=2)
    extra = [a - b for a, b in zip(runs["validate 1,000 faults"], runs["validate 1 fault"], strict=True)]
    ok &= figure(
        "validate 1000 - 1 s",
        extra,
        "s",
        target=1,
        better="lower",
        label="outage validate: 1,000 faults less 1 fault",
        digits=2,
    )
    ok &= figure(
        "help / aws",
        ratios(runs["outage --help"], runs["aws --version"]),
        "x",
        target=1,
        better="lower",
        label="outage --help / aws --version",
        digits=2,
    )
    return finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
