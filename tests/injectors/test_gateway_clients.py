"""Real S3 clients PUTting bodies through ``connection_error``: one ledger entry per attempt, a quiet log.

A dropped PutObject used to leave its body on the connection, where the server read it as the next
request: the log filled with ``414 Request-URI Too Long`` and ``400`` lines, and a body that was an
HTTP request ran. The clients here are boto3, the AWS CLI, MinIO's Python client (no
``amz-sdk-request`` header: its attempts are counted instead of numbered) and the AWS SDK for
JavaScript v3 (installed by ``make test`` from ``js/package-lock.json``).
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ConnectionClosedError

import chaos
from tests.injectors.gateway_helpers import Gateway, address, start_gateway

SIZES = {"small": 1024, "1MB": 1024 * 1024, "multipart": 12 * 1024 * 1024}
DROP = {"kind": "connection_error", "service": "s3", "operations": ["PutObject", "UploadPart"]}
WRITES = ("PutObject", "UploadPart")


@pytest.fixture(scope="module")
def server() -> Iterator[Gateway]:
    gateway = start_gateway()
    try:
        yield gateway
    finally:
        code, out = gateway.stop()
        assert code == 0, out
        # werkzeug logs a body parsed as a request as "code 400, message Bad request ..." or 414.
        for sign in ("code 4", "414", "Bad request", "Request-URI Too Long", "Traceback", "Error on request"):
            assert sign not in out, out


@pytest.fixture
def gateway(server: Gateway) -> Gateway:
    server.reset()
    server.client("s3").create_bucket(Bucket="drops")
    server.arm(DROP)
    return server


def _payload(size: str) -> bytes:
    return random.Random(size).randbytes(SIZES[size])


def _writes(gateway: Gateway) -> list[dict[str, Any]]:
    events = gateway.ledger()["events"]
    assert all(e["operation"] != "Unknown" for e in events), events  # nothing parsed out of a body
    return [e for e in events if e["operation"] in WRITES]


def _one_entry_per_attempt(gateway: Gateway, attempts: int) -> list[dict[str, Any]]:
    """Every SDK invocation has exactly attempts 1..N in the ledger, each once."""
    writes = _writes(gateway)
    assert writes, "no write reached the gateway"
    by_invocation: dict[str, list[int]] = defaultdict(list)
    for event in writes:
        assert event["outcome"] == "connection_error", event
        by_invocation[event["invocation_id"]].append(event["attempt"])
    for invocation, seen in by_invocation.items():
        assert sorted(seen) == list(range(1, attempts + 1)), (invocation, seen)
    return writes


def _stored(gateway: Gateway) -> list[str]:
    gateway.control("DELETE", "/_chaos/faults")
    return [o["Key"] for o in gateway.client("s3").list_objects_v2(Bucket="drops").get("Contents", [])]


@pytest.mark.parametrize("size", SIZES)
def test_boto3(gateway: Gateway, size: str) -> None:
    s3 = gateway.client("s3", attempts=2)
    body = _payload(size)

    def put() -> None:
        if size == "multipart":
            config = TransferConfig(multipart_threshold=5 * 2**20, multipart_chunksize=5 * 2**20, max_concurrency=1)
            s3.upload_fileobj(io.BytesIO(body), "drops", "k", Config=config)
        else:
            s3.put_object(Bucket="drops", Key="k", Body=body)

    with chaos.compressed_time(), pytest.raises((ConnectionClosedError, S3UploadFailedError)):
        put()
    writes = _one_entry_per_attempt(gateway, attempts=2)
    assert {e["operation"] for e in writes} == {"UploadPart" if size == "multipart" else "PutObject"}
    assert _stored(gateway) == []


@pytest.mark.parametrize("size", SIZES)
def test_the_aws_cli(gateway: Gateway, size: str, tmp_path: Path) -> None:
    source = tmp_path / "body.bin"
    source.write_bytes(_payload(size))
    config = tmp_path / "config"
    config.write_text("[default]\ns3 =\n  max_concurrent_requests = 1\n")  # one part at a time: each retried fully
    env = {
        **os.environ,
        "AWS_CONFIG_FILE": str(config),
        "AWS_ENDPOINT_URL": gateway.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_RETRY_MODE": "standard",
        "AWS_MAX_ATTEMPTS": "2",
    }
    aws = Path(sys.executable).with_name("aws")
    result = subprocess.run(
        [str(aws), "s3", "cp", str(source), "s3://drops/k"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode != 0, result.stdout
    writes = _one_entry_per_attempt(gateway, attempts=2)
    assert {e["operation"] for e in writes} == {"UploadPart" if size == "multipart" else "PutObject"}
    assert _stored(gateway) == []


@pytest.mark.parametrize("size", SIZES)
def test_minio(gateway: Gateway, size: str) -> None:
    minio = pytest.importorskip("minio")
    host, port = address(gateway.url)
    retries = urllib3.Retry(total=2, backoff_factor=0, status_forcelist=[])  # 3 attempts of each request
    with urllib3.PoolManager(retries=retries) as http:
        client = minio.Minio(
            f"{host}:{port}",
            access_key="testing",
            secret_key="testing",
            secure=False,
            region="us-east-1",
            http_client=http,
        )
        body = _payload(size)
        length, part_size = (-1, 5 * 2**20) if size == "multipart" else (len(body), 0)
        with pytest.raises((urllib3.exceptions.MaxRetryError, urllib3.exceptions.ProtocolError)):
            client.put_object(
                "drops", "k", io.BytesIO(body), length=length, part_size=part_size, num_parallel_uploads=1
            )
    writes = _writes(gateway)
    assert [e["operation"] for e in writes] == ["UploadPart" if size == "multipart" else "PutObject"] * 3
    assert _stored(gateway) == []


JS = Path(__file__).with_name("js")


@pytest.mark.parametrize("size", SIZES)
def test_the_javascript_sdk_v3(gateway: Gateway, size: str) -> None:
    if shutil.which("node") is None or not (JS / "node_modules" / "@aws-sdk" / "client-s3").is_dir():
        pytest.skip("the JavaScript SDK is installed by `make test` (npm ci in tests/injectors/js)")
    command = ["node", str(JS / "put.mjs"), gateway.url, "drops", "k", str(SIZES[size])]
    if size == "multipart":
        command.append("multipart")
    env = {**os.environ, "NODE_NO_WARNINGS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["ok"] is False, (outcome, result.stderr)
    writes = _one_entry_per_attempt(gateway, attempts=2)
    assert {e["operation"] for e in writes} == {"UploadPart" if size == "multipart" else "PutObject"}
    assert _stored(gateway) == []
