"""``outage serve --upstream`` in front of moto_server with IAM enforcement.

The clients sign with keys the upstream has never heard of (``testing``): only the gateway's
re-signing, with the keys of an IAM user it takes from its environment, makes their calls succeed.
Faults look to boto3 and the AWS CLI as they do with the embedded moto, and moto's own request
recorder shows that nothing a fault stopped reached it.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import random
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

import chaos
from tests.conftest import failure, free_port
from tests.injectors.gateway_helpers import Gateway, address, start_gateway
from tests.injectors.test_resign import aws_chunked
from tests.injectors.upstream_helpers import MotoUpstream, aws_cli, moto_with_iam

S3_EAST = {"kind": "unavailable", "service": "s3", "region": "us-east-1"}
WEST_OUTAGE = {"kind": "unavailable", "service": "*", "region": "eu-west-1"}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoUpstream]:
    with moto_with_iam(tmp_path_factory.mktemp("moto")) as moto:
        yield moto


@pytest.fixture(scope="module")
def server(upstream: MotoUpstream) -> Iterator[Gateway]:
    gateway = start_gateway("--upstream", upstream.url, "--seed", "2", env=upstream.gateway_env)
    try:
        yield gateway
    finally:
        code, out = gateway.stop()
        assert code == 0, out
        assert "Traceback" not in out, out


@pytest.fixture
def gateway(server: Gateway) -> Gateway:
    server.reset()  # faults and ledger; the upstream's data stays (it is not the gateway's to wipe)
    return server


def _bucket(gateway: Gateway, name: str, region: str = "us-east-1") -> Any:
    s3 = gateway.client("s3", region)
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **config)
    return s3


def _scopes(received: list[dict[str, Any]]) -> list[str]:
    """The credential scope of each request the upstream received (``region/service``)."""
    scopes = []
    for entry in received:
        authorization = {k.lower(): v for k, v in entry["headers"].items()}.get("authorization", "")
        parts = authorization.split("Credential=")[1].split(",")[0].split("/") if "Credential=" in authorization else []
        scopes.append(f"{parts[2]}/{parts[3]}" if parts else "unsigned")
    return scopes


def test_the_upstream_knows_only_the_gateways_keys(gateway: Gateway, upstream: MotoUpstream) -> None:
    import boto3

    direct = boto3.client("s3", region_name="us-east-1", endpoint_url=upstream.url)
    assert failure(direct.list_buckets) == "InvalidAccessKeyId"  # the client's own keys, straight to moto
    assert failure(gateway.client("s3").list_buckets) is None
    health = gateway.control("GET", "/_chaos/health")[1]
    assert health["backend"] == "upstream"
    assert health["upstream"] == {**health["upstream"], "url": upstream.url, "answers": True, "resign": True}


def test_s3_multipart_20mb_arrives_byte_for_byte(gateway: Gateway, upstream: MotoUpstream) -> None:
    s3 = _bucket(gateway, "multipart-bucket")
    payload = random.Random(20).randbytes(20 * 1024 * 1024)
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=4)
    s3.upload_fileobj(io.BytesIO(payload), "multipart-bucket", "big.bin", Config=config)
    stored = upstream.client("s3").get_object(Bucket="multipart-bucket", Key="big.bin")["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(payload).digest()
    through = s3.get_object(Bucket="multipart-bucket", Key="big.bin")["Body"].read()
    assert through == payload
    parts = [c for c in gateway.ledger()["counts"] if c["operation"] == "UploadPart"]
    assert sum(c["count"] for c in parts) == 4


def test_dynamodb_and_sqs_through_the_gateway(gateway: Gateway, upstream: MotoUpstream) -> None:
    dynamodb = gateway.client("dynamodb", "eu-west-1")
    dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="orders", Item={"id": {"S": "1"}, "total": {"N": "42"}})
    assert dynamodb.get_item(TableName="orders", Key={"id": {"S": "1"}})["Item"]["total"] == {"N": "42"}
    assert upstream.client("dynamodb", "eu-west-1").describe_table(TableName="orders")["Table"]["TableName"] == "orders"
    sqs = gateway.client("sqs", "eu-west-1")
    queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="job 1")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=queue)["Messages"]] == ["job 1"]


def test_a_503_outage_as_boto3_and_the_cli_see_it_and_nothing_reaches_moto(
    gateway: Gateway, upstream: MotoUpstream
) -> None:
    _bucket(gateway, "east-outage")
    gateway.arm(S3_EAST)
    upstream.record()
    with chaos.compressed_time():
        put = failure(lambda: gateway.client("s3").put_object(Bucket="east-outage", Key="k", Body=b"x"))
    cli = aws_cli(gateway.url, "us-east-1", "s3api", "list-objects-v2", "--bucket", "east-outage")
    assert upstream.received() == []  # neither the PUTs nor the CLI's three attempts reached moto
    assert put == "ServiceUnavailable"
    assert cli.returncode != 0 and "ServiceUnavailable" in cli.stderr
    events = gateway.ledger()["events"]
    assert [e["attempt"] for e in events if e["operation"] == "PutObject"] == [1, 2, 3]
    assert [e["attempt"] for e in events if e["operation"] == "ListObjectsV2"] == [1, 2, 3]
    gateway.control("DELETE", "/_chaos/faults")
    assert upstream.client("s3").list_objects_v2(Bucket="east-outage")["KeyCount"] == 0


def test_a_region_outage_stops_every_service_there_and_only_there(gateway: Gateway, upstream: MotoUpstream) -> None:
    west = _bucket(gateway, "west-outage", "eu-west-1")
    gateway.arm(WEST_OUTAGE)
    upstream.record()
    with chaos.compressed_time():
        assert failure(lambda: west.put_object(Bucket="west-outage", Key="k", Body=b"x")) == "ServiceUnavailable"
        assert failure(gateway.client("dynamodb", "eu-west-1").list_tables) == "ServiceUnavailable"
        assert failure(gateway.client("sqs", "eu-west-1").list_queues) is not None
    cli = aws_cli(gateway.url, "eu-west-1", "dynamodb", "list-tables")
    assert cli.returncode != 0 and "ServiceUnavailable" in cli.stderr
    assert failure(gateway.client("dynamodb", "us-east-1").list_tables) is None
    assert aws_cli(gateway.url, "us-east-1", "sqs", "list-queues").returncode == 0
    assert _scopes(upstream.received()) == ["us-east-1/dynamodb", "us-east-1/sqs"]


def test_connection_error_closes_without_an_answer_and_never_forwards(gateway: Gateway, upstream: MotoUpstream) -> None:
    _bucket(gateway, "dropped-bucket")
    gateway.arm({"kind": "connection_error", "service": "s3", "region": "us-east-1"})
    upstream.record()
    with pytest.raises(ConnectionClosedError):
        gateway.client("s3", attempts=1).put_object(Bucket="dropped-bucket", Key="k", Body=b"x" * 100_000)
    cli = aws_cli(gateway.url, "us-east-1", "s3api", "list-objects-v2", "--bucket", "dropped-bucket")
    assert cli.returncode != 0 and "Connection was closed" in cli.stderr
    assert upstream.received() == []


def test_lost_response_forwards_then_drops_the_answer(gateway: Gateway, upstream: MotoUpstream) -> None:
    _bucket(gateway, "ghost-bucket")
    gateway.arm({"kind": "lost_response", "service": "s3", "operations": ["PutObject"], "latency": "30s"})
    with pytest.raises(ReadTimeoutError):
        gateway.client("s3", attempts=1, read_timeout=1).put_object(Bucket="ghost-bucket", Key="ghost", Body=b"boo")
    assert upstream.client("s3").get_object(Bucket="ghost-bucket", Key="ghost")["Body"].read() == b"boo"


@pytest.mark.parametrize("signature", ["s3v4", "s3"])
def test_presigned_urls_are_forwarded_header_signed(gateway: Gateway, upstream: MotoUpstream, signature: str) -> None:
    s3 = _bucket(gateway, f"presigned-{signature}", "eu-west-1")
    s3.put_object(Bucket=f"presigned-{signature}", Key="doc", Body=b"presigned")
    signer = gateway.client("s3", "eu-west-1", signature_version=signature)
    url = signer.generate_presigned_url("get_object", Params={"Bucket": f"presigned-{signature}", "Key": "doc"})
    upstream.record()
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"presigned"
    (entry,) = upstream.received()
    # SigV4 keeps the client's scope; SigV2 names no region: the bucket's, learnt from the calls before.
    assert "Signature" not in entry["url"] and _scopes([entry]) == ["eu-west-1/s3"]
    gateway.arm({**S3_EAST, "region": "eu-west-1"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=10)
    with caught.value:
        assert caught.value.code == 503


def _signed(url: str, method: str, body: bytes, headers: dict[str, str], host: str) -> dict[str, str]:
    """Headers of a request a client signs for the gateway with keys moto does not know."""
    request = AWSRequest(method=method, url=url, data=body, headers={**headers, "host": host})
    S3SigV4Auth(Credentials("testing", "testing"), "s3", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def _send(gateway: Gateway, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(*address(gateway.url), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_virtual_hosted_requests_reach_a_url_upstream_path_style(gateway: Gateway, upstream: MotoUpstream) -> None:
    _bucket(gateway, "virtual-bucket")
    port = address(gateway.url)[1]
    host = f"virtual-bucket.localhost:{port}"
    headers = _signed(f"http://{host}/hello.txt", "PUT", b"virtual", {"content-length": "7"}, host)
    assert _send(gateway, "PUT", "/hello.txt", headers, b"virtual")[0] == 200
    assert upstream.client("s3").get_object(Bucket="virtual-bucket", Key="hello.txt")["Body"].read() == b"virtual"


def test_streaming_signed_chunks_are_re_signed(gateway: Gateway, upstream: MotoUpstream) -> None:
    _bucket(gateway, "chunked-bucket")
    chunks = [random.Random(n).randbytes(64 * 1024) for n in range(3)] + [b"tail"]
    decoded = sum(len(c) for c in chunks)
    host = f"127.0.0.1:{address(gateway.url)[1]}"
    # The client's seed signature covers STREAMING-AWS4-HMAC-SHA256-PAYLOAD and the length of the chunked body.
    placeholder = aws_chunked(chunks, b"k", "t", "s", "0" * 64)
    headers = _signed(
        f"http://{host}/chunked-bucket/streamed",
        "PUT",
        b"",
        {
            "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(decoded),
            "content-length": str(len(placeholder)),
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        },
        host,
    )
    assert headers["X-Amz-Content-SHA256"] != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"  # S3SigV4Auth hashes; sign again
    headers["X-Amz-Content-SHA256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    timestamp = headers["X-Amz-Date"]
    key = b"AWS4testing"
    for part in (timestamp[:8], "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    body = aws_chunked(chunks, key, timestamp, f"{timestamp[:8]}/us-east-1/s3/aws4_request", "f" * 64)
    status, answer = _send(gateway, "PUT", "/chunked-bucket/streamed", headers, body)
    assert status == 200, answer
    stored = upstream.client("s3").get_object(Bucket="chunked-bucket", Key="streamed")["Body"].read()
    assert stored == b"".join(chunks)


def test_an_upstream_that_does_not_answer_is_a_502_and_health_says_so(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    gateway = start_gateway("--upstream", nowhere)
    try:
        health = gateway.control("GET", "/_chaos/health")[1]
        assert health["upstream"]["url"] == nowhere and health["upstream"]["answers"] is False
        with chaos.compressed_time():
            assert failure(gateway.client("s3").list_buckets) == "BadGateway"
        assert failure(gateway.client("dynamodb").list_tables) == "BadGateway"
    finally:
        assert gateway.stop()[0] == 0
