"""``outage serve --upstream`` in front of s3rver, an S3 implementation that shares no code with moto or
botocore (installed by ``make test`` from ``js/package-lock.json``; skipped where npm is not).

Forwarded untouched (``--no-resign``: s3rver started to accept any well-formed signature of its key),
and once re-signed in front of a strict s3rver, whose own SigV4 check then vouches for the signatures.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError

import chaos
from tests.conftest import failure
from tests.injectors.gateway_helpers import Gateway, start_gateway
from tests.injectors.upstream_helpers import S3rver, aws_cli, running_s3rver, s3rver_available

pytestmark = pytest.mark.skipif(not s3rver_available(), reason="s3rver is installed by `make test` (npm ci)")
KEY = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER"}


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3rver]:
    with running_s3rver(tmp_path_factory.mktemp("s3rver")) as server:
        yield server


@pytest.fixture(scope="module")
def server(s3rver: S3rver) -> Iterator[Gateway]:
    gateway = start_gateway("--upstream", s3rver.url, "--no-resign")
    try:
        yield gateway
    finally:
        code, out = gateway.stop()
        assert code == 0, out


@pytest.fixture
def gateway(server: Gateway) -> Gateway:
    server.reset()
    return server


def _s3(gateway: Gateway, region: str = "us-east-1", attempts: int = 3, key: str = "S3RVER") -> Any:
    """A client of the gateway signing with ``key`` (untouched signatures must name a key s3rver has)."""
    session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=key, region_name=region)
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    return session.client("s3", endpoint_url=gateway.url, config=config)


def test_objects_and_multipart_pass_through_untouched(gateway: Gateway, s3rver: S3rver) -> None:
    s3 = _s3(gateway)
    s3.create_bucket(Bucket="plain-bucket")
    s3.put_object(Bucket="plain-bucket", Key="a/b c.txt", Body=b"hello")
    assert s3rver.stored("plain-bucket", "a/b c.txt")
    assert s3.get_object(Bucket="plain-bucket", Key="a/b c.txt")["Body"].read() == b"hello"
    payload = random.Random(5).randbytes(12 * 1024 * 1024)
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(payload), "plain-bucket", "big.bin", Config=config)
    assert (s3rver.directory / "plain-bucket" / "big.bin._S3rver_object").read_bytes() == payload
    health = gateway.control("GET", "/_chaos/health")[1]["upstream"]
    assert health["url"] == s3rver.url and health["answers"] is True and health["resign"] is False


def test_a_503_outage_seen_by_boto3_and_the_cli_never_reaches_s3rver(gateway: Gateway, s3rver: S3rver) -> None:
    _s3(gateway).create_bucket(Bucket="outage-bucket")
    gateway.arm({"kind": "unavailable", "service": "s3", "region": "us-east-1"})
    before = s3rver.requests()
    with chaos.compressed_time():
        assert failure(lambda: _s3(gateway).put_object(Bucket="outage-bucket", Key="k", Body=b"x")) == (
            "ServiceUnavailable"
        )
    cli = aws_cli(gateway.url, "us-east-1", "s3api", "list-objects-v2", "--bucket", "outage-bucket", env=KEY)
    assert cli.returncode != 0 and "ServiceUnavailable" in cli.stderr
    assert s3rver.requests() == before and not s3rver.stored("outage-bucket", "k")
    assert [e["attempt"] for e in gateway.ledger()["events"] if e["operation"] == "PutObject"] == [1, 2, 3]


def test_a_region_outage_fails_one_region_only(gateway: Gateway, s3rver: S3rver) -> None:
    _s3(gateway).create_bucket(Bucket="regional-bucket")
    gateway.arm({"kind": "unavailable", "service": "*", "region": "eu-west-1"})
    before = s3rver.requests()
    with chaos.compressed_time():
        west = _s3(gateway, "eu-west-1")
        assert failure(lambda: west.put_object(Bucket="regional-bucket", Key="w", Body=b"x")) == "ServiceUnavailable"
    cli = aws_cli(gateway.url, "eu-west-1", "s3api", "head-bucket", "--bucket", "regional-bucket", env=KEY)
    assert cli.returncode != 0 and "503" in cli.stderr
    assert s3rver.requests() == before
    east = aws_cli(
        gateway.url, "us-east-1", "s3api", "put-object", "--bucket", "regional-bucket", "--key", "e", env=KEY
    )
    assert east.returncode == 0, east.stderr
    assert s3rver.stored("regional-bucket", "e") and not s3rver.stored("regional-bucket", "w")


def test_connection_error_in_front_of_s3rver(gateway: Gateway, s3rver: S3rver) -> None:
    _s3(gateway).create_bucket(Bucket="dropped-bucket")
    gateway.arm({"kind": "connection_error", "service": "s3"})
    before = s3rver.requests()
    with pytest.raises(ConnectionClosedError):
        _s3(gateway, attempts=1).put_object(Bucket="dropped-bucket", Key="k", Body=b"x" * 100_000)
    cli = aws_cli(gateway.url, "us-east-1", "s3api", "list-objects-v2", "--bucket", "dropped-bucket", env=KEY)
    assert cli.returncode != 0 and "Connection was closed" in cli.stderr
    assert s3rver.requests() == before and not s3rver.stored("dropped-bucket", "k")


def test_re_signed_calls_pass_a_strict_s3rvers_own_signature_check(tmp_path: Path) -> None:
    with running_s3rver(tmp_path, strict=True) as strict:
        gateway = start_gateway("--upstream", strict.url, env=KEY)  # the gateway signs with s3rver's key
        try:
            s3 = _s3(gateway, key="testing")  # a key s3rver does not have
            s3.create_bucket(Bucket="signed-bucket")
            payload = random.Random(9).randbytes(3 * 1024 * 1024)
            s3.put_object(Bucket="signed-bucket", Key="k", Body=payload, Metadata={"owner": "team"})
            got = s3.get_object(Bucket="signed-bucket", Key="k")
            assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(payload).digest()
            assert got["Metadata"] == {"owner": "team"}
        finally:
            assert gateway.stop()[0] == 0
        untouched = start_gateway("--upstream", strict.url, "--no-resign", env=KEY)
        try:
            assert failure(_s3(untouched, key="testing").list_buckets) == "InvalidAccessKeyId"  # the check is real
        finally:
            assert untouched.stop()[0] == 0
