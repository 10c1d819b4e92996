"""Re-signing: what the upstream verifies (botocore's verifier, as moto uses it) and aws-chunked chains
checked by an implementation of AWS's chunk-signing description written here, apart from the code under test."""

from __future__ import annotations

import hashlib
import hmac
import io
import random

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from chaos.injectors.resign import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    UNSIGNED_PAYLOAD,
    BrokenChunks,
    client_signature,
    resign,
    resign_chunks,
    strip_presigned,
)

GATEWAY = ReadOnlyCredentials("AKIDGATEWAY", "gateway-secret", None)
EMPTY = hashlib.sha256(b"").hexdigest()


def _verify(method: str, url: str, headers: dict[str, str], body: bytes, signer: type[SigV4Auth]) -> bool:
    """What the upstream does: recompute the signature from the request it received (moto's way)."""
    authorization = headers["Authorization"]
    scope = authorization.split("Credential=")[1].split(",")[0].split("/")
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    request = AWSRequest(
        method=method, url=url, data=body, headers={k: v for k, v in headers.items() if k.lower() in signed}
    )
    request.context["timestamp"] = headers["X-Amz-Date"]
    auth = signer(ReadOnlyCredentials(scope[0], "gateway-secret", None), scope[3], scope[2])
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return authorization.endswith(f"Signature={expected}")


def test_s3_is_re_signed_with_the_clients_payload_hash_carried_over() -> None:
    headers = {
        "host": "127.0.0.1:9000",
        "content-length": "5",
        "x-amz-meta-owner": "team",
        "content-type": "text/plain",
    }
    resigned = resign(
        "PUT",
        "http://127.0.0.1:9000/b/k",
        headers,
        region="eu-west-1",
        service="s3",
        payload=UNSIGNED_PAYLOAD,
        credentials=GATEWAY,
    )
    assert resigned.headers["X-Amz-Content-SHA256"] == UNSIGNED_PAYLOAD
    assert "Credential=AKIDGATEWAY/" in resigned.headers["Authorization"]
    assert "/eu-west-1/s3/aws4_request" in resigned.headers["Authorization"]
    assert resigned.headers["x-amz-meta-owner"] == "team"
    assert _verify("PUT", "http://127.0.0.1:9000/b/k", resigned.headers, b"hello", S3SigV4Auth)
    tampered = {**resigned.headers, "x-amz-meta-owner": "other"}
    assert not _verify("PUT", "http://127.0.0.1:9000/b/k", tampered, b"hello", S3SigV4Auth)


def test_a_hex_payload_hash_binds_the_body() -> None:
    body = b'{"TableName": "t"}'
    headers = {"host": "dynamodb.eu-west-1.amazonaws.com", "x-amz-target": "DynamoDB_20120810.DescribeTable"}
    resigned = resign(
        "POST",
        "https://dynamodb.eu-west-1.amazonaws.com/",
        headers,
        region="eu-west-1",
        service="dynamodb",
        payload=hashlib.sha256(body).hexdigest(),
        credentials=GATEWAY,
    )
    assert "X-Amz-Content-SHA256" not in resigned.headers  # as botocore: other services send no hash header
    assert _verify("POST", "https://dynamodb.eu-west-1.amazonaws.com/", resigned.headers, body, SigV4Auth)
    assert not _verify("POST", "https://dynamodb.eu-west-1.amazonaws.com/", resigned.headers, body + b" ", SigV4Auth)


def test_the_gateways_session_token_is_sent() -> None:
    temporary = ReadOnlyCredentials("ASIA", "s", "the-gateways-token")
    resigned = resign(
        "GET", "http://h/", {"host": "h"}, region="us-east-1", service="s3", payload=EMPTY, credentials=temporary
    )
    assert resigned.headers["X-Amz-Security-Token"] == "the-gateways-token"
    assert "x-amz-security-token" in resigned.headers["Authorization"]


@pytest.mark.parametrize(
    ("authorization", "query", "expected"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=x",
            "",
            ("sigv4", "eu-west-1", "s3"),
        ),
        ("AWS4-ECDSA-P256-SHA256 Credential=AKID/20240101/s3/aws4_request", "", ("sigv4a", None, None)),
        ("AWS AKID:c2ln", "", ("sigv2", None, None)),
        (
            "",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fap-south-1%2Fs3%2Faws4_request",
            ("presigned", "ap-south-1", "s3"),
        ),
        ("", "AWSAccessKeyId=AKID&Signature=abc&Expires=1", ("sigv2", None, None)),
        ("", "list-type=2", ("none", None, None)),
    ],
)
def test_client_signatures_are_recognised(
    authorization: str, query: str, expected: tuple[str, str | None, str | None]
) -> None:
    found = client_signature(authorization, query)
    assert (found.kind, found.region, found.service) == expected


def test_a_presigned_query_loses_its_signature_and_keeps_the_rest_as_sent() -> None:
    query = "response-content-type=text%2Fplain&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Date=1&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=f&versionId=3"
    assert strip_presigned(query) == "response-content-type=text%2Fplain&versionId=3"


# -- aws-chunked, signed by the client and re-signed by the gateway -----------------------------------


