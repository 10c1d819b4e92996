"""The servers' own capacity: requests per second when the clients cost next to nothing.

``gateway_throughput.py`` drives each server with boto3 threads in one process, as the issue set its
targets; on the fault path those clients saturate their one core (their GIL) long before the server
does, so the rate is theirs. Here the clients are WORKERS processes of THREADS threads each, every
thread on one kept-alive raw socket sending the same signed GetObject again and again (a new
connection whenever the server says ``Connection: close``), reading each answer by its
Content-Length: a few tens of microseconds of client CPU per request, so the rate is the server's.
What a load test against a dead region meets at scale: many clients, one injector.

Variants, interleaved in rotating order over ROUNDS rounds, SECONDS each: ``moto_server``; the
gateway passing to moto (100 faults armed that match nothing); the gateway answering an injected
503; microburst answering its 503 (when installed); a canned WSGI 503 on werkzeug's threaded
server. Every answer's status is checked (200 with the object's bytes, or 503), and the server's CPU
per request is read from /proc. Targets (the issue's, for the fault path): gateway 503 / gateway
pass-through >= 2.5, gateway 503 / microburst 503 >= 1.2.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

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
    start,
    stop,
)
from _bench import setup as record_setup
from _faults import non_matching
from _servers import microburst

WORKERS = 2
THREADS = 8
SECONDS = 2.0
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
BODY = b"x" * 1024
SCOPE = "Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=0"


def _request(port: int, bucket: str) -> bytes:
    """A GetObject as an SDK sends it (signature not checked by moto)."""
    return (
        f"GET /{bucket}/object HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nx-amz-date: 20260101T000000Z\r\n"
        f"x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nAuthorization: AWS4-HMAC-SHA256 {SCOPE}\r\n\r\n"
    ).encode()


def _one(sock: socket.socket, reader: BinaryIO, request: bytes) -> tuple[int, bytes, bool]:
    """Send ``request``, read its answer: (status, body, whether the server closes the connection)."""
    sock.sendall(request)
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline()
        if not line:
            raise ConnectionError("the server closed the connection")
        head += line
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = reader.read(int(headers.get("content-length", "0")))
    return int(lines[0].split()[1]), body, headers.get("connection", "").lower() == "close"


def _hammer(port: int, request: bytes, expect: int, until: float) -> tuple[int, str | None]:
    """One thread's requests until ``until`` (monotonic): (answers, the first problem or None)."""
    count = 0
    while time.monotonic() < until:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = sock.makefile("rb")
            closing = False
            while not closing and time.monotonic() < until:
                status, body, closing = _one(sock, reader, request)
                if status != expect or (expect == 200 and body != BODY):
                    return count, f"port {port}: {status} ({body[:80]!r}), expected {expect}"
                count += 1
    return count, None


