"""Makes S3 calls in eu-west-1 itself and starts a Python child that makes DynamoDB calls in ap-south-1."""

from __future__ import annotations

import os
import subprocess
import sys

os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")

import boto3
from moto import mock_aws

if sys.argv[1:] == ["child"]:
    with mock_aws():
        table = boto3.client("dynamodb", region_name="ap-south-1")
        table.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        table.put_item(TableName="orders", Item={"id": {"S": "1"}})
        print("child:", table.get_item(TableName="orders", Key={"id": {"S": "1"}})["Item"]["id"]["S"])
else:
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="parent-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        print("parent:", len(s3.list_buckets()["Buckets"]))
    subprocess.run([sys.executable, __file__, "child"], check=True)
