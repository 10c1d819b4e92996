"""What the dependency audit costs a program that makes 2,000 AWS calls, measured whole-process.

The program (``PROGRAM`` below, written to a temporary file) starts Python, imports boto3 and moto,
and makes 2,000 S3 GetObject calls on moto's in-process AWS. Three variants, each a new process:

* a: the program alone;
* b: the program in the environment ``outage audit`` gives it (the audit's sitecustomize first on
  PYTHONPATH, CHAOS_AUDIT_DIR set): the record-only hook armed when botocore loads, every call
  counted, the per-process file written at exit. This is the audit's cost to the program;
* c: ``outage audit -- python PROGRAM`` end to end: b, plus the ``outage`` command's own start, the
  merge and the report (for reference).

Variants run in rotating order over ROUNDS rounds (round r starts with variant r mod 3), so a busy
machine slows all of them alike; each variant's median and min-max are printed, and the ratios of
the medians. The audited variants must have recorded exactly the 2,000 GetObject calls.
Target: b/a <= 1.05.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from chaos.audit.command import audit_environment, read_records

CALLS = 2000
ROUNDS = 5
TARGET = 1.05
PROGRAM = f"""
import os
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
import boto3
from moto import mock_aws
with mock_aws():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="bench-bucket")
    s3.put_object(Bucket="bench-bucket", Key="k", Body=b"x" * 1024)
    for _ in range({CALLS}):
        s3.get_object(Bucket="bench-bucket", Key="k")
"""
OUTAGE = Path(sys.executable).with_name("outage")
CPU_TIMES: list[float] = []


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one whole process; its CPU seconds are added to CPU_TIMES."""
    started, cpu = time.perf_counter(), _cpu()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, timeout=600)
    CPU_TIMES.append(_cpu() - cpu)
    return time.perf_counter() - started


def _get_objects_recorded(directory: Path) -> int:
    [record] = read_records(directory)
    assert record.error is None, record.error
    return sum(o.calls for o in record.observations if o.operation == "GetObject")


def main() -> int:
    env = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as work:
        program = Path(work) / "program.py"
        program.write_text(PROGRAM)
        plain = [sys.executable, str(program)]

        def a() -> float:
            return _timed(plain, env)

        def b() -> float:
            directory = Path(tempfile.mkdtemp(dir=work))
            elapsed = _timed(plain, audit_environment(directory, env))
            recorded = _get_objects_recorded(directory)
            assert recorded == CALLS, f"the audited program recorded {recorded} GetObject calls, not {CALLS}"
            return elapsed

        def c() -> float:
            report = Path(work) / "report.json"
            elapsed = _timed([str(OUTAGE), "audit", "--json", "-o", str(report), "--", *plain], env)
            data = json.loads(report.read_text())
            recorded = sum(d["operations"].get("GetObject", 0) for d in data["dependencies"])
            assert recorded == CALLS, f"outage audit reported {recorded} GetObject calls, not {CALLS}"
            return elapsed

        variants = {"a: program alone": a, "b: program under audit": b, "c: outage audit -- program": c}
        names = list(variants)
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        a()  # warm-up: files in the page cache, .pyc written
        for round_ in range(ROUNDS):
            order = names[round_ % 3 :] + names[: round_ % 3]
            for name in order:
                times[name].append(variants[name]())
                cpu[name].append(CPU_TIMES[-1])
            print(f"round {round_ + 1}: " + ", ".join(f"{n[:1]} {times[n][-1]:.2f}s" for n in names), flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{CALLS} moto S3 GetObject calls per process, {ROUNDS} rounds, rotating order")
    for name, values in times.items():
        print(f"{name:28} median {medians[name]:.2f}s (min {min(values):.2f}s, max {max(values):.2f}s)")
    base = medians[names[0]]
    b_ratio, c_ratio = medians[names[1]] / base, medians[names[2]] / base
    spread = [value / base for value in times[names[1]]]
    print(
        f"b/a = {b_ratio:.3f} (each round's b over a's median: {min(spread):.3f} to {max(spread):.3f}; target <= {TARGET})"
    )
    print(f"c/a = {c_ratio:.3f} (for reference: adds the outage command's start, the merge and the report)")
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    for name, values in cpu.items():
        print(f"{name:28} CPU median {cpu_medians[name]:.2f}s (min {min(values):.2f}s, max {max(values):.2f}s)")
    cpu_base = cpu_medians[names[0]]
    print(
        f"CPU b/a = {cpu_medians[names[1]] / cpu_base:.3f}, c/a = {cpu_medians[names[2]] / cpu_base:.3f} "
        "(CPU time is less disturbed by other work on the machine than wall time)"
    )
    print(f"the audited variants recorded {CALLS} of {CALLS} GetObject calls")
    return 0 if b_ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
