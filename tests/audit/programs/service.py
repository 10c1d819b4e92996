"""A service that calls S3 until it is stopped (Ctrl-C / SIGINT), then exits cleanly."""

from __future__ import annotations

import os
import time

os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")

import boto3
from moto import mock_aws

with mock_aws():
    s3 = boto3.client("s3", region_name="us-west-2")
    s3.create_bucket(Bucket="service-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    print("serving", flush=True)
    try:
        while True:
            s3.head_bucket(Bucket="service-bucket")
            time.sleep(0.05)
    except KeyboardInterrupt:
        print("stopped", flush=True)
