"""The record-only hook in this process: what it counts, from where, and that it changes no call."""

from __future__ import annotations

import contextlib
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import chaos
from chaos.audit import Recorder, report_of
from chaos.audit.observe import Observation, ProcessRecord, merge
from tests.conftest import ClientFactory

HERE = "tests/audit/test_recorder.py"


def _workload(client: ClientFactory, name: str = "audit") -> list[Any]:
    """S3, DynamoDB and SQS calls, one of them failing; everything they answered (ids and dates aside)."""
    s3 = client("s3", "eu-west-1")
    s3.create_bucket(Bucket=f"{name}-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=f"{name}-data", Key="a", Body=b"alpha")
    seen: list[Any] = [s3.get_object(Bucket=f"{name}-data", Key="a")["Body"].read()]
    try:
        s3.get_object(Bucket=f"{name}-data", Key="missing")
    except ClientError as exc:
        seen.append(exc.response["Error"]["Code"])
    dynamodb = client("dynamodb", "eu-west-1")
    dynamodb.create_table(
        TableName=f"{name}-table",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=f"{name}-table", Item={"id": {"S": "1"}, "v": {"S": "x"}})
    seen.append(dynamodb.get_item(TableName=f"{name}-table", Key={"id": {"S": "1"}})["Item"])
    sqs = client("sqs", "eu-west-1")
    url = sqs.create_queue(QueueName=f"{name}-queue")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    seen.append([m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])])
    return seen


def test_the_record_only_hook_changes_no_call(client: ClientFactory) -> None:
    without = _workload(client, "plain")
    with Recorder() as recorder:
        audited = _workload(client, "audited")
    assert audited == without
    assert recorder.ledger.total == sum(o.calls for o in recorder.tally.observations()) > 0
    assert recorder.ledger.fired == 0


def test_it_counts_each_resource_and_where_it_was_first_called(client: ClientFactory) -> None:
    with Recorder() as recorder:
        _workload(client)
    report = report_of(recorder)
    resources = {(d.service, d.resource_kind, d.resource): d for d in report.dependencies}
    assert set(resources) == {
        ("s3", "bucket", "audit-data"),
        ("dynamodb", "table", "audit-table"),
        ("sqs", "queue", "audit-queue"),
    }
    bucket = resources[("s3", "bucket", "audit-data")]
    assert bucket.operations == {"CreateBucket": 1, "PutObject": 1, "GetObject": 2}
    assert bucket.region == "eu-west-1" and bucket.endpoints == ("s3.eu-west-1.amazonaws.com",)
    assert bucket.first_call is not None
    assert bucket.first_call.file == HERE and bucket.first_call.function == "_workload"
    assert resources[("sqs", "queue", "audit-queue")].operations == {
        "CreateQueue": 1,
        "SendMessage": 1,
        "ReceiveMessage": 1,
    }


def test_client_settings_come_from_the_clients_config(client: ClientFactory) -> None:
    with Recorder() as recorder:
        client("s3", "us-west-2", mode="legacy", attempts=3).list_buckets()
        client("s3", "eu-central-1", read_timeout=2, connect_timeout=1).list_buckets()
    settings = {o.region: o.settings for o in recorder.observations()}
    assert settings["us-west-2"] is not None and settings["us-west-2"].retry_mode == "legacy"
    assert settings["us-west-2"].read_timeout == 60
    assert settings["eu-central-1"] is not None
    assert (settings["eu-central-1"].read_timeout, settings["eu-central-1"].connect_timeout) == (2, 1)
    assert settings["eu-central-1"].max_attempts == 3


def health(s3: Any) -> None:
    """A health check that asks S3: its calls are monitoring calls."""
    s3.head_bucket(Bucket="audit-data")


def test_calls_from_monitoring_code_are_told_apart(client: ClientFactory) -> None:
    s3 = client("s3", "eu-west-1")
    s3.create_bucket(Bucket="audit-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with Recorder() as recorder:
        s3.put_object(Bucket="audit-data", Key="a", Body=b"x")
        health(s3)
    [watching] = [o for o in recorder.observations() if o.monitoring is not None]
    assert watching.operation == "HeadBucket"
    assert watching.monitoring is not None and watching.monitoring.function == "health"
    [finding] = report_of(recorder).findings_of("monitoring_shares_fate")
    assert (finding.service, finding.region) == ("s3", "eu-west-1")
    assert "health" in finding.message and f"{HERE}" in finding.message


def test_global_endpoints_are_recognised(aws: None) -> None:
    with Recorder() as recorder:
        boto3.client("iam").list_roles()
        boto3.client("sts", region_name="aws-global").get_caller_identity()
        boto3.client("s3", region_name="us-east-1").list_buckets()
        boto3.client("sts", region_name="eu-west-1").get_caller_identity()
    flagged = {(o.service, o.endpoint) for o in recorder.observations() if o.global_endpoint}
    assert flagged == {("iam", "iam.amazonaws.com"), ("sts", "sts.amazonaws.com"), ("s3", "s3.amazonaws.com")}
    kinds = {(f.kind, f.service) for f in report_of(recorder).findings}
    assert ("global_endpoint", "iam") in kinds and ("global_endpoint", "s3") in kinds


def test_calls_another_injection_decided_are_still_counted(client: ClientFactory, fast: None) -> None:
    s3 = client("s3", "us-east-1", attempts=2)
    with Recorder() as recorder, chaos.inject(chaos.s3_outage("us-east-1")), contextlib.suppress(ClientError):
        s3.list_buckets()
    [counted] = recorder.observations()
    assert (counted.service, counted.region, counted.operation, counted.calls) == ("s3", "us-east-1", "ListBuckets", 2)
    assert counted.settings is None and counted.first_site is None  # the other injection carried them out


def test_a_client_made_before_the_audit_is_seen(aws: None) -> None:
    s3 = boto3.client("s3", region_name="eu-west-1", config=Config(retries={"mode": "adaptive"}))
    with Recorder() as recorder:
        s3.list_buckets()
    assert [(o.service, o.settings.retry_mode if o.settings else None) for o in recorder.observations()] == [
        ("s3", "adaptive")
    ]


def test_observations_survive_the_per_process_file_and_merge() -> None:
    recorder_record = ProcessRecord(
        7,
        ("app.py",),
        "python",
        (
            Observation(
                "s3", "us-east-1", "GetObject", "bucket", "b", "s3.amazonaws.com", True, None, None, 3, 1, 2.0, None
            ),
        ),
    )
    again = ProcessRecord.from_dict(recorder_record.to_dict())
    assert again == recorder_record
    [merged] = merge([*again.observations, *recorder_record.observations])
    assert (merged.calls, merged.retries) == (6, 2)
