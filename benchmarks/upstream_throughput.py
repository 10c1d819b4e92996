"""``outage serve --upstream``: pass-through cost against the upstream itself, and memory while 200 MB pass.

1. Requests per second that THREADS keep-alive clients get from a ``moto_server`` directly, through
   ``outage serve --upstream <moto_server>`` (every request re-signed with the gateway's keys), and
   through microburst (a peer fault-injecting proxy, PyPI ``microburst``, with ``--resign``) when it
   can be had (see ``_servers.py``). Two workloads: GetObject of 1 KiB (the per-request cost) and of
   1 MiB (bytes streamed). Every variant runs once per round, in an order that rotates from round to
   round; ratios to direct are taken within each round; medians and min-max over ROUNDS rounds. The
   CPU seconds of each server process per request are read from /proc (the proxy's own, and the
   upstream's). Each answer is checked (200 and the object's size); the gateway's ledger must show
   that it forwarded every request and injected nothing. Target: gateway / direct >= 0.9.
2. Peak resident memory of the gateway above its level just before, while a 200 MB object is PUT
   through it and read back (MEMORY_ROUNDS times). Target: < 64 MiB.

The clients replay one header-signed request each (moto_server does not check signatures; the gateway
still re-signs every one), so the servers, not the clients, are what is measured.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
from _bench import (
    control,
    cpu_seconds,
    env,
    figure,
    finish,
    free_port,
    interleave,
    moto_server,
    outage_serve,
    ratios,
    rss_mib,
    setup,
    skip,
    start,
    stop,
)
from _servers import microburst
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

THREADS = 8
SECONDS = 3.0
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
MEMORY_ROUNDS = int(os.environ.get("BENCH_MEMORY_ROUNDS", "3"))
BIG = 200 * 1024 * 1024
WORKLOADS = {"1 KiB": 1024, "1 MiB": 1024 * 1024}
Target = tuple[str, int, str, dict[str, str]]


def _signed_get(endpoint: str, path: str) -> Target:
    """(host, port, path, headers) of one GET signed as an SDK signs it, for ``endpoint``."""
    parts = urlsplit(endpoint)
    request = AWSRequest(method="GET", url=f"{endpoint}{path}", headers={"host": parts.netloc})
    request.context["payload_signing_enabled"] = True
    S3SigV4Auth(Credentials("bench", "bench"), "s3", "us-east-1").add_auth(request)
    return str(parts.hostname), int(parts.port or 80), path, dict(request.headers.items())


def _measure(target: Target, size: int, proxy: int | None, upstream: int) -> Callable[[], tuple[float, ...]]:
    """A measure: (requests/s, MB/s, proxy CPU µs/request, upstream CPU µs/request) over SECONDS."""
    host, port, path, headers = target

    def once() -> tuple[float, ...]:
        counts = [0] * THREADS
        errors: list[str] = []
        stop_at = time.monotonic() + SECONDS

        def client(index: int) -> None:
            connection = http.client.HTTPConnection(host, port, timeout=60)
            try:
                while time.monotonic() < stop_at:
                    connection.request("GET", path, headers=headers)
                    response = connection.getresponse()
                    received = len(response.read())
                    if response.status != 200 or received != size:
                        errors.append(f"{host}:{port}{path}: status {response.status}, {received} bytes of {size}")
                        return
                    counts[index] += 1
            finally:
                connection.close()

        cpu_proxy = cpu_seconds(proxy) if proxy else 0.0
        cpu_upstream = cpu_seconds(upstream)
        threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        if errors:
            raise AssertionError(errors[0])
        total = sum(counts)
        proxy_cpu = (cpu_seconds(proxy) - cpu_proxy) / total * 1e6 if proxy else 0.0
        upstream_cpu = (cpu_seconds(upstream) - cpu_upstream) / total * 1e6
        return total / elapsed, total * size / elapsed / 1e6, proxy_cpu, upstream_cpu

    return once


def _memory(gateway_url: str, gateway_pid: int) -> list[tuple[float, float, float]]:
    """Per round: (RSS MiB just before, peak MiB above it during PUT and GET of BIG bytes, seconds)."""
    s3 = boto3.client(
        "s3", region_name="us-east-1", endpoint_url=gateway_url, config=Config(retries={"max_attempts": 1})
    )
    s3.create_bucket(Bucket="big-bucket")
    s3.put_object(Bucket="big-bucket", Key="small", Body=b"x")  # every code path warm first
    s3.get_object(Bucket="big-bucket", Key="small")["Body"].read()
    rounds = []
    with tempfile.NamedTemporaryFile() as handle:
        block = os.urandom(1024 * 1024)
        for _ in range(BIG // len(block)):
            handle.write(block)
        handle.flush()

        def transfer() -> None:
            with open(handle.name, "rb") as body:
                s3.put_object(Bucket="big-bucket", Key="big", Body=body)
            received = 0
            for chunk in s3.get_object(Bucket="big-bucket", Key="big")["Body"].iter_chunks(1024 * 1024):
                received += len(chunk)
            if received != BIG:
                raise RuntimeError(f"read back {received} bytes of {BIG}")

        for _ in range(MEMORY_ROUNDS):
            time.sleep(0.5)
            before = rss_mib(gateway_pid)
            started = time.monotonic()
            work = threading.Thread(target=transfer)
            peak = before
            work.start()
            while work.is_alive():
                peak = max(peak, rss_mib(gateway_pid))
                time.sleep(0.01)
            work.join()
            peak = max(peak, rss_mib(gateway_pid))
            rounds.append((before, peak - before, time.monotonic() - started))
    return rounds


def _has_upstream() -> bool:
    """Whether the package under test's ``outage serve`` can forward to an upstream."""
    result = subprocess.run(
        [sys.executable, "-m", "chaos", "serve", "--help"], env=env(), capture_output=True, text=True, check=False
    )
    return "--upstream" in result.stdout


