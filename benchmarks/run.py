"""Run the benchmarks and write ``benchmarks/results.json`` (``make bench``).

Each script runs as its own process and hands its figures back (``_bench.finish``); this script adds
the date, the commit, the machine (cores, CPU model, Python, memory) and the load average at the
start and end of each script and of the whole run. ``docs/performance.md`` quotes only figures from
that file (``benchmarks/docs.py --check``).

    python benchmarks/run.py                       # every benchmark: the "current" figures
    python benchmarks/run.py --only hook_overhead  # one, merged into the current figures
    python benchmarks/run.py --before 3b660bf      # the same scripts against an older commit's package
    python benchmarks/run.py --tree HEAD           # "current" from a commit's clean tree, not the work tree

A script that cannot measure the package it is given (an older commit without the feature) says so
(``_bench.skip``): its entry holds the reason under "skipped" and no figure. A "current" run of the
work tree records the package files that differ from its commit ("dirty").
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"
#: In the order make bench runs them: the in-process ones first, the long whole-process ones last.
SCRIPTS = [
    "engine_decisions",
    "hook_overhead",
    "control_put",
    "gateway_throughput",
    "gateway_capacity",
    "upstream_throughput",
    "gateway_memory",
    "validate_speed",
    "load_rate",
    "pytest_overhead",
    "iam_apply",
    "audit_overhead",
    "run_overhead",
]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        memory = int(meminfo.read_text().split()[1]) // 1024
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_mib": memory,
    }


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def commit(ref: str = "HEAD") -> str:
    result = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True, text=True, check=False)
    return result.stdout.strip() or "unknown"


def dirty() -> list[str]:
    """The package's files that differ from the commit (uncommitted edits are measured too)."""
    result = subprocess.run(
        ["git", "status", "--porcelain", "--", "chaos", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return [line[3:] for line in result.stdout.splitlines()]


def run_one(name: str, code: Path) -> dict[str, Any]:
    """One script as a process, with ``code``'s package first on its path."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    env = {**os.environ, "BENCH_OUT": str(out), "BENCH_CODE": str(code), "PYTHONPATH": str(code)}
    print(f"== {name} (load {' '.join(map(str, load()))})", flush=True)
    started, load_start = time.monotonic(), load()
    result = subprocess.run([sys.executable, str(HERE / f"{name}.py")], env=env, check=False)
    entry: dict[str, Any] = {"exit_code": result.returncode, "seconds": round(time.monotonic() - started, 1)}
    entry["load"] = {"start": load_start, "end": load()}
    try:
        entry.update(json.loads(out.read_text() or "{}"))
    except (OSError, json.JSONDecodeError):
        entry["figures"] = {}
    finally:
        out.unlink(missing_ok=True)
    return entry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=SCRIPTS, help="run these only, merged into the file")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--before", metavar="COMMIT", help="measure this commit's package (stored as 'before')")
    group.add_argument("--tree", metavar="COMMIT", help="measure this commit's clean tree as 'current'")
    args = parser.parse_args()
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    section = "before" if args.before else "current"
    names = args.only or SCRIPTS
    with tempfile.TemporaryDirectory() as folder:
        code = ROOT
        ref = args.before or args.tree
        if ref:
            code = Path(folder)
            archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
        previous = results.get(section, {}) if args.only else {}
        run: dict[str, Any] = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": commit(ref or "HEAD"),
            "tree": "work tree" if code == ROOT else f"clean tree of {commit(ref)}",
            "dirty": dirty() if code == ROOT else [],
            "machine": machine(),
            "load": {"start": load()},
            "benchmarks": dict(previous.get("benchmarks", {})),
        }
        failed, skipped = [], []
        for name in names:
            entry = run_one(name, code)
            entry["commit"] = run["commit"]  # with --only, entries of several commits share the section
            entry["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            run["benchmarks"][name] = entry
            if entry["exit_code"] != 0:
                failed.append(name)
            if entry.get("skipped"):
                skipped.append(name)
        run["load"]["end"] = load()
    # Read again: another run (of the other section) may have written the file meanwhile.
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[section] = run
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    print(
        f"wrote {RESULTS.relative_to(ROOT)} ({section}); missed or failed: {', '.join(failed) or 'none'}; "
        f"skipped: {', '.join(skipped) or 'none'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
