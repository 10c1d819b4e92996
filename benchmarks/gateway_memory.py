"""Resident memory of ``outage serve`` against ``moto_server`` in the same run.

Per round (ROUNDS rounds, the two servers started in rotating order): each server idle once it
answers (after a settling pause); after 10,000 requests (presigned S3 GetObject from 8 threads, plus
calls to SQS, DynamoDB, STS and CloudWatch, whose signing name is not its service name); after
10,000 more; and the peak during a 200 MB PutObject (VmHWM), less the memory before it.
Targets: idle RSS of the gateway <= 1.5x moto_server's; the upload adds no more than moto's own.
"""

from __future__ import annotations

import http.client
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
from _bench import (
    figure,
    finish,
    free_port,
    moto_server,
    outage_serve,
    peak_rss_mib,
    ratios,
    rotations,
    rss_mib,
    setup,
    start,
    stop,
)
from botocore.config import Config

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
REQUESTS = 10_000
THREADS = 8
UPLOAD = 200 * 1024 * 1024
SETTLE = 3.0


def _client(service: str, endpoint: str) -> object:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, signature_version="s3v4")
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint, config=config)  # type: ignore[call-overload]


def _presigned(endpoint: str, method: str, key: str) -> str:
    operation = "get_object" if method == "GET" else "put_object"
    s3 = _client("s3", endpoint)
    params = {"Bucket": "memory", "Key": key}
    return str(s3.generate_presigned_url(operation, Params=params, ExpiresIn=3600))  # type: ignore[attr-defined]


def _requests(endpoint: str, count: int) -> None:
    """``count`` GetObject requests from THREADS threads (and one call each to other services)."""
    for service, call in (
        ("sqs", "list_queues"),
        ("dynamodb", "list_tables"),
        ("sts", "get_caller_identity"),
        ("cloudwatch", "list_metrics"),
    ):
        getattr(_client(service, endpoint), call)()
    url = urlsplit(_presigned(endpoint, "GET", "object"))
    target = f"{url.path}?{url.query}"
    problems: list[str] = []

    def work(share: int) -> None:
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        for _ in range(share):
            connection.request("GET", target)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                problems.append(f"status {response.status}")
                return
        connection.close()

    threads = [threading.Thread(target=work, args=(count // THREADS,)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not problems, problems[0]


def _upload(endpoint: str) -> None:
    """A 200 MB PutObject, streamed from here in 1 MiB pieces; checked with HeadObject."""
    url = urlsplit(_presigned(endpoint, "PUT", "large"))
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    connection.putrequest("PUT", f"{url.path}?{url.query}")
    connection.putheader("Content-Length", str(UPLOAD))
    connection.endheaders()
    piece = b"m" * (1024 * 1024)
    for _ in range(UPLOAD // len(piece)):
        connection.send(piece)
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
    head = _client("s3", endpoint).head_object(Bucket="memory", Key="large")  # type: ignore[attr-defined]
    assert head["ContentLength"] == UPLOAD


def _round(kind: str) -> dict[str, float]:
    port = free_port()
    if kind == "moto_server":
        process = start(moto_server(port), f"http://127.0.0.1:{port}/moto-api/data.json")
    else:
        process = start(outage_serve(port), f"http://127.0.0.1:{port}/_chaos/health")
    endpoint = f"http://127.0.0.1:{port}"
    try:
        time.sleep(SETTLE)
        measured = {"idle": rss_mib(process.pid)}
        s3 = _client("s3", endpoint)
        s3.create_bucket(Bucket="memory")  # type: ignore[attr-defined]
        s3.put_object(Bucket="memory", Key="object", Body=b"x" * 1024)  # type: ignore[attr-defined]
        _requests(endpoint, REQUESTS)
        measured["after 10,000"] = rss_mib(process.pid)
        _requests(endpoint, REQUESTS)
        measured["after 20,000"] = rss_mib(process.pid)
        before = rss_mib(process.pid)
        _upload(endpoint)
        measured["upload peak"] = peak_rss_mib(process.pid) - before
        return measured
    finally:
        stop(process)


def main() -> int:
    results: dict[str, list[dict[str, float]]] = {"moto_server": [], "gateway": []}
    for order in rotations(list(results), ROUNDS):
        for kind in order:
            results[kind].append(_round(kind))
    setup(rounds=ROUNDS, requests=REQUESTS, threads=THREADS, upload_mib=UPLOAD // (1024 * 1024), settle_s=SETTLE)
    for kind, rounds in results.items():
        for stage in rounds[0]:
            label = (
                f"{kind}: {'RSS' if stage != 'upload peak' else 'peak during a 200 MB upload, above its RSS before'}"
            )
            figure(f"{kind} {stage}", [r[stage] for r in rounds], "MiB", label=f"{label} {stage}", digits=0)
    idle = ratios([r["idle"] for r in results["gateway"]], [r["idle"] for r in results["moto_server"]])
    ok = figure("idle ratio", idle, "x", target=1.5, better="lower", label="gateway / moto_server, idle RSS")
    for stage in ("after 10,000", "after 20,000"):
        grown = [r[stage] - r["idle"] for r in results["gateway"]]
        figure(f"gateway growth {stage}", grown, "MiB", better="lower", label=f"gateway: growth {stage}", digits=0)
    upload = [
        g["upload peak"] - m["upload peak"] for g, m in zip(results["gateway"], results["moto_server"], strict=True)
    ]
    figure("upload extra", upload, "MiB", better="lower", label="gateway's upload peak less moto_server's", digits=0)
    return finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
