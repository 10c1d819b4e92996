"""How long validating a 1,000-fault experiment takes, against a 1-fault file, in one run.

Target: the 1,000-fault file validates in under 1 s. Prints both times and their ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml

from chaos.loading import load_experiment

REGIONS = ["us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"]
SERVICES = ["s3", "dynamodb", "sqs", "lambda"]


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


def _time(path: Path, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        load_experiment(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        small, large = Path(folder) / "one.yaml", Path(folder) / "thousand.yaml"
        small.write_text(yaml.safe_dump(_experiment(1)))
        large.write_text(yaml.safe_dump(_experiment(1000)))
        size = large.stat().st_size
        load_experiment(small)  # warm-up: botocore's models are loaded once per process
        one, thousand = _time(small), _time(large)
        cold_one, cold_thousand = _cold(small), _cold(large)
    print(f"in process   1 fault: {one * 1000:8.1f} ms   1,000 faults ({size:,} bytes): {thousand * 1000:8.1f} ms")
    print(f"outage validate (a new process each time): 1 fault {cold_one:.2f} s, 1,000 faults {cold_thousand:.2f} s")
    print(f"ratio 1,000 / 1 in process: {thousand / one:.0f}x; as a command: {cold_thousand / cold_one:.2f}x")
    verdict = "ok" if thousand < 1 and cold_thousand - cold_one < 1 else "MISSED"
    print(f"target: a 1,000-fault file validates in under 1 s -> {verdict}")
    return 0 if verdict == "ok" else 1


def _cold(path: Path, rounds: int = 3) -> float:
    """Median wall time of ``outage validate FILE`` as a new process."""
    outage = Path(sys.executable).with_name("outage")
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([str(outage), "validate", str(path)], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


if __name__ == "__main__":
    raise SystemExit(main())
