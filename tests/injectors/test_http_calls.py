"""Recognising AWS calls in raw HTTP requests, checked against the requests botocore itself sends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from chaos.injectors.http_calls import HttpRequest, describe

ENDPOINT = "http://127.0.0.1:4566"

# (service, region, operation, parameters): what an application calls.
CALLS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("s3", "eu-west-1", "ListBuckets", {}),
    ("s3", "eu-west-1", "CreateBucket", {"Bucket": "b"}),
    ("s3", "eu-west-1", "HeadBucket", {"Bucket": "b"}),
    ("s3", "eu-west-1", "ListObjects", {"Bucket": "b"}),
    ("s3", "eu-west-1", "ListObjectsV2", {"Bucket": "b", "Prefix": "p/"}),
    ("s3", "eu-west-1", "GetObject", {"Bucket": "b", "Key": "dir/a b+c.txt"}),
    ("s3", "eu-west-1", "HeadObject", {"Bucket": "b", "Key": "k"}),
    ("s3", "eu-west-1", "PutObject", {"Bucket": "b", "Key": "k", "Body": b"x"}),
    ("s3", "eu-west-1", "CopyObject", {"Bucket": "b", "Key": "k2", "CopySource": "b/k"}),
    ("s3", "eu-west-1", "DeleteObject", {"Bucket": "b", "Key": "k"}),
    ("s3", "eu-west-1", "DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "k"}]}}),
    ("s3", "eu-west-1", "CreateMultipartUpload", {"Bucket": "b", "Key": "k"}),
    ("s3", "eu-west-1", "UploadPart", {"Bucket": "b", "Key": "k", "PartNumber": 1, "UploadId": "u", "Body": b"x"}),
    (
        "s3",
        "eu-west-1",
        "UploadPartCopy",
        {"Bucket": "b", "Key": "k", "PartNumber": 1, "UploadId": "u", "CopySource": "b/k"},
    ),
    ("s3", "eu-west-1", "CompleteMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"}),
    ("s3", "eu-west-1", "AbortMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"}),
    ("s3", "eu-west-1", "ListParts", {"Bucket": "b", "Key": "k", "UploadId": "u"}),
    ("s3", "eu-west-1", "GetBucketAcl", {"Bucket": "b"}),
    ("s3", "eu-west-1", "GetBucketLocation", {"Bucket": "b"}),
    ("s3", "eu-west-1", "GetBucketVersioning", {"Bucket": "b"}),
    ("s3", "eu-west-1", "PutBucketPolicy", {"Bucket": "b", "Policy": "{}"}),
    ("s3", "eu-west-1", "GetObjectTagging", {"Bucket": "b", "Key": "k"}),
    ("dynamodb", "us-west-2", "PutItem", {"TableName": "t", "Item": {"id": {"S": "1"}}}),
    ("dynamodb", "us-west-2", "Query", {"TableName": "t"}),
    ("sqs", "eu-central-1", "SendMessage", {"QueueUrl": f"{ENDPOINT}/123456789012/q", "MessageBody": "m"}),
    ("sqs", "eu-central-1", "ListQueues", {}),
    ("sts", "ap-southeast-2", "GetCallerIdentity", {}),
    (
        "sts",
        "ap-southeast-2",
        "AssumeRole",
        {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "session"},
    ),
    ("iam", "us-east-1", "ListUsers", {}),
    ("ec2", "sa-east-1", "DescribeInstances", {}),
    ("lambda", "us-east-1", "Invoke", {"FunctionName": "f"}),
    ("lambda", "us-east-1", "GetFunction", {"FunctionName": "f"}),
    ("lambda", "us-east-1", "ListFunctions", {}),
    ("cloudwatch", "us-east-1", "PutMetricData", {"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": 1.0}]}),
    ("sns", "us-east-1", "Publish", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "m"}),
    ("kinesis", "us-east-1", "PutRecord", {"StreamName": "s", "Data": b"d", "PartitionKey": "p"}),
]


def _capture(service: str, region: str, operation: str, params: dict[str, Any], **config: Any) -> HttpRequest:
    """The HTTP request botocore sends for one call, caught before it leaves."""
    client = boto3.client(service, region_name=region, endpoint_url=ENDPOINT, config=Config(**config))
    seen: list[Any] = []

    def catch(request: Any, **_: Any) -> AWSResponse:
        seen.append(request)
        raise _Caught

    client.meta.events.register_first("before-send", catch)
    method: Callable[..., Any] = getattr(client, client.meta.method_to_api_mapping.get(operation) or _snake(operation))
    with pytest.raises(_Caught):
        method(**params)
    request = seen[0]
    raw_path, _, query = request.url.split("4566", 1)[1].partition("?")
    headers = {
        name.lower(): (value.decode() if isinstance(value, bytes) else value) for name, value in request.headers.items()
    }
    body = (
        request.body
        if isinstance(request.body, bytes)
        else (request.body or "").encode()
        if isinstance(request.body, str)
        else b""
    )
    return HttpRequest(request.method, "127.0.0.1:4566", raw_path or "/", query, headers, body)


class _Caught(Exception):
    pass


def _snake(name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize(("service", "region", "operation", "params"), CALLS, ids=[f"{c[0]}.{c[2]}" for c in CALLS])
def test_botocore_requests_are_recognised(service: str, region: str, operation: str, params: dict[str, Any]) -> None:
    request = _capture(service, region, operation, params)
    call = describe(request, lambda bucket: None)
    assert (call.service, call.operation) == (service, operation)
    expected_region = "aws-global" if service == "iam" else region
    assert call.region == expected_region
    assert call.attempt == 1
    assert call.invocation_id
    if service == "s3" and "Bucket" in params:
        assert call.bucket == params["Bucket"]
        assert call.key == params.get("Key")


def test_virtual_hosted_s3_requests() -> None:
    request = _capture(
        "s3", "eu-west-1", "GetObject", {"Bucket": "photos", "Key": "a/b.jpg"}, s3={"addressing_style": "virtual"}
    )
    assert request.host == "127.0.0.1:4566"  # botocore keeps the custom endpoint's host...
    virtual = HttpRequest(request.method, "photos.localhost:4566", "/a/b.jpg", "", request.headers)
    call = describe(virtual, lambda bucket: None)  # ...while SDKs pointed at *.localhost put the bucket there
    assert (call.operation, call.bucket, call.key) == ("GetObject", "photos", "a/b.jpg")


def test_unsigned_and_sigv2_requests_take_the_buckets_region() -> None:
    regions = {"photos": "ap-northeast-1"}
    unsigned = HttpRequest("GET", "127.0.0.1:4566", "/photos/cat.jpg", "", {})
    assert describe(unsigned, regions.get).region == "ap-northeast-1"
    sigv2 = HttpRequest("GET", "127.0.0.1:4566", "/photos/cat.jpg", "AWSAccessKeyId=a&Signature=s&Expires=1", {})
    call = describe(sigv2, regions.get)
    assert (call.service, call.operation, call.region) == ("s3", "GetObject", "ap-northeast-1")
    assert describe(HttpRequest("GET", "h", "/unknown/k", "", {}), regions.get).region == "us-east-1"


def test_retries_carry_their_attempt_number() -> None:
    request = HttpRequest(
        "GET", "h", "/", "", {"amz-sdk-request": "ttl=x; attempt=3; max=5", "amz-sdk-invocation-id": "abc"}
    )
    call = describe(request, lambda bucket: None)
    assert (call.attempt, call.invocation_id) == (3, "abc")


def test_an_unrecognised_request_is_still_described() -> None:
    auth = {"authorization": "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/dynamodb/aws4_request, x"}
    call = describe(HttpRequest("POST", "h", "/", "", auth), lambda bucket: None)
    assert (call.service, call.operation, call.region) == ("dynamodb", "Unknown", "us-east-1")


def test_an_older_sdks_query_call_to_sqs_is_recognised() -> None:
    """SQS moved to the JSON protocol; SDKs from before send Action in a form body, no X-Amz-Target."""
    scope = "Credential=testing/20260101/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=0"
    headers = {"authorization": f"AWS4-HMAC-SHA256 {scope}", "content-type": "application/x-www-form-urlencoded"}
    form = HttpRequest("POST", "127.0.0.1:4566", "/", "", headers, b"Action=CreateQueue&QueueName=q&Version=2012-11-05")
    assert (describe(form, lambda bucket: None).operation) == "CreateQueue"
    in_query = HttpRequest("GET", "127.0.0.1:4566", "/", "Action=ListQueues", headers)
    assert describe(in_query, lambda bucket: None).operation == "ListQueues"
    unknown = HttpRequest("POST", "127.0.0.1:4566", "/", "", headers, b"Action=NoSuchThing")
    assert describe(unknown, lambda bucket: None).operation == "Unknown"


def test_underscored_metadata_names_are_kept_from_the_environ() -> None:
    """Forwarded upstream, x-amz-meta-my_key must not become x-amz-meta-my-key (moto keeps it)."""
    from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY

    from chaos.injectors.http_calls import headers_from_environ

    environ = {
        "HTTP_X_AMZ_META_MY_KEY": "v",
        "HTTP_X_AMZ_DATE": "20260101T000000Z",
        "CONTENT_TYPE": "text/plain",
        PRESERVED_HEADER_NAMES_ENVIRON_KEY: {"HTTP_X_AMZ_META_MY_KEY": "X-Amz-Meta-My_Key"},
    }
    assert headers_from_environ(environ) == {
        "x-amz-meta-my_key": "v",
        "x-amz-date": "20260101T000000Z",
        "content-type": "text/plain",
    }


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("photos.localhost:4566", "photos"),
        ("photos.s3.localhost:4566", "photos"),  # as moto serves it (the bucket was "photos.s3")
        ("photos.s3.eu-west-1.localhost", "photos"),
        ("photos.s3-eu-west-1.localhost", "photos"),
        ("my.photos.localhost", "my.photos"),
        ("my.s3bucket.localhost", "my.s3bucket"),
    ],
)
def test_virtual_hosted_buckets_under_localhost(host: str, bucket: str) -> None:
    call = describe(HttpRequest("GET", host, "/a/b.jpg", "", {}), lambda name: None)
    assert (call.service, call.bucket, call.key) == ("s3", bucket, "a/b.jpg")