def main() -> int:
    if not _has_upstream():
        return skip("this package's outage serve has no --upstream")
    moto_port, gateway_port = free_port(), free_port()
    moto_url, gateway_url = f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{gateway_port}"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        moto = start(moto_server(moto_port), f"{moto_url}/moto-api/data.json")
        processes.append(moto)
        gateway = start([*outage_serve(gateway_port), "--upstream", moto_url], f"{gateway_url}/_chaos/health")
        processes.append(gateway)
        proxies = {"direct": (moto_url, None), "gateway": (gateway_url, gateway.pid)}
        command = microburst()
        if command:
            port = free_port()
            burst = start(
                [command, "--upstream", moto_url, "--port", str(port), "--resign"],
                f"http://127.0.0.1:{port}/_microburst/health",
            )
            processes.append(burst)
            proxies["microburst"] = (f"http://127.0.0.1:{port}", burst.pid)
        else:
            print("microburst: not installed (make bench installs it in benchmarks/.microburst); compared without it")
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_url)
        s3.create_bucket(Bucket="bench-bucket")
        for workload, size in WORKLOADS.items():
            s3.put_object(Bucket="bench-bucket", Key=workload.replace(" ", ""), Body=os.urandom(size))
        measures = {
            f"{name} {workload}": _measure(
                _signed_get(url, f"/bench-bucket/{workload.replace(' ', '')}"), size, pid, moto.pid
            )
            for workload, size in WORKLOADS.items()
            for name, (url, pid) in proxies.items()
        }
        for measure in measures.values():  # warm-up: connections made, models loaded
            measure()
        results = interleave(measures, ROUNDS)
        # The objects exist only in the upstream: every 200 through the gateway was forwarded; none injected.
        _, ledger = control(gateway_url, "GET", "/_chaos/ledger")
        assert ledger["fired"] == 0 and ledger["total"] > 0, f"the gateway's ledger: {ledger['total']} calls"
        memory = _memory(gateway_url, gateway.pid)
    finally:
        stop(*processes)
    setup(
        threads=THREADS,
        seconds=SECONDS,
        rounds=ROUNDS,
        memory_rounds=MEMORY_ROUNDS,
        object_bytes=list(WORKLOADS.values()),
        big_mib=BIG // (1024 * 1024),
        microburst=bool(command),
    )
    ok = True
    for workload in WORKLOADS:
        unit, index = ("requests/s", 0) if workload == "1 KiB" else ("MB/s", 1)
        values = {name: [r[index] for r in results[f"{name} {workload}"]] for name in proxies}
        for name in proxies:
            figure(
                f"{name} {workload} {unit}", values[name], unit, label=f"GetObject {workload}, {name}: {unit}", digits=1
            )
            if name != "direct":
                cpu = [r[2] for r in results[f"{name} {workload}"]]
                figure(
                    f"{name} {workload} cpu",
                    cpu,
                    "µs CPU/request",
                    better="lower",
                    label=f"GetObject {workload}, {name}: its own CPU per request",
                    digits=0,
                )
            upstream = [r[3] for r in results[f"{name} {workload}"]]
            figure(
                f"{name} {workload} upstream cpu",
                upstream,
                "µs CPU/request",
                better="lower",
                label=f"GetObject {workload}, {name}: moto_server's CPU per request",
                digits=0,
            )
        ok &= figure(
            f"gateway / direct {workload}",
            ratios(values["gateway"], values["direct"]),
            "x",
            target=0.9,
            label=f"GetObject {workload}: gateway / direct, {unit}",
        )
        if "microburst" in proxies:
            figure(
                f"microburst / direct {workload}",
                ratios(values["microburst"], values["direct"]),
                "x",
                label=f"GetObject {workload}: microburst / direct, {unit}",
            )
            figure(
                f"gateway / microburst {workload}",
                ratios(values["gateway"], values["microburst"]),
                "x",
                label=f"GetObject {workload}: gateway / microburst, {unit}",
            )
    figure(
        "memory before",
        [m[0] for m in memory],
        "MiB",
        better="lower",
        label="gateway RSS before a 200 MB transfer",
        digits=1,
    )
    ok &= figure(
        "memory peak above",
        [m[1] for m in memory],
        "MiB",
        target=64,
        better="lower",
        label="gateway peak RSS above it while 200 MB are PUT and read back",
        digits=1,
    )
    figure("memory transfer s", [m[2] for m in memory], "s", better="lower", label="PUT + GET of 200 MB", digits=1)
    return finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
