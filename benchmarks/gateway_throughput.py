"""Throughput of ``outage serve``: its pass-through against ``moto_server``, and its fault path against
its own pass-through, microburst and the smallest WSGI app that answers a canned 503, in one run.

Clients: boto3 S3 clients, retries off, THREADS threads in this process, GetObject of a 1 KiB
object for SECONDS per measure. Variants, interleaved in rotating order over ROUNDS rounds:

- ``moto_server``: moto's own server (the baseline of pass-through);
- ``gateway``: through ``outage serve`` with 100 faults armed that match nothing;
- ``gateway 503``: the gateway answering an injected 503 (a fault on another bucket);
- ``microburst 503``: microburst (a peer proxy) in front of ``moto_server`` answering its injected 503,
  when it can be had (see ``_servers.py``);
- ``canned 503``: werkzeug's threaded server with a WSGI app that answers a constant 503 (the lower
  bound of a Python WSGI server per request).

Each variant's answers are checked (200 and the object's bytes; 503 ServiceUnavailable), and the
server's CPU seconds per request are read from /proc: a measure the clients' share of the two cores
does not blur. The clients' own CPU per request is measured too: they are threads of one process,
so they use one core at most, and when they do, the rate is theirs, not the server's; "client
ceiling" is the rate a server that cost nothing would give them. Targets: gateway/moto_server >= 0.95;
gateway 503 / gateway >= 2.5; gateway 503 / microburst 503 >= 1.2.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
from _bench import (
    control,
    cpu_seconds,
    figure,
    finish,
    free_port,
    interleave,
    moto_server,
    outage_serve,
    ratios,
    seed_object,
    setup,
    start,
    stop,
)
from _faults import mixed, non_matching
from _servers import microburst
from botocore.config import Config
from botocore.exceptions import ClientError

THREADS = 8
SECONDS = 2.0
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
ARM_ROUNDS = 5
BODY = b"x" * 1024


def _client(endpoint: str) -> object:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=THREADS)
    return boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint, config=config)


def _measure(endpoint: str, bucket: str, expect: int, pids: list[int]) -> Callable[[], tuple[float, float, float]]:
    """A measure: (requests per second, server CPU seconds per request, client CPU seconds per request)
    for GetObject of ``bucket``; the clients are this process's threads (one GIL: at most one core)."""
    clients = [_client(endpoint) for _ in range(THREADS)]

    def once() -> tuple[float, float, float]:
        counts = [0] * THREADS
        problems: list[str] = []
        stop_at = time.monotonic() + SECONDS

        def work(index: int) -> None:
            get = clients[index].get_object  # type: ignore[attr-defined]
            while time.monotonic() < stop_at:
                try:
                    body = get(Bucket=bucket, Key="object")["Body"].read()
                    status = 200 if body == BODY else -1
                except ClientError as exc:
                    code = exc.response["Error"]["Code"]
                    status = exc.response["ResponseMetadata"]["HTTPStatusCode"] if code == "ServiceUnavailable" else -2
                if status != expect:
                    problems.append(f"{endpoint} {bucket}: got {status}, expected {expect}")
                    return
                counts[index] += 1

        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        client_before = time.process_time()
        threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        client = time.process_time() - client_before
        if problems:
            raise AssertionError(problems[0])
        total = sum(counts)
        return total / elapsed, cpu / total, client / total

    return once


