"""``--upstream aws`` without a network: where each call goes (against botocore's own clients), how it is
re-signed, and the account allow-list checked with STS at start (STS pointed at a local moto_server)."""

from __future__ import annotations

import contextlib
import io
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
import pytest
import urllib3
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from werkzeug.test import EnvironBuilder

from chaos.injectors.endpoints import AwsEndpoints
from chaos.injectors.upstream import Upstream
from tests.injectors.gateway_helpers import OUTAGE, start_gateway

GATEWAY = "http://127.0.0.1:4566"


def _captured(client: Any, call: str, **params: Any) -> Any:
    """The request ``client`` would send for ``call``: caught before the network, answered with a 200."""
    seen: list[Any] = []

    def catch(request: Any, **_: Any) -> AWSResponse:
        seen.append(request)
        return AWSResponse(request.url, 200, {}, _Raw())

    client.meta.events.register_first("before-send", catch)
    with contextlib.suppress(Exception):  # an empty 200 may not parse: the request is what counts
        getattr(client, call)(**params)
    assert seen, f"{call} sent nothing"
    return seen[0]


class _Raw(io.BytesIO):
    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield b""


class _Pool:
    """Stands in for urllib3: records what the gateway would send upstream."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def urlopen(self, method: str, url: str, *, headers: dict[str, str], **_: Any) -> urllib3.HTTPResponse:
        self.sent.append((method, url, headers))
        return urllib3.HTTPResponse(body=io.BytesIO(b""), status=200, headers={}, preload_content=False)


def _through_gateway(request: Any, *, fips: bool = False, dualstack: bool = False) -> tuple[str, dict[str, str]]:
    """Feed a request a client signed for the gateway to ``Upstream`` for aws; the URL and headers it sends."""
    pool = _Pool()
    upstream = Upstream(
        None,
        credentials=lambda: ReadOnlyCredentials("AKIDGATEWAY", "secret", None),
        endpoints=AwsEndpoints(fips=fips, dualstack=dualstack, session=botocore.session.Session()),
        pool=pool,  # type: ignore[arg-type]
    )
    parts = urlsplit(request.url)
    body = request.body if isinstance(request.body, bytes) else (request.body or b"")
    headers = {name: value.decode() if isinstance(value, bytes) else value for name, value in request.headers.items()}
    headers["Host"] = parts.netloc
    environ = EnvironBuilder(
        path=parts.path, query_string=parts.query, method=request.method, headers=headers, data=body
    ).get_environ()
    environ["RAW_URI"] = environ["REQUEST_URI"] = parts.path + (f"?{parts.query}" if parts.query else "")
    result = upstream(environ, lambda *_: None)
    b"".join(result)
    result.close()  # type: ignore[attr-defined]  # as the WSGI server does
    assert len(pool.sent) == 1
    _, url, sent = pool.sent[0]
    return url, sent


CASES = [
    ("s3", "us-east-1", "list_objects_v2", {"Bucket": "docs-bucket"}),
    ("s3", "eu-west-1", "list_objects_v2", {"Bucket": "docs-bucket"}),
    ("s3", "us-east-1", "get_object", {"Bucket": "docs-bucket", "Key": "a/b c.txt"}),
    ("s3", "eu-west-1", "put_object", {"Bucket": "docs-bucket", "Key": "k", "Body": b"x"}),
    ("s3", "eu-west-1", "get_object", {"Bucket": "dotted.bucket.name", "Key": "k"}),
    ("s3", "us-east-1", "list_buckets", {}),
    ("dynamodb", "us-east-1", "list_tables", {}),
    ("dynamodb", "eu-west-1", "describe_table", {"TableName": "t"}),
    ("sqs", "eu-west-1", "list_queues", {}),
    ("sqs", "us-east-1", "get_queue_url", {"QueueName": "q"}),
    ("sts", "us-east-1", "get_caller_identity", {}),
    ("sts", "eu-west-1", "get_caller_identity", {}),
    ("iam", "us-east-1", "list_users", {}),
]


STYLED = [(*case, style) for case in CASES for style in (("path", "virtual") if case[0] == "s3" else ("path",))]


@pytest.mark.parametrize(
    ("service", "region", "call", "params", "style"), STYLED, ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[4]}" for c in STYLED]
)
def test_calls_go_where_botocore_sends_them(
    service: str, region: str, call: str, params: dict[str, Any], style: str
) -> None:
    config = Config(s3={"addressing_style": style})
    # The client points at the gateway (localhost: virtual-hosted buckets are BUCKET.localhost)...
    to_gateway = boto3.client(service, region_name=region, endpoint_url="http://localhost:4566", config=config)
    url, sent = _through_gateway(_captured(to_gateway, call, **params))
    # ...and botocore, with no endpoint of its own, would have gone here:
    direct = _captured(
        boto3.client(service, region_name=region, config=config if style == "path" else None), call, **params
    )
    assert url == direct.url
    assert sent["host"] == urlsplit(direct.url).netloc
    scope = direct.headers["Authorization"].decode().split("Credential=")[1].split(",")[0].partition("/")[2][8:]
    assert sent["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDGATEWAY/")
    assert scope in sent["Authorization"]  # the region and signing name botocore signs for


@pytest.mark.parametrize(
    ("service", "call"),
    [("s3", "list_buckets"), ("dynamodb", "list_tables"), ("sqs", "list_queues"), ("sts", "get_caller_identity")],
)
def test_fips_and_dual_stack_are_the_gateways_choice(service: str, call: str) -> None:
    to_gateway = boto3.client(service, region_name="us-west-2", endpoint_url=GATEWAY)
    url, _ = _through_gateway(_captured(to_gateway, call), fips=True, dualstack=True)
    config = Config(use_fips_endpoint=True, use_dualstack_endpoint=True)
    assert url == _captured(boto3.client(service, region_name="us-west-2", config=config), call).url


def test_a_presigned_url_is_forwarded_header_signed() -> None:
    signer = boto3.client("s3", region_name="eu-west-1", endpoint_url=GATEWAY, config=Config(signature_version="s3v4"))
    presigned = signer.generate_presigned_url("get_object", Params={"Bucket": "docs-bucket", "Key": "k"})
    parts = urlsplit(presigned)

    class Presigned:
        url, method, body = presigned, "GET", b""
        headers: dict[str, str] = {}

    url, sent = _through_gateway(Presigned())
    assert url == "https://s3.eu-west-1.amazonaws.com/docs-bucket/k"  # path-style as sent, no X-Amz-* left
    assert "X-Amz-Signature" in parts.query
    assert sent["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDGATEWAY/")
    assert "/eu-west-1/s3/" in sent["Authorization"] and sent["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"


# -- the account allow-list, checked with STS at start ---------------------------------------------------


def _serve(tmp_path: Path, moto_server: str, *args: str) -> subprocess.CompletedProcess[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**_env(moto_server)}
    return subprocess.run(
        [str(OUTAGE), "serve", "--port", str(port), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def _env(moto_server: str) -> dict[str, str]:
    import os

    return {**os.environ, "AWS_ENDPOINT_URL_STS": moto_server}  # the only call that leaves the gateway at start


def test_upstream_aws_refuses_an_account_the_allow_list_does_not_name(tmp_path: Path, moto_server: str) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.chaos]\naccounts = ["111111111111"]\n')
    result = _serve(tmp_path, moto_server, "--upstream", "aws")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "accounts: account 123456789012 is not in the allow-list (111111111111)" in result.stderr
    assert "nothing is listening" in result.stderr and "listening on" not in result.stdout


def test_upstream_aws_needs_an_allow_list(tmp_path: Path, moto_server: str) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.chaos]\nregions = ['us-east-1']\n")
    result = _serve(tmp_path, moto_server, "--upstream", "aws")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "--upstream aws needs an account allow-list (this is account 123456789012)" in result.stderr


def test_upstream_aws_refuses_when_sts_cannot_say(tmp_path: Path, moto_server: str) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.chaos]\naccounts = ["123456789012"]\n')
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    result = _serve(tmp_path, nowhere, "--upstream", "aws")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "cannot tell which account the gateway's credentials belong to" in result.stderr


def test_upstream_aws_starts_for_an_allowed_account(tmp_path: Path, moto_server: str) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.chaos]\naccounts = ["123456789012"]\n')
    gateway = start_gateway(
        "--upstream", "aws", "--upstream-fips", cwd=tmp_path, env={"AWS_ENDPOINT_URL_STS": moto_server}
    )
    try:
        assert "aws (forwarded, re-signed) behind a fault middleware" in gateway.startup
        health = gateway.control("GET", "/_chaos/health")[1]
        assert health["backend"] == "upstream"
        assert health["upstream"]["url"] == "aws" and health["upstream"]["checked"] == moto_server
        assert health["upstream"]["answers"] is True
    finally:
        assert gateway.stop()[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--upstream", "aws", "--no-resign"], "--no-resign cannot reach AWS"),
        (["--upstream", "https://s3.eu-west-1.amazonaws.com", "--no-resign"], "--no-resign cannot reach AWS"),
        (["--upstream", "ftp://example"], "give aws, or an http:// or https:// URL"),
        (["--upstream", "http://127.0.0.1:9", "--upstream-fips"], "only with --upstream aws"),
        (["--upstream", "http://127.0.0.1:9", "--host", "0.0.0.0", "--token", "t"], "with the gateway's credentials"),
    ],
)
def test_serve_refuses_upstreams_it_cannot_serve_safely(
    tmp_path: Path, moto_server: str, args: list[str], message: str
) -> None:
    result = _serve(tmp_path, moto_server, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
