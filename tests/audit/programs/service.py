"""A service that calls S3 until it is stopped (SIGINT), then exits cleanly.

SIGINT only sets a flag, and the service makes at least three calls whatever happens, so the test
does not depend on how long the machine takes to start it.
"""

from __future__ import annotations

import os
import signal
import threading

stop = threading.Event()
signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

with mock_aws():
    s3 = boto3.client("s3", region_name="us-west-2")
    s3.create_bucket(Bucket="service-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    calls = 0
    while calls < 3 or not stop.is_set():
        s3.head_bucket(Bucket="service-bucket")
        calls += 1
        stop.wait(0.05)
    print("stopped after", calls, "calls", flush=True)