def main() -> int:  # noqa: PLR0915 - the servers are started, measured and stopped in one place
    moto_port, gateway_port, canned_port, burst_port = free_port(), free_port(), free_port(), free_port()
    one_port, many_port = free_port(), free_port()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        moto = start(moto_server(moto_port), f"http://127.0.0.1:{moto_port}/moto-api/data.json")
        processes.append(moto)
        gateway = start(outage_serve(gateway_port), f"http://127.0.0.1:{gateway_port}/_chaos/health")
        processes.append(gateway)
        one = start(outage_serve(one_port), f"http://127.0.0.1:{one_port}/_chaos/health")
        processes.append(one)
        many = start(outage_serve(many_port), f"http://127.0.0.1:{many_port}/_chaos/health")
        processes.append(many)
        canned = start(
            [sys.executable, str(Path(__file__).with_name("_servers.py")), "canned", str(canned_port)],
            f"http://127.0.0.1:{canned_port}/",
        )
        processes.append(canned)
        moto_url, gateway_url = f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{gateway_port}"
        seed_object(moto_url, "bench-bucket", BODY)
        seed_object(gateway_url, "bench-bucket", BODY)
        seed_object(gateway_url, "fault-bucket", BODY)
        faults = [fault.model_dump(mode="json", by_alias=True, exclude_defaults=True) for fault in non_matching(100)]
        faults.append({"kind": "unavailable", "service": "s3", "region": "us-east-1", "buckets": ["fault-bucket"]})
        status, body = control(gateway_url, "PUT", "/_chaos/faults", faults)
        assert status == 200, body
        one_url, many_url = f"http://127.0.0.1:{one_port}", f"http://127.0.0.1:{many_port}"
        for url in (one_url, many_url):
            seed_object(url, "bench-bucket", BODY)
        assert control(one_url, "PUT", "/_chaos/faults", faults[-1:])[0] == 200
        # 10,000 faults on S3 in us-east-1 that miss bench-bucket's GetObject, as a client must send
        # them: 1,000 per request (the control API's cap), the first a PUT.
        # Armed ARM_ROUNDS times over (each PUT replaces the set): the time to arm them is a median too.
        loading = []
        many_faults = [fault.to_json() for fault in mixed(10_000)]
        for _ in range(ARM_ROUNDS):
            started = time.perf_counter()
            for chunk in range(10):
                batch = many_faults[chunk * 1000 : (chunk + 1) * 1000]
                status, body = control(many_url, "POST" if chunk else "PUT", "/_chaos/faults", batch)
                assert status in (200, 201), body
            loading.append(time.perf_counter() - started)
        assert len(control(many_url, "GET", "/_chaos/faults")[1]["faults"]) == 10_000
        measures = {
            "moto_server": _measure(moto_url, "bench-bucket", 200, [moto.pid]),
            "gateway": _measure(gateway_url, "bench-bucket", 200, [gateway.pid]),
            "gateway 503": _measure(gateway_url, "fault-bucket", 503, [gateway.pid]),
            "gateway, 1 fault": _measure(one_url, "bench-bucket", 200, [one.pid]),
            "gateway, 10,000 faults": _measure(many_url, "bench-bucket", 200, [many.pid]),
            "canned 503": _measure(f"http://127.0.0.1:{canned_port}", "fault-bucket", 503, [canned.pid]),
        }
        command = microburst()
        if command:
            burst = start(
                [command, "--upstream", moto_url, "--port", str(burst_port)],
                f"http://127.0.0.1:{burst_port}/_microburst/health",
            )
            processes.append(burst)
            rule = {"service": "s3", "resource": "fault-bucket", "error": {"code": "ServiceUnavailable", "status": 503}}
            assert control(f"http://127.0.0.1:{burst_port}", "POST", "/_microburst/rules", [rule])[0] == 200
            measures["microburst 503"] = _measure(f"http://127.0.0.1:{burst_port}", "fault-bucket", 503, [burst.pid])
        else:
            print("microburst: not installed (make bench installs it in benchmarks/.microburst); compared without it")
        for measure in measures.values():  # warm-up: models loaded, connections made, caches filled
            measure()
        results = interleave(measures, ROUNDS)
        _, ledger = control(gateway_url, "GET", "/_chaos/ledger")
        fired = {e["bucket"] for e in ledger["events"] if e["outcome"] != "pass"}
        assert fired == {"fault-bucket"}, f"faults fired on {fired}: the 100 were meant to match nothing"
        _, ledger = control(many_url, "GET", "/_chaos/ledger")
        assert ledger["fired"] == 0 and ledger["total"] > 0, "the 10,000 faults were meant to match nothing"
    finally:
        stop(*processes)
    rate = {name: [r for r, _, _ in values] for name, values in results.items()}
    cpu = {name: [c * 1e6 for _, c, _ in values] for name, values in results.items()}
    client = {name: [c * 1e6 for _, _, c in values] for name, values in results.items()}
    setup(threads=THREADS, seconds=SECONDS, rounds=ROUNDS, faults=100, object_bytes=len(BODY), status=503)
    for name in results:
        figure(f"{name} rate", rate[name], "requests/s", label=f"{name}: requests/s", digits=0)
        figure(f"{name} cpu", cpu[name], "µs CPU/request", label=f"{name}: server CPU per request", digits=0)
        figure(
            f"{name} client cores",
            [r * c / 1e6 for r, c in zip(rate[name], client[name], strict=True)],
            "cores",
            label=f"{name}: the clients' CPU in cores (their one process: at most 1)",
            digits=2,
        )
    # Every comparison, as a ratio per round: (numerator, denominator, what, target, results.json keys of
    # the requests/s ratio and of the CPU-per-request ratio, None where it is not reported).
    comparisons: list[tuple[str, str, str, float | None, str, str | None]] = [
        ("gateway", "moto_server", "gateway / moto_server", 0.95, "pass-through ratio", "pass-through cpu ratio"),
        ("gateway 503", "gateway", "gateway 503 / gateway pass-through", 2.5, "fault path ratio", None),
        (
            "gateway 503",
            "canned 503",
            "gateway 503 / canned WSGI 503",
            None,
            "fault path / canned",
            "fault path cpu / canned",
        ),
        (
            "gateway, 10,000 faults",
            "gateway, 1 fault",
            "gateway pass-through, 10,000 faults / 1 fault",
            0.9,
            "many faults ratio",
            "many faults cpu ratio",
        ),
    ]
    if "microburst 503" in results:
        comparisons.append(
            (
                "gateway 503",
                "microburst 503",
                "gateway 503 / microburst 503",
                1.2,
                "fault path / microburst",
                "fault path cpu / microburst",
            )
        )
    ok = True
    for over, under, what, target, rate_key, cpu_key in comparisons:
        ok &= figure(rate_key, ratios(rate[over], rate[under]), "x", target=target, label=f"{what}, requests/s")
        if cpu_key is not None:
            figure(cpu_key, ratios(cpu[over], cpu[under]), "x", better="lower", label=f"{what}, CPU per request")
    # The clients' ceiling: requests per second of client CPU, the rate a server that cost nothing would
    # allow them (their work per request does not depend on the server). Against it, what a fault-path
    # ratio could reach at most in this setup.
    ceiling = [1e6 / c for c in client["gateway 503"]]
    figure(
        "client ceiling rate",
        ceiling,
        "requests/s",
        label="the clients' ceiling (1 / client CPU per request)",
        digits=0,
    )
    figure(
        "ceiling / gateway pass-through",
        ratios(ceiling, rate["gateway"]),
        "x",
        label="most a fault path could reach over the gateway's pass-through with these clients",
    )
    if "microburst 503" in results:
        figure(
            "ceiling / microburst",
            ratios(ceiling, rate["microburst 503"]),
            "x",
            label="most a fault path could reach over microburst's with these clients",
        )
    figure(
        "load 10000 s",
        loading,
        "s",
        better="lower",
        label="arming 10,000 faults over HTTP (PUT + 9 POSTs of 1,000)",
        digits=2,
    )
    return finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
