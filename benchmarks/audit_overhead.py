"""What the dependency audit costs a program that makes 2,000 AWS calls, measured whole-process.

The program (``PROGRAM`` below, written to a temporary file) starts Python, imports boto3 and moto,
and makes 2,000 S3 GetObject calls on moto's in-process AWS. Three variants, each a new process:

* a: the program alone;
* b: the program in the environment ``outage audit`` gives it (the audit's sitecustomize first on
  PYTHONPATH, CHAOS_AUDIT_DIR set): the record-only hook armed when botocore loads, every call
  counted, the per-process file written at exit. This is the audit's cost to the program;
* c: ``outage audit -- python PROGRAM`` end to end: b, plus the ``outage`` command's own start, the
  merge and the report (for reference).

Every variant runs once per round, the order rotating from round to round, over ROUNDS rounds; wall
and CPU (user + system of the process and its children) seconds; ratios to a taken within each round,
then their median and min-max. The audited variants must have recorded exactly the 2,000 GetObject
calls. Target: b/a <= 1.05 (wall).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import code, env, figure, finish, interleave, ratios, setup, skip

CALLS = 2000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
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


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], environ: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole process and its children."""
    started, cpu = time.perf_counter(), _cpu()
    subprocess.run(argv, env=environ, check=True, stdout=subprocess.DEVNULL, timeout=600)
    return time.perf_counter() - started, _cpu() - cpu


def main() -> int:
    # Looked for in the tree under test: the editable install would find a missing chaos.audit in the checkout.
    if not (code() / "chaos" / "audit" / "command.py").exists():
        return skip("this package has no outage audit (chaos/audit/command.py)")
    from chaos.audit.command import audit_environment, read_records

    def recorded(directory: Path) -> int:
        [record] = read_records(directory)
        assert record.error is None, record.error
        return sum(o.calls for o in record.observations if o.operation == "GetObject")

    base = {name: value for name, value in env().items() if name != "AWS_ENDPOINT_URL"}
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as work:
        program = Path(work) / "program.py"
        program.write_text(PROGRAM)
        plain = [sys.executable, str(program)]

        def a() -> tuple[float, float]:
            return _timed(plain, base)

        def b() -> tuple[float, float]:
            directory = Path(tempfile.mkdtemp(dir=work))
            measured = _timed(plain, audit_environment(directory, base))
            count = recorded(directory)
            assert count == CALLS, f"the audited program recorded {count} GetObject calls, not {CALLS}"
            return measured

        def c() -> tuple[float, float]:
            report = Path(work) / "report.json"
            report.unlink(missing_ok=True)
            command = [sys.executable, "-m", "chaos", "audit", "--json", "-o", str(report), "--", *plain]
            measured = _timed(command, base)
            data = json.loads(report.read_text())
            count = sum(d["operations"].get("GetObject", 0) for d in data["dependencies"])
            assert count == CALLS, f"outage audit reported {count} GetObject calls, not {CALLS}"
            return measured

        a()  # warm-up: files in the page cache, .pyc written
        runs = interleave({"a": a, "b": b, "c": c}, ROUNDS)
    setup(calls=CALLS, rounds=ROUNDS, recorded_calls=CALLS)
    wall = {name: [w for w, _ in values] for name, values in runs.items()}
    cpu = {name: [c for _, c in values] for name, values in runs.items()}
    labels = {
        "a": "a: the program alone",
        "b": "b: the program under the audit's environment",
        "c": "c: outage audit -- program",
    }
    for name, label in labels.items():
        figure(f"{name} wall", wall[name], "s", better="lower", label=f"{label}, wall", digits=2)
        figure(f"{name} cpu", cpu[name], "s", better="lower", label=f"{label}, CPU", digits=2)
    ok = figure("b/a wall", ratios(wall["b"], wall["a"]), "x", target=TARGET, better="lower", label="b / a, wall")
    figure("c/a wall", ratios(wall["c"], wall["a"]), "x", better="lower", label="c / a, wall")
    figure("b/a cpu", ratios(cpu["b"], cpu["a"]), "x", better="lower", label="b / a, CPU")
    figure("c/a cpu", ratios(cpu["c"], cpu["a"]), "x", better="lower", label="c / a, CPU")
    return finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
