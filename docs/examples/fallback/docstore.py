"""A small application module, as a team would write it: documents in S3, with a fallback region.

Reads go to the primary bucket in us-east-1 and fall back to the replica in eu-west-1 when the
primary fails; writes go to both (the replica is best effort).
"""

from __future__ import annotations

import contextlib

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

PRIMARY = ("docs-primary", "us-east-1")
REPLICA = ("docs-replica", "eu-west-1")
_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=1, read_timeout=2)


class DocStore:
    def __init__(self) -> None:
        self.clients = {
            region: boto3.client("s3", region_name=region, config=_CONFIG) for _, region in (PRIMARY, REPLICA)
        }

    def create_buckets(self) -> None:
        for bucket, region in (PRIMARY, REPLICA):
            extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            self.clients[region].create_bucket(Bucket=bucket, **extra)

    def save(self, key: str, body: bytes) -> None:
        bucket, region = PRIMARY
        self.clients[region].put_object(Bucket=bucket, Key=key, Body=body)
        replica, replica_region = REPLICA
        with contextlib.suppress(ClientError, BotoCoreError):  # the replica catches up later
            self.clients[replica_region].put_object(Bucket=replica, Key=key, Body=body)

    def load(self, key: str) -> bytes:
        for bucket, region in (PRIMARY, REPLICA):
            try:
                return bytes(self.clients[region].get_object(Bucket=bucket, Key=key)["Body"].read())
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "NoSuchKey":
                    raise KeyError(key) from exc
            except BotoCoreError:
                pass
        raise RuntimeError("both regions are unavailable")
