"""Throughput of ``outage serve`` against moto's own server, and of its fault path, in one run.

1. GetObject through ``outage serve`` with 100 faults armed that match nothing, against
   ``moto_server``, 8 client threads: ratio of requests per second (target >= 0.95).
2. Injected 503s per second against pass-through GetObject per second through the same gateway
   (target >= 2.5x: answering an injected error must not touch moto).

The clients are kept light (presigned URLs over keep-alive connections) so the servers, not the
clients, are what is measured. Rounds alternate between the servers; medians are compared.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
from _faults import non_matching

THREADS = 8
SECONDS = 3.0
ROUNDS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def _start(command: list[str], probe: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(probe)
    return process


def _presigned(endpoint: str, bucket: str) -> str:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="object", Body=b"x" * 1024)
    s3 = boto3.client(
        "s3", region_name="us-east-1", endpoint_url=endpoint, config=boto3.session.Config(signature_version="s3v4")
    )
    return str(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "object"}, ExpiresIn=3600))


def _rate(url: str, expect: int) -> float:
    """Requests per second that THREADS keep-alive clients get for ``url`` over SECONDS."""
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}"
    counts = [0] * THREADS
    stop = time.monotonic() + SECONDS

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while time.monotonic() < stop:
            connection.request("GET", target)
            response = connection.getresponse()
            response.read()
            if response.status != expect:
                raise RuntimeError(f"{url}: status {response.status}, expected {expect}")
            counts[index] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def main() -> int:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    bin_dir = Path(sys.executable).parent
    moto_port, gateway_port = _free_port(), _free_port()
    moto = _start(
        [shutil.which("moto_server", path=str(bin_dir)) or "moto_server", "-p", str(moto_port)],
        f"http://127.0.0.1:{moto_port}/moto-api/data.json",
    )
    gateway = _start(
        [str(bin_dir / "outage"), "serve", "--port", str(gateway_port)],
        f"http://127.0.0.1:{gateway_port}/_chaos/health",
    )
    try:
        moto_url, gateway_url = f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{gateway_port}"
        plain_moto = _presigned(moto_url, "bench-bucket")
        through_gateway = _presigned(gateway_url, "bench-bucket")
        faulty = _presigned(gateway_url, "fault-bucket")
        # Armed after the setup: the 100 faults aim at everything but GetObject on bench-bucket.
        faults = [fault.model_dump(mode="json", by_alias=True, exclude_defaults=True) for fault in non_matching(100)]
        faults.append({"kind": "unavailable", "service": "s3", "region": "us-east-1", "buckets": ["fault-bucket"]})
        request = urllib.request.Request(
            f"{gateway_url}/_chaos/faults", data=json.dumps(faults).encode(), method="POST"
        )
        urllib.request.urlopen(request).close()
        for url, status in ((plain_moto, 200), (through_gateway, 200), (faulty, 503)):
            _rate(url, status)  # warm-up
        rates: dict[str, list[float]] = {"moto_server": [], "gateway": [], "injected 503": []}
        for _ in range(ROUNDS):
            rates["moto_server"].append(_rate(plain_moto, 200))
            rates["gateway"].append(_rate(through_gateway, 200))
            rates["injected 503"].append(_rate(faulty, 503))
    finally:
        for process in (moto, gateway):
            process.terminate()
            process.wait(timeout=10)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in medians.items():
        print(f"{name:13} {value:8.0f} requests/s (median of {ROUNDS} x {SECONDS:g}s, {THREADS} threads)")
    throughput = medians["gateway"] / medians["moto_server"]
    fault_path = medians["injected 503"] / medians["gateway"]
    print(f"gateway (100 non-matching faults) / moto_server = {throughput:.3f} (target >= 0.95)")
    print(f"injected 503s / pass-through GetObject = {fault_path:.2f}x (target >= 2.5x)")
    return 0 if throughput >= 0.95 and fault_path >= 2.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
