"""What every benchmark shares: interleaved rounds in rotating order, ratios with their spread, and
the figures written where ``benchmarks/run.py`` collects them into ``benchmarks/results.json``.

A noisy machine (2 cores shared with test suites) slows whatever runs at that moment: so each round
runs every variant once, the order rotating from round to round (each variant goes first as often
as the others), and a ratio is taken within each round before its median and min-max are taken.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Where run.py wants this script's figures (unset: they are only printed).
OUT = os.environ.get("BENCH_OUT")

# boto3 clients here and in the servers sign with these (nothing reaches AWS).
for _name, _value in (
    ("AWS_ACCESS_KEY_ID", "bench"),
    ("AWS_SECRET_ACCESS_KEY", "bench"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
):
    os.environ.setdefault(_name, _value)

_figures: dict[str, dict[str, Any]] = {}
_setup: dict[str, Any] = {}


def rotations(names: Sequence[str], rounds: int) -> list[list[str]]:
    """The order of the variants in each round: rotated by one each round."""
    return [list(names[r % len(names) :]) + list(names[: r % len(names)]) for r in range(rounds)]


def interleave(variants: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run every variant once per round in rotating order; each returns its measure. Per round, in order."""
    results: dict[str, list[float]] = {name: [] for name in variants}
    for order in rotations(list(variants), rounds):
        for name in order:
            results[name].append(variants[name]())
    return results


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Round by round: numerator / denominator of the same round."""
    return [a / b for a, b in zip(numerators, denominators, strict=True)]


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def setup(**facts: Any) -> None:
    """The benchmark's parameters (calls, threads, faults...), recorded beside its figures."""
    _setup.update(facts)


def figure(
    name: str,
    values: Sequence[float],
    unit: str,
    *,
    target: float | None = None,
    better: str = "higher",
    label: str = "",
    digits: int = 3,
) -> bool:
    """Record and print one figure: median and min-max of ``values``; returns whether it meets ``target``."""
    stats = spread(values)
    meets = None
    if target is not None:
        meets = stats["median"] >= target if better == "higher" else stats["median"] <= target
    _figures[name] = {
        **{key: round(value, digits) if key != "n" else value for key, value in stats.items()},
        "unit": unit,
        "target": target,
        "better": better,
        "meets": meets,
        "label": label or name,
        "values": [round(value, digits) for value in values],
    }
    want = "" if target is None else f"  (target {'>=' if better == 'higher' else '<='} {target:g}: "
    want += "" if target is None else ("ok)" if meets else "MISSED)")
    print(
        f"{label or name}: median {stats['median']:.{digits}f} {unit}, "
        f"min-max {stats['min']:.{digits}f}-{stats['max']:.{digits}f} over {len(values)}{want}",
        flush=True,
    )
    return meets is not False


def finish(all_met: bool = True) -> int:
    """Write the figures for run.py; the exit code (1 when a target was missed)."""
    if OUT:
        Path(OUT).write_text(json.dumps({"setup": _setup, "figures": _figures}, indent=2))
    return 0 if all_met else 1


def skip(reason: str) -> int:
    """The package under test cannot be measured this way (an older commit without the feature): say why,
    record no figure; exit code 0 (run.py notes the reason in results.json)."""
    print(f"skipped: {reason}", flush=True)
    if OUT:
        Path(OUT).write_text(json.dumps({"skipped": reason, "setup": _setup, "figures": {}}, indent=2))
    return 0


def code() -> Path:
    """The checkout whose package is measured (run.py --before: an older commit's tree)."""
    return Path(os.environ.get("BENCH_CODE", str(ROOT)))


# Processes: servers started as subprocesses, with this checkout's package first on the path.


def env() -> dict[str, str]:
    """The environment for a child process: the package under test first on its path.

    PYTHONSAFEPATH: ``python -m chaos`` and ``python -c`` would otherwise put the working directory
    first on the path, ahead of PYTHONPATH, and a child started from the checkout would import the
    work tree's package instead of the one under test (``run.py --before``)."""
    code = os.environ.get("BENCH_CODE", str(ROOT))
    path = os.environ.get("PYTHONPATH", "")
    return {
        **os.environ,
        "PYTHONSAFEPATH": "1",
        "PYTHONPATH": code + (os.pathsep + path if path else ""),
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers: up
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up in {seconds}s")


def start(command: list[str], probe: str) -> subprocess.Popen[bytes]:
    """A server process, once ``probe`` answers."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
    try:
        wait_for(probe)
    except BaseException:
        process.kill()
        raise
    return process


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def moto_server(port: int) -> list[str]:
    return [sys.executable, "-c", "from moto.server import main; main()", "-p", str(port)]


def outage_serve(port: int) -> list[str]:
    return [sys.executable, "-m", "chaos", "serve", "--port", str(port)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def peak_rss_mib(pid: int) -> float:
    """The highest resident memory a process has had, in MiB (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def seed_object(endpoint: str, bucket: str, body: bytes, key: str = "object") -> None:
    """A bucket and one object in it, through the server at ``endpoint`` itself."""
    import boto3  # a client process that only measures never imports boto3

    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def control(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """A call to a gateway's control API."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())