def _key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _chunk_signature(key: bytes, timestamp: str, scope: str, previous: str, data: bytes) -> str:
    text = f"AWS4-HMAC-SHA256-PAYLOAD\n{timestamp}\n{scope}\n{previous}\n{EMPTY}\n{hashlib.sha256(data).hexdigest()}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _trailer_signature(key: bytes, timestamp: str, scope: str, previous: str, trailer: bytes) -> str:
    text = f"AWS4-HMAC-SHA256-TRAILER\n{timestamp}\n{scope}\n{previous}\n{hashlib.sha256(trailer).hexdigest()}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def aws_chunked(
    chunks: list[bytes], key: bytes, timestamp: str, scope: str, seed: str, trailer: bytes | None = None
) -> bytes:
    """An aws-chunked body as an SDK signs it (AWS's "Transferring Payload in Multiple Chunks")."""
    out, previous = bytearray(), seed
    for data in [*chunks, b""]:
        previous = _chunk_signature(key, timestamp, scope, previous, data)
        out += f"{len(data):x};chunk-signature={previous}\r\n".encode() + data
        out += b"\r\n" if data else b""
    if trailer is None:
        return bytes(out + b"\r\n")
    signature = _trailer_signature(key, timestamp, scope, previous, trailer.replace(b"\r\n", b"\n"))
    return bytes(out + trailer + f"x-amz-trailer-signature:{signature}\r\n\r\n".encode())


def verify_chunked(body: bytes, key: bytes, timestamp: str, scope: str, seed: str) -> bytes:
    """The payload of an aws-chunked body whose every signature is checked; AssertionError otherwise."""
    stream, payload, previous = io.BytesIO(body), bytearray(), seed
    while True:
        header = stream.readline().rstrip(b"\r\n").decode()
        size_text, _, signature = header.partition(";chunk-signature=")
        data = stream.read(int(size_text, 16))
        previous, expected = signature, _chunk_signature(key, timestamp, scope, previous, data)
        assert signature == expected, f"chunk {len(payload)}: {signature} != {expected}"
        if not data:
            return bytes(payload)
        payload += data
        assert stream.read(2) == b"\r\n"


@pytest.mark.parametrize("trailer", [None, b"x-amz-checksum-crc32:AAAAAA==\r\n"])
def test_aws_chunked_signatures_are_chained_again_from_the_new_seed(trailer: bytes | None) -> None:
    client_key = _key("client-secret", "20240101", "us-east-1", "s3")
    timestamp, scope = "20240101T000000Z", "20240101/us-east-1/s3/aws4_request"
    chunks = [random.Random(n).randbytes(size) for n, size in enumerate((65536, 65536, 1000))]
    sent = aws_chunked(chunks, client_key, timestamp, scope, "c" * 64, trailer)
    payload = STREAMING_SIGNED_TRAILER if trailer else STREAMING_SIGNED
    resigned = resign(
        "PUT",
        "http://127.0.0.1:9000/b/k",
        {"host": "127.0.0.1:9000", "content-encoding": "aws-chunked", "x-amz-decoded-content-length": "132072"},
        region="us-east-1",
        service="s3",
        payload=payload,
        credentials=GATEWAY,
    )
    assert resigned.headers["X-Amz-Content-SHA256"] == payload
    source = io.BytesIO(sent)
    forwarded = b"".join(resign_chunks(lambda n: source.read(min(n, 7000)), resigned, trailer=trailer is not None))
    assert len(forwarded) == len(sent)  # Content-Length is carried over unchanged
    new_key = _key("gateway-secret", resigned.timestamp[:8], "us-east-1", "s3")
    assert verify_chunked(forwarded, new_key, resigned.timestamp, resigned.scope, resigned.signature) == b"".join(
        chunks
    )
    with pytest.raises(AssertionError):
        verify_chunked(sent, new_key, resigned.timestamp, resigned.scope, resigned.signature)
    if trailer is not None:
        tail = forwarded[forwarded.rindex(b"0;chunk-signature=") :].split(b"\r\n")
        last = tail[0].split(b"=")[1].decode()
        assert tail[1] == trailer.rstrip(b"\r\n")
        expected = _trailer_signature(
            new_key, resigned.timestamp, resigned.scope, last, trailer.replace(b"\r\n", b"\n")
        )
        assert tail[2] == f"x-amz-trailer-signature:{expected}".encode()
        assert forwarded.endswith(b"\r\n\r\n")


@pytest.mark.parametrize(
    "body",
    [b"zz;chunk-signature=00\r\n", b"5;chunk-signature=" + b"0" * 64 + b"\r\nabc", b"5\r\nabcde\r\n", b"x" * 5000],
    ids=["no hex size", "short chunk", "no signature", "no line end"],
)
def test_a_body_that_is_not_aws_chunked_is_refused(body: bytes) -> None:
    resigned = resign(
        "PUT",
        "http://h/b/k",
        {"host": "h"},
        region="us-east-1",
        service="s3",
        payload=STREAMING_SIGNED,
        credentials=GATEWAY,
    )
    source = io.BytesIO(body)
    with pytest.raises(BrokenChunks):
        b"".join(resign_chunks(source.read, resigned))