def _worker(pipe: Connection) -> None:
    """A client process: for each (port, request, expect, seconds) it gets, THREADS threads hammer the server."""
    while True:
        job = pipe.recv()
        if job is None:
            return
        port, request, expect, seconds = job
        cpu_started = time.process_time()
        until = time.monotonic() + seconds
        outcomes: list[tuple[int, str | None]] = []

        def run(port: int = port, request: bytes = request, expect: int = expect) -> None:
            outcomes.append(_hammer(port, request, expect, until))  # noqa: B023 - joined below, before `until` changes

        threads = [threading.Thread(target=run) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        problems = [problem for _, problem in outcomes if problem]
        total = sum(count for count, _ in outcomes)
        pipe.send((total, problems[0] if problems else None, time.process_time() - cpu_started))


def main() -> int:  # noqa: PLR0915 - the servers are started, measured and stopped in one place
    context = multiprocessing.get_context("spawn")  # clean processes: no boto3, no servers' threads
    pipes = []
    workers = []
    for _ in range(WORKERS):
        mine, theirs = context.Pipe()
        worker = context.Process(target=_worker, args=(theirs,), daemon=True)
        worker.start()
        pipes.append(mine)
        workers.append(worker)
    ports = {name: free_port() for name in ("moto", "gateway", "canned", "burst")}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        moto = start(moto_server(ports["moto"]), f"http://127.0.0.1:{ports['moto']}/moto-api/data.json")
        processes.append(moto)
        gateway = start(outage_serve(ports["gateway"]), f"http://127.0.0.1:{ports['gateway']}/_chaos/health")
        processes.append(gateway)
        canned = start(
            [sys.executable, str(Path(__file__).with_name("_servers.py")), "canned", str(ports["canned"])],
            f"http://127.0.0.1:{ports['canned']}/",
        )
        processes.append(canned)
        for port in (ports["moto"], ports["gateway"]):
            seed_object(f"http://127.0.0.1:{port}", "bench-bucket", BODY)
        gateway_url = f"http://127.0.0.1:{ports['gateway']}"
        faults = [fault.model_dump(mode="json", by_alias=True, exclude_defaults=True) for fault in non_matching(100)]
        faults.append({"kind": "unavailable", "service": "s3", "region": "us-east-1", "buckets": ["fault-bucket"]})
        status, body = control(gateway_url, "PUT", "/_chaos/faults", faults)
        assert status == 200, body
        variants = {
            "moto_server": (ports["moto"], "bench-bucket", 200, moto.pid),
            "gateway": (ports["gateway"], "bench-bucket", 200, gateway.pid),
            "gateway 503": (ports["gateway"], "fault-bucket", 503, gateway.pid),
            "canned 503": (ports["canned"], "fault-bucket", 503, canned.pid),
        }
        command = microburst()
        if command:
            burst_url = f"http://127.0.0.1:{ports['burst']}"
            burst = start(
                [command, "--upstream", f"http://127.0.0.1:{ports['moto']}", "--port", str(ports["burst"])],
                f"{burst_url}/_microburst/health",
            )
            processes.append(burst)
            rule = {"service": "s3", "resource": "fault-bucket", "error": {"code": "ServiceUnavailable", "status": 503}}
            assert control(burst_url, "POST", "/_microburst/rules", [rule])[0] == 200
            variants["microburst 503"] = (ports["burst"], "fault-bucket", 503, burst.pid)
        else:
            print("microburst: not installed (make bench installs it in benchmarks/.microburst); compared without it")

        def measure(name: str) -> tuple[float, float, float]:
            port, bucket, expect, pid = variants[name]
            request = _request(port, bucket)
            cpu_before = cpu_seconds(pid)
            started = time.monotonic()
            for pipe in pipes:
                pipe.send((port, request, expect, SECONDS))
            answers = [pipe.recv() for pipe in pipes]
            elapsed = time.monotonic() - started
            problems = [problem for _, problem, _ in answers if problem]
            assert not problems, problems[0]
            total = sum(count for count, _, _ in answers)
            client = sum(cpu for _, _, cpu in answers)
            return total / elapsed, (cpu_seconds(pid) - cpu_before) / total, client / total

        for name in variants:  # warm-up: moto's S3, connections, caches
            measure(name)
        measures = {name: (lambda n=name: measure(n)) for name in variants}
        results = cast("dict[str, list[tuple[float, float, float]]]", interleave(cast("Any", measures), ROUNDS))
        _, ledger = control(gateway_url, "GET", "/_chaos/ledger")
        assert ledger["fired"] > 0 and ledger["total"] > ledger["fired"], "the 503 fault fired, and only it"
    finally:
        stop(*processes)
        for pipe in pipes:
            pipe.send(None)
        for worker in workers:
            worker.join(timeout=10)
    record_setup(workers=WORKERS, threads=THREADS, seconds=SECONDS, rounds=ROUNDS, object_bytes=len(BODY))
    rate = {name: [r for r, _, _ in values] for name, values in results.items()}
    cpu = {name: [c * 1e6 for _, c, _ in values] for name, values in results.items()}
    client_cpu = {name: [c * 1e6 for _, _, c in values] for name, values in results.items()}
    for name in results:
        figure(f"{name} rate", rate[name], "requests/s", label=f"{name}, cheap clients: requests/s", digits=0)
        figure(f"{name} cpu", cpu[name], "µs CPU/request", label=f"{name}, cheap clients: server CPU per request")
        figure(
            f"{name} client cpu",
            client_cpu[name],
            "µs CPU/request",
            label=f"{name}: the clients' CPU per request",
        )
    ok = figure(
        "fault path ratio",
        ratios(rate["gateway 503"], rate["gateway"]),
        "x",
        target=2.5,
        label="gateway 503 / gateway pass-through, cheap clients, requests/s",
    )
    figure("pass-through ratio", ratios(rate["gateway"], rate["moto_server"]), "x", label="gateway / moto_server")
    figure("fault path / canned", ratios(rate["gateway 503"], rate["canned 503"]), "x", label="gateway 503 / canned")
    if "microburst 503" in results:
        ok &= figure(
            "fault path / microburst",
            ratios(rate["gateway 503"], rate["microburst 503"]),
            "x",
            target=1.2,
            label="gateway 503 / microburst 503, cheap clients, requests/s",
        )
    return finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
