"""``outage serve --upstream``: pass-through cost against the upstream itself, and memory while 200 MB pass.

1. Requests per second that 8 keep-alive clients get from a ``moto_server`` directly, through
   ``outage serve --upstream <moto_server>`` (every request re-signed with the gateway's keys), and
   through microburst (a peer fault-injecting proxy, PyPI ``microburst``) when a ``microburst``
   executable is on PATH or in $MICROBURST. Two workloads: GetObject of 1 KiB (the per-request
   cost) and of 1 MiB (bytes streamed). One interleaved run: in each round every variant runs once,
   in an order that rotates from round to round; medians and min-max over ROUNDS rounds.
   Target: gateway / direct >= 0.9.
2. Peak resident memory of the gateway above its idle level while a 200 MB object is PUT through it
   and read back. Target: < 64 MB.

The clients replay one header-signed request each (moto_server does not check signatures; the gateway
still re-signs every one), so the servers, not the clients, are what is measured.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

THREADS = 8
SECONDS = 3.0
ROUNDS = int(os.environ.get("ROUNDS", "5"))
BIG = 200 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(command: list[str], probe: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(probe, timeout=1):
                return process
        except urllib.error.HTTPError:
            return process  # it answers
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{command[0]} did not come up at {probe}")


def _signed_get(endpoint: str, path: str) -> tuple[str, int, str, dict[str, str]]:
    """(host, port, path, headers) of one GET signed as an SDK signs it, for ``endpoint``."""
    parts = urlsplit(endpoint)
    request = AWSRequest(method="GET", url=f"{endpoint}{path}", headers={"host": parts.netloc})
    request.context["payload_signing_enabled"] = True
    S3SigV4Auth(Credentials("bench", "bench"), "s3", "us-east-1").add_auth(request)
    return str(parts.hostname), int(parts.port or 80), path, dict(request.headers.items())


def _rate(target: tuple[str, int, str, dict[str, str]]) -> tuple[float, float]:
    """(requests/s, MB/s) that THREADS keep-alive clients get for ``target`` over SECONDS."""
    host, port, path, headers = target
    counts, sizes = [0] * THREADS, [0] * THREADS
    stop = time.monotonic() + SECONDS
    errors: list[str] = []

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        try:
            while time.monotonic() < stop:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                sizes[index] += len(response.read())
                if response.status != 200:
                    errors.append(f"{host}:{port}{path}: status {response.status}")
                    return
                counts[index] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])
    elapsed = time.monotonic() - started
    return sum(counts) / elapsed, sum(sizes) / elapsed / 1e6


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _peak_rss_during(pid: int, work: threading.Thread) -> int:
    peak = 0
    work.start()
    while work.is_alive():
        peak = max(peak, _rss_kib(pid))
        time.sleep(0.01)
    work.join()
    return max(peak, _rss_kib(pid))


def _memory(gateway_url: str, gateway_pid: int) -> tuple[float, float, float]:
    """(idle MiB, peak MiB during PUT and GET of BIG bytes, seconds) of the gateway."""
    s3 = boto3.client(
        "s3", region_name="us-east-1", endpoint_url=gateway_url, config=Config(retries={"max_attempts": 1})
    )
    s3.create_bucket(Bucket="big-bucket")
    with tempfile.NamedTemporaryFile() as handle:
        block = os.urandom(1024 * 1024)
        for _ in range(BIG // len(block)):
            handle.write(block)
        handle.flush()
        s3.put_object(Bucket="big-bucket", Key="small", Body=b"x")  # warm every code path first
        s3.get_object(Bucket="big-bucket", Key="small")["Body"].read()
        time.sleep(0.5)
        idle = _rss_kib(gateway_pid)
        started = time.monotonic()

        def transfer() -> None:
            with open(handle.name, "rb") as body:
                s3.put_object(Bucket="big-bucket", Key="big", Body=body)
            received = 0
            for chunk in s3.get_object(Bucket="big-bucket", Key="big")["Body"].iter_chunks(1024 * 1024):
                received += len(chunk)
            if received != BIG:
                raise RuntimeError(f"read back {received} bytes of {BIG}")

        peak = _peak_rss_during(gateway_pid, threading.Thread(target=transfer))
    return idle / 1024, peak / 1024, time.monotonic() - started


def _microburst() -> str | None:
    found = os.environ.get("MICROBURST") or shutil.which("microburst")
    return found if found and Path(found).exists() else None


def main() -> int:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    bin_dir = Path(sys.executable).parent
    moto_port, gateway_port = _free_port(), _free_port()
    moto_url, gateway_url = f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{gateway_port}"
    processes = [
        _start(
            [str(bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)], f"{moto_url}/moto-api/data.json"
        )
    ]
    gateway = _start(
        [str(bin_dir / "outage"), "serve", "--port", str(gateway_port), "--upstream", moto_url],
        f"{gateway_url}/_chaos/health",
    )
    processes.append(gateway)
    endpoints = {"direct": moto_url, "gateway": gateway_url}
    microburst = _microburst()
    if microburst:
        port = _free_port()
        command = [microburst, "--upstream", moto_url, "--port", str(port), "--resign"]
        processes.append(_start(command, f"http://127.0.0.1:{port}/"))
        endpoints["microburst"] = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_url)
        s3.create_bucket(Bucket="bench-bucket")
        s3.put_object(Bucket="bench-bucket", Key="small", Body=b"x" * 1024)
        s3.put_object(Bucket="bench-bucket", Key="large", Body=os.urandom(1024 * 1024))
        workloads = ("small", "large")
        targets = {
            (name, key): _signed_get(url, f"/bench-bucket/{key}")
            for name, url in endpoints.items()
            for key in workloads
        }
        for target in targets.values():
            _rate(target)  # warm-up
        names = list(endpoints)
        results: dict[tuple[str, str], list[tuple[float, float]]] = {key: [] for key in targets}
        for round_index in range(ROUNDS):
            order = names[round_index % len(names) :] + names[: round_index % len(names)]
            for key in workloads:
                for name in order:
                    results[(name, key)].append(_rate(targets[(name, key)]))
        idle, peak, seconds = _memory(gateway_url, gateway.pid)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    print(f"{ROUNDS} interleaved rounds x {SECONDS:g}s, {THREADS} keep-alive clients, rotating order")
    if not microburst:
        print("microburst: not run (no `microburst` on PATH or in $MICROBURST; `pip install microburst` in any venv)")
    ratios = []
    for key, unit, index in (("small", "requests/s", 0), ("large", "MB/s", 1)):
        label = "GetObject 1 KiB" if key == "small" else "GetObject 1 MiB"
        direct = statistics.median(value[index] for value in results[("direct", key)])
        for name in names:
            values = [value[index] for value in results[(name, key)]]
            median = statistics.median(values)
            ratio = median / direct
            print(
                f"{label:16} {name:10} median {median:8.1f} {unit:10} (min {min(values):.1f}, max {max(values):.1f})"
                f"  {ratio:.2f} of direct"
            )
            if name == "gateway":
                ratios.append(ratio)
    print(
        f"gateway RSS while 200 MB go through (PUT + GET, {seconds:.1f}s): idle {idle:.1f} MiB, peak {peak:.1f} MiB, "
        f"+{peak - idle:.1f} MiB (target < 64)"
    )
    ok = min(ratios) >= 0.9 and peak - idle < 64
    print(f"gateway / direct: {' and '.join(f'{r:.2f}' for r in ratios)} (target >= 0.9): {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
