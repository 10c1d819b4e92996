"""How much a run costs beyond the experiment's own duration.

Runs a 30 s experiment (5 s baseline, 20 s of faults, 5 s recovery) against the resilient demo
application through ``outage run`` as a subprocess, and prints the wall time minus 30 s: starting
the gateway and the application, the probes, the read-back, the rollback. Target: at most 5 s.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXPERIMENT = """
version: 1
title: overhead benchmark
app:
  command: [python, -m, chaos.demo, --variant, resilient, --port, "{port}"]
  url: http://127.0.0.1:{port}
load:
  rate: 20
  requests:
    - {method: GET, path: "/docs/{id}", weight: 3}
    - {method: PUT, path: "/docs/{id}", body: "doc {id}"}
steady_state:
  - {name: healthy, http: {path: /health}}
phases: {baseline: 5s, recovery: 5s}
faults:
  - {kind: unavailable, service: s3, region: us-east-1, for: 20s}
expect:
  availability: 0.9
  durability: true
  health_reports_degraded: true
"""
PLANNED = 30.0


def main() -> int:
    outage = Path(sys.executable).with_name("outage")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "overhead.yaml"
        path.write_text(EXPERIMENT)
        started = time.monotonic()
        result = subprocess.run(
            [str(outage), "run", str(path), "--journal", str(Path(folder) / "j.json")],
            capture_output=True,
            check=False,
            text=True,
            cwd=folder,
        )
        elapsed = time.monotonic() - started
    overhead = elapsed - PLANNED
    print(
        f"a {PLANNED:.0f}s experiment took {elapsed:.1f}s: overhead {overhead:.1f}s (target <= 5s); exit code {result.returncode}"
    )
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:])
    return 0 if overhead <= 5 and result.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
