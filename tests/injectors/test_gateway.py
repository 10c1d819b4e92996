"""``outage serve`` as a real subprocess, with boto3 and the AWS CLI as clients."""

from __future__ import annotations

import functools
import hashlib
import io
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

import chaos
from tests.conftest import failure, wait_until
from tests.injectors.gateway_helpers import OUTAGE, Gateway, start_gateway

S3_EAST = {"kind": "unavailable", "service": "s3", "region": "us-east-1"}


@pytest.fixture(scope="module")
def server() -> Iterator[Gateway]:
    gateway = start_gateway("--seed", "2")  # reset numbers faults from 0: each test's draws are reproducible
    try:
        yield gateway
    finally:
        code, out = gateway.stop()
        assert code == 0, out


@pytest.fixture
def gateway(server: Gateway) -> Gateway:
    server.reset()
    return server


def _buckets(gateway: Gateway) -> tuple[Any, Any]:
    east, west = gateway.client("s3", "us-east-1"), gateway.client("s3", "eu-west-1")
    east.create_bucket(Bucket="east-bucket")
    west.create_bucket(Bucket="west-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return east, west


def test_boto3_sees_a_us_east_1_outage_with_its_retries_while_eu_west_1_works(gateway: Gateway) -> None:
    east, west = _buckets(gateway)
    gateway.arm(S3_EAST)
    with chaos.compressed_time():
        assert failure(lambda: east.put_object(Bucket="east-bucket", Key="k", Body=b"x")) == "ServiceUnavailable"
    west.put_object(Bucket="west-bucket", Key="k", Body=b"x")
    assert west.get_object(Bucket="west-bucket", Key="k")["Body"].read() == b"x"
    events = [e for e in gateway.ledger()["events"] if e["operation"] == "PutObject" and e["region"] == "us-east-1"]
    assert [e["attempt"] for e in events] == [1, 2, 3]  # botocore's own retries, seen by the gateway
    assert len({e["invocation_id"] for e in events}) == 1
    assert {e["outcome"] for e in events} == {"ServiceUnavailable"}
    gateway.control("DELETE", "/_chaos/faults")
    assert east.list_objects_v2(Bucket="east-bucket")["KeyCount"] == 0  # the failed write stored nothing


def _aws_cli(gateway: Gateway, region: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": gateway.url,
        "AWS_DEFAULT_REGION": region,
        "AWS_RETRY_MODE": "standard",
        "AWS_MAX_ATTEMPTS": "3",
    }
    aws = Path(sys.executable).with_name("aws")
    return subprocess.run([str(aws), *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def test_the_aws_cli_sees_the_same_outage(gateway: Gateway) -> None:
    _buckets(gateway)
    gateway.arm(S3_EAST)
    failed = _aws_cli(gateway, "us-east-1", "s3api", "list-objects-v2", "--bucket", "east-bucket")
    assert failed.returncode != 0
    assert "ServiceUnavailable" in failed.stderr
    worked = _aws_cli(
        gateway, "eu-west-1", "s3api", "put-object", "--bucket", "west-bucket", "--key", "cli", "--body", __file__
    )
    assert worked.returncode == 0, worked.stderr
    events = [e for e in gateway.ledger()["events"] if e["operation"] == "ListObjectsV2"]
    assert [e["attempt"] for e in events] == [1, 2, 3]
    assert {e["region"] for e in events} == {"us-east-1"}


@pytest.mark.parametrize("signature", ["s3", "s3v4"])
def test_presigned_urls_are_attributed_to_the_buckets_region(gateway: Gateway, signature: str) -> None:
    _, west = _buckets(gateway)
    west.put_object(Bucket="west-bucket", Key="doc", Body=b"presigned")
    signer = gateway.client("s3", "eu-west-1", signature_version=signature)
    url = signer.generate_presigned_url("get_object", Params={"Bucket": "west-bucket", "Key": "doc"})
    assert ("X-Amz-Credential" in url) == (signature == "s3v4")
    gateway.arm(S3_EAST)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"presigned"
    gateway.arm({**S3_EAST, "region": "eu-west-1"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=10)
    with caught.value:
        assert caught.value.code == 503
    presigned = [e for e in gateway.ledger()["events"] if e["key"] == "doc" and e["operation"] == "GetObject"]
    assert [(e["region"], e["outcome"]) for e in presigned] == [
        ("eu-west-1", "pass"),
        ("eu-west-1", "ServiceUnavailable"),
    ]


def test_multipart_upload_completes_through_20_percent_503s(gateway: Gateway) -> None:
    east, _ = _buckets(gateway)
    gateway.arm({**S3_EAST, "probability": 0.2})
    payload = random.Random(7).randbytes(16 * 1024 * 1024)
    s3 = gateway.client("s3", "us-east-1", attempts=10)
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=4)
    with chaos.compressed_time():
        s3.upload_fileobj(io.BytesIO(payload), "east-bucket", "big.bin", Config=config)
        gateway.control("DELETE", "/_chaos/faults")
        body = east.get_object(Bucket="east-bucket", Key="big.bin")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(payload).hexdigest()
    ledger = gateway.ledger()
    parts = [c for c in ledger["counts"] if c["operation"] == "UploadPart"]
    assert sum(c["count"] for c in parts if c["outcome"] == "pass") == 4
    assert ledger["fired"] > 0


def test_16_clients_x_100_requests_with_30_percent_faults(gateway: Gateway) -> None:
    east, _ = _buckets(gateway)
    gateway.arm({**S3_EAST, "probability": 0.3})
    before = gateway.ledger()["total"]
    results: list[list[tuple[str, str, str | None]]] = [[] for _ in range(16)]

    def work(worker: int) -> None:
        s3 = gateway.client("s3", "us-east-1", attempts=1, read_timeout=30, connect_timeout=10)
        for index in range(100):
            key = f"w{worker}/k{index}"
            if index % 2 == 0:
                outcome = failure(functools.partial(s3.put_object, Bucket="east-bucket", Key=key, Body=key.encode()))
                results[worker].append(("put", key, outcome))
            else:
                previous = f"w{worker}/k{index - 1}"
                outcome = failure(functools.partial(s3.get_object, Bucket="east-bucket", Key=previous))
                results[worker].append(("get", previous, outcome))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(work, range(16)))
    flat = [item for worker in results for item in worker]
    assert len(flat) == 1600  # every request answered, none hung
    assert {outcome for _, _, outcome in flat} <= {None, "ServiceUnavailable", "NoSuchKey"}
    ledger = gateway.ledger()
    assert ledger["total"] - before == 1600
    injected = sum(1 for _, _, outcome in flat if outcome == "ServiceUnavailable")
    assert ledger["fired"] == injected
    assert 0.25 < injected / 1600 < 0.35
    gateway.control("DELETE", "/_chaos/faults")
    stored = {
        obj["Key"]
        for page in east.get_paginator("list_objects_v2").paginate(Bucket="east-bucket")
        for obj in page.get("Contents", [])
    }
    acknowledged = {key for kind, key, outcome in flat if kind == "put" and outcome is None}
    assert stored == acknowledged  # nothing stored by a failed write, nothing acknowledged lost


def test_connection_error_closes_without_an_answer(gateway: Gateway) -> None:
    _buckets(gateway)
    gateway.arm({"kind": "connection_error", "service": "s3", "region": "us-east-1"})
    s3 = gateway.client("s3", attempts=1)
    with pytest.raises(ConnectionClosedError):
        s3.list_objects_v2(Bucket="east-bucket")


def test_timeout_holds_the_request_until_the_client_gives_up(gateway: Gateway) -> None:
    _buckets(gateway)
    gateway.arm({"kind": "timeout", "service": "s3", "region": "us-east-1", "latency": "30s"})
    s3 = gateway.client("s3", attempts=1, read_timeout=0.5)
    with pytest.raises(ReadTimeoutError):
        s3.list_objects_v2(Bucket="east-bucket")


def test_lost_response_executes_the_write_and_drops_the_answer(gateway: Gateway) -> None:
    east, _ = _buckets(gateway)
    gateway.arm(
        {"kind": "lost_response", "service": "s3", "region": "us-east-1", "operations": ["PutObject"], "latency": "30s"}
    )
    s3 = gateway.client("s3", attempts=1, read_timeout=0.5)
    with pytest.raises(ReadTimeoutError):
        s3.put_object(Bucket="east-bucket", Key="ghost", Body=b"boo")
    gateway.control("DELETE", "/_chaos/faults")
    assert east.get_object(Bucket="east-bucket", Key="ghost")["Body"].read() == b"boo"


def test_other_services_through_the_gateway(gateway: Gateway) -> None:
    gateway.arm(
        {"kind": "throttle", "service": "dynamodb", "region": "eu-west-1"}, {"kind": "access_denied", "service": "sqs"}
    )
    with chaos.compressed_time():
        assert failure(gateway.client("dynamodb", "eu-west-1").list_tables) == "ThrottlingException"
    assert failure(gateway.client("dynamodb", "us-east-1").list_tables) is None
    assert failure(gateway.client("sqs", "us-west-2").list_queues) == "AccessDeniedException"
    assert failure(gateway.client("sts").get_caller_identity) is None


def test_control_api_faults_listing_and_removal(gateway: Gateway) -> None:
    ids = gateway.arm(S3_EAST, {"kind": "latency", "service": "s3", "latency": "1s", "after": "1h"})
    status, listing = gateway.control("GET", "/_chaos/faults")
    assert status == 200
    assert [(f["id"], f["active"]) for f in listing["faults"]] == [(ids[0], True), (ids[1], False)]
    assert listing["faults"][1]["fault"] == {"kind": "latency", "service": ["s3"], "latency": "1s", "after": "1h"}
    assert gateway.control("DELETE", f"/_chaos/faults/{ids[0]}") == (200, {"removed": [ids[0]]})
    assert gateway.control("DELETE", f"/_chaos/faults/{ids[0]}")[0] == 404
    status, _ = gateway.control("PUT", "/_chaos/faults", {"faults": [S3_EAST]})
    assert status == 200 and len(gateway.control("GET", "/_chaos/faults")[1]["faults"]) == 1
    assert gateway.control("GET", "/_chaos/health")[1]["faults"] == 1
    assert gateway.control("GET", "/_chaos/nothing")[0] == 404


def test_control_api_rejects_bad_json_and_unknown_kinds(gateway: Gateway) -> None:
    status, body = gateway.control("POST", "/_chaos/faults", b"{not json")
    assert status == 400 and body["error"].startswith("body: invalid JSON at line 1 column 2")
    status, body = gateway.control("POST", "/_chaos/faults", [{"kind": "unavailble", "region": "us-east1"}])
    assert status == 400
    assert [p["path"] for p in body["problems"]] == ["faults[0].kind", "faults[0].region"]
    assert "did you mean 'unavailable'?" in body["problems"][0]["message"]
    status, body = gateway.control("POST", "/_chaos/faults", {"kind": "unavailable", "probabilty": 0.5})
    assert status == 400 and "did you mean 'probability'?" in body["error"]
    assert gateway.control("GET", "/_chaos/faults")[1]["faults"] == []


def test_control_api_needs_the_token_when_one_is_set() -> None:
    gateway = start_gateway(token="s3cret")
    try:
        assert gateway.control("GET", "/_chaos/health", token="")[0] == 401
        assert gateway.control("POST", "/_chaos/faults", [S3_EAST], token="wrong")[0] == 401
        assert gateway.control("GET", "/_chaos/faults")[1]["faults"] == []
        assert gateway.control("POST", "/_chaos/faults", [S3_EAST])[0] == 201
        # AWS calls themselves need no token: they are what the faults are for.
        assert failure(gateway.client("s3", attempts=1).list_buckets) == "ServiceUnavailable"
    finally:
        assert gateway.stop()[0] == 0


def test_a_non_loopback_host_without_a_token_is_refused() -> None:
    result = subprocess.run(
        [str(OUTAGE), "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "not loopback" in result.stderr and "--token" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_on_signals(sig: int, tmp_path: Path) -> None:
    experiment = tmp_path / "exp.yaml"
    experiment.write_text("version: 1\ntitle: t\nfaults:\n  - {kind: unavailable, service: s3, region: us-east-1}\n")
    gateway = start_gateway("--faults", str(experiment))
    assert failure(gateway.client("s3", attempts=1).list_buckets) == "ServiceUnavailable"
    code, out = gateway.stop(sig)
    assert code == 0, out
    assert "armed 1 fault from" in out
    assert "stopped: 1 AWS calls seen, faults fired on 1" in out


def test_outage_inject_arms_a_fault_then_removes_it(gateway: Gateway) -> None:
    _buckets(gateway)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    fault = "{kind: unavailable, service: s3, region: us-east-1}"
    process = subprocess.Popen(
        [str(OUTAGE), "inject", "--endpoint", gateway.url, "--fault", fault],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    wait_until(lambda: len(gateway.control("GET", "/_chaos/faults")[1]["faults"]) == 1, what="the injected fault")
    s3 = gateway.client("s3", attempts=1)
    assert failure(lambda: s3.list_objects_v2(Bucket="east-bucket")) == "ServiceUnavailable"
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out
    assert "removed fault ids" in out
    assert gateway.control("GET", "/_chaos/faults")[1]["faults"] == []
    assert failure(lambda: s3.list_objects_v2(Bucket="east-bucket")) is None


def test_outage_inject_for_a_duration(gateway: Gateway) -> None:
    result = subprocess.run(
        [
            str(OUTAGE),
            "inject",
            "--endpoint",
            gateway.url,
            "--fault",
            '{"kind": "throttle", "service": "dynamodb"}',
            "--for",
            "200ms",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "for 200ms" in result.stdout and "removed fault ids [" in result.stdout
    assert gateway.control("GET", "/_chaos/faults")[1]["faults"] == []
    assert gateway.ledger()["total"] == 0


def test_outage_inject_rejects_a_bad_fault(gateway: Gateway) -> None:
    result = subprocess.run(
        [str(OUTAGE), "inject", "--endpoint", gateway.url, "--fault", "{kind: unavailble}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "kind: unknown fault kind 'unavailble'; did you mean 'unavailable'?" in result.stderr


def test_latency_delays_then_passes_to_moto(gateway: Gateway) -> None:
    east, _ = _buckets(gateway)
    gateway.arm(
        {"kind": "latency", "service": "s3", "region": "us-east-1", "operations": ["ListObjectsV2"], "latency": "300ms"}
    )
    started = time.monotonic()
    assert east.list_objects_v2(Bucket="east-bucket")["KeyCount"] == 0
    assert time.monotonic() - started >= 0.3  # a lower bound: it cannot answer before the delay
    assert [c["outcome"] for c in gateway.ledger()["counts"] if c["operation"] == "ListObjectsV2"] == ["latency"]


def _rss_mib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) // 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")
def test_an_idle_gateway_builds_s3_on_first_use_unless_warmed() -> None:
    # moto's S3 backend and the gateway's S3 routes (about 35 MB) are built by the first S3 request; `--warm`
    # builds them at start instead. Either way the first request works.
    cold, warm = start_gateway(), start_gateway("--warm")
    try:
        wait_until(lambda: _rss_mib(warm.process.pid) > _rss_mib(cold.process.pid) + 15, what="the warm-up")
        for gateway in (cold, warm):
            s3 = gateway.client("s3")
            s3.create_bucket(Bucket="first-use")
            assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["first-use"]
        assert abs(_rss_mib(warm.process.pid) - _rss_mib(cold.process.pid)) < 15  # the same, once S3 is used
    finally:
        for gateway in (cold, warm):
            gateway.stop(signal.SIGTERM)
