"""A moto server with IAM enforcement on, shared by the IAM tests."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chaos.injectors.iam import sweep
from tests.conftest import running_moto_server

ACCOUNT = "123456789012"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/chaos-admin"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@pytest.fixture(scope="module")
def iam_world() -> Iterator[dict[str, Any]]:
    """moto_server with an admin (the injector), an application user and role, and buckets in two regions."""
    with running_moto_server() as url:
        setup = boto3.Session(aws_access_key_id="setup", aws_secret_access_key="setup", region_name="us-east-1")
        iam = setup.client("iam", endpoint_url=url)
        keys = {}
        policy = iam.create_policy(PolicyName="allow-all", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
        for user in ("chaos-admin", "app-user"):
            iam.create_user(UserName=user)
            iam.attach_user_policy(UserName=user, PolicyArn=policy)
            key = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
        iam.create_role(RoleName="chaos-demo-app", AssumeRolePolicyDocument=TRUST)
        iam.attach_role_policy(RoleName="chaos-demo-app", PolicyArn=policy)
        s3_east = setup.client("s3", endpoint_url=url)
        s3_east.create_bucket(Bucket="east-docs")
        s3_east.put_object(Bucket="east-docs", Key="doc", Body=b"east")
        s3_west = setup.client("s3", region_name="eu-west-1", endpoint_url=url)
        s3_west.create_bucket(Bucket="west-docs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3_west.put_object(Bucket="west-docs", Key="doc", Body=b"west")
        request = urllib.request.Request(
            f"{url}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(request).close()  # from now on every request is authenticated and authorised
        yield {"url": url, "keys": keys}


def admin_env(world: dict[str, Any]) -> dict[str, str]:
    """The environment of a subprocess that runs as the injector's admin against the moto server."""
    key, secret = world["keys"]["chaos-admin"]
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": world["url"],
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def _session(world: dict[str, Any], user: str, region: str = "us-east-1") -> boto3.Session:
    key, secret = world["keys"][user]
    return boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)


@pytest.fixture
def admin(iam_world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", iam_world["url"])
    key, secret = iam_world["keys"]["chaos-admin"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    session = boto3.Session(region_name="us-east-1")
    yield session
    sweep(session)
