"""The hook injector with real boto3 clients on moto: targeting, isolation, scoping, threads."""

from __future__ import annotations

import functools
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config

import chaos
from chaos.injectors.hook import is_patched
from tests.conftest import ClientFactory, failure


def _buckets(client: ClientFactory) -> tuple[Any, Any]:
    east, west = client("s3", "us-east-1", attempts=1), client("s3", "eu-west-1", attempts=1)
    east.create_bucket(Bucket="east-bucket")
    east.create_bucket(Bucket="east-logs")
    west.create_bucket(Bucket="west-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return east, west


def test_us_east_1_outage_leaves_eu_west_1_working(client: ClientFactory) -> None:
    east, west = _buckets(client)
    with chaos.inject(chaos.s3_outage("us-east-1")) as outage:
        assert failure(lambda: east.put_object(Bucket="east-bucket", Key="k", Body=b"1")) == "ServiceUnavailable"
        assert failure(lambda: east.list_objects_v2(Bucket="east-bucket")) == "ServiceUnavailable"
        assert failure(lambda: west.put_object(Bucket="west-bucket", Key="k", Body=b"1")) is None
        assert west.get_object(Bucket="west-bucket", Key="k")["Body"].read() == b"1"
    assert outage.ledger.calls(region="us-east-1", fired=True) == 2
    assert outage.ledger.calls(region="eu-west-1", outcome="pass") == 2
    assert failure(lambda: east.list_objects_v2(Bucket="east-bucket")) is None


def test_a_failed_write_stores_nothing(client: ClientFactory) -> None:
    east, _ = _buckets(client)
    for kind in (
        "unavailable",
        "internal_error",
        "slow_down",
        "access_denied",
        "connection_error",
        "timeout",
    ):
        with chaos.inject(chaos.s3_outage(kind=kind), sleep=lambda _: None):
            assert failure(functools.partial(east.put_object, Bucket="east-bucket", Key=f"lost-{kind}", Body=b"x"))
    assert east.list_objects_v2(Bucket="east-bucket").get("KeyCount") == 0


def test_lost_response_stores_the_write_and_times_out(client: ClientFactory) -> None:
    east, _ = _buckets(client)
    waited: list[float] = []
    with chaos.inject(chaos.s3_outage(kind="lost_response", operations=["PutObject"]), sleep=waited.append):
        assert failure(lambda: east.put_object(Bucket="east-bucket", Key="ghost", Body=b"boo")) == "ReadTimeoutError"
    assert east.get_object(Bucket="east-bucket", Key="ghost")["Body"].read() == b"boo"
    assert waited == [60.0]  # the client's default read timeout


def test_bucket_and_operation_scoped_faults_hit_only_their_targets(client: ClientFactory) -> None:
    east, _ = _buckets(client)
    with chaos.inject(chaos.s3_outage(buckets=["east-logs"])):
        assert failure(lambda: east.put_object(Bucket="east-logs", Key="k", Body=b"1")) == "ServiceUnavailable"
        assert failure(lambda: east.put_object(Bucket="east-bucket", Key="k", Body=b"1")) is None
    with chaos.inject(chaos.s3_outage(operations=["PutObject"], kind="slow_down")):
        assert failure(lambda: east.put_object(Bucket="east-bucket", Key="k2", Body=b"1")) == "SlowDown"
        assert failure(lambda: east.get_object(Bucket="east-bucket", Key="k")) is None
    with chaos.inject(chaos.s3_outage(key_prefix="tmp/")):
        assert failure(lambda: east.put_object(Bucket="east-bucket", Key="tmp/x", Body=b"1")) == "ServiceUnavailable"
        assert failure(lambda: east.put_object(Bucket="east-bucket", Key="keep/x", Body=b"1")) is None


def test_region_outage_hits_every_service_of_its_region_and_no_other(client: ClientFactory) -> None:
    calls = {
        "s3": lambda c: c.list_buckets(),
        "dynamodb": lambda c: c.list_tables(),
        "sqs": lambda c: c.list_queues(),
        "sts": lambda c: c.get_caller_identity(),
        "lambda": lambda c: c.list_functions(),
        "ec2": lambda c: c.describe_vpcs(),
    }
    with chaos.inject(chaos.region_outage("eu-west-1")) as outage:
        for service, call in calls.items():
            in_region, elsewhere = client(service, "eu-west-1", attempts=1), client(service, "us-west-2", attempts=1)
            assert failure(functools.partial(call, in_region)) == "EndpointConnectionError"
            assert failure(functools.partial(call, elsewhere)) is None
    assert outage.ledger.calls(region="eu-west-1", outcome="connection_error") == len(calls)
    assert outage.ledger.calls(region="us-west-2", outcome="pass") == len(calls)


def test_include_global_fails_iam_global_sts_and_s3_amazonaws_com(
    client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every client is in eu-west-1 (or aws-global): what fails under a us-east-1 outage fails
    # because its endpoint is a global one living there, not because its client is in us-east-1.
    iam = client("iam", "eu-west-1", attempts=1)
    one = Config(retries={"total_max_attempts": 1})
    sts_at_global = boto3.client("sts", region_name="eu-west-1", config=one, endpoint_url="https://sts.amazonaws.com")
    monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy")
    sts_legacy = client("sts", "eu-west-1", attempts=1)  # botocore sends it to sts.amazonaws.com
    monkeypatch.delenv("AWS_STS_REGIONAL_ENDPOINTS")
    sts_regional = client("sts", "eu-west-1", attempts=1)
    s3_global = client("s3", "aws-global", attempts=1)  # s3.amazonaws.com, signed for us-east-1
    s3_at_global = boto3.client("s3", region_name="eu-west-1", config=one, endpoint_url="https://s3.amazonaws.com")
    iam_at_url = boto3.client("iam", region_name="eu-west-1", config=one, endpoint_url="https://iam.amazonaws.com")
    global_calls = [iam.list_users, iam_at_url.list_users, sts_at_global.get_caller_identity]
    global_calls += [sts_legacy.get_caller_identity]
    global_calls += [s3_global.list_buckets, s3_at_global.list_buckets]
    with chaos.inject(chaos.region_outage("us-east-1")) as plain:
        assert [failure(call) for call in global_calls[:4]] == [None] * 4
    assert plain.ledger.calls(region="aws-global", outcome="pass") == 4  # IAM and STS at its global endpoint
    with chaos.inject(chaos.region_outage("us-east-1", include_global=True)) as outage:
        assert [failure(call) for call in global_calls] == ["EndpointConnectionError"] * len(global_calls)
        assert failure(sts_regional.get_caller_identity) is None
        assert failure(client("sqs", "eu-west-1", attempts=1).list_queues) is None
    assert outage.ledger.calls(service="iam", region="aws-global", outcome="connection_error") == 2
    assert outage.ledger.calls(service="sts", region="aws-global", outcome="connection_error") == 2
    assert outage.ledger.calls(service="sts", region="eu-west-1", outcome="pass") == 1
    assert outage.ledger.calls(service="s3", region="us-east-1", outcome="connection_error") == 1


def test_the_region_is_the_one_the_request_is_signed_for(client: ClientFactory) -> None:
    # An S3 client in aws-global signs for us-east-1 (s3.amazonaws.com); an eu-west-1 client at
    # the global S3 endpoint signs for eu-west-1: each is in the region of its signature.
    with chaos.inject(chaos.s3_outage("us-east-1")) as outage:
        assert failure(client("s3", "aws-global", attempts=1).list_buckets) == "ServiceUnavailable"
        assert failure(client("s3", "eu-west-1", attempts=1).list_buckets) is None
    assert outage.ledger.calls(service="s3", region="us-east-1") == 1
    assert outage.ledger.calls(service="s3", region="eu-west-1") == 1
    assert outage.ledger.calls(region="aws-global") == 0


def test_without_a_signing_region_from_the_endpoint_rules_the_signatures_region_counts(client: ClientFactory) -> None:
    # DynamoDB's endpoint rules name no signing region: the signer's own region is in the
    # Authorization header. Here it differs from the client's region, as a credentialScope makes it.
    ddb = client("dynamodb", "eu-west-1", attempts=1)
    ddb._request_signer._region_name = "eu-central-1"
    with chaos.inject(chaos.region_outage("eu-central-1")) as outage:
        assert failure(ddb.list_tables) == "EndpointConnectionError"
        assert failure(ddb.list_tables) == "EndpointConnectionError"  # remembered for its endpoint
    assert outage.ledger.calls(service="dynamodb", region="eu-central-1") == 2


def test_clients_created_before_are_covered(client: ClientFactory) -> None:
    early = client("dynamodb")
    with chaos.inject(chaos.Fault(kind="throttle", service="dynamodb")):
        assert failure(early.list_tables) == "ThrottlingException"
    assert failure(early.list_tables) is None


def test_session_scope_covers_only_that_sessions_clients(client: ClientFactory) -> None:
    scoped, other = boto3.Session(region_name="us-east-1"), boto3.Session(region_name="us-east-1")
    config = Config(retries={"total_max_attempts": 1})
    with chaos.inject(chaos.Fault(kind="unavailable", service="sqs"), session=scoped) as outage:
        assert failure(scoped.client("sqs", config=config).list_queues) == "ServiceUnavailable"
        assert failure(other.client("sqs", config=config).list_queues) is None
        assert failure(client("sqs", attempts=1).list_queues) is None
    assert outage.ledger.total == 1


def test_nesting_inner_decides_first_and_exit_restores_the_outer(client: ClientFactory) -> None:
    s3, ddb = client("s3", attempts=1), client("dynamodb", attempts=1)
    with chaos.inject(chaos.s3_outage()) as outer:
        with chaos.inject(
            chaos.s3_outage(kind="access_denied"), chaos.Fault(kind="throttle", service="dynamodb")
        ) as inner:
            assert failure(s3.list_buckets) == "AccessDenied"
            assert failure(ddb.list_tables) == "ThrottlingException"
        assert failure(s3.list_buckets) == "ServiceUnavailable"
        assert failure(ddb.list_tables) is None
        assert is_patched()
    assert not is_patched()
    assert failure(s3.list_buckets) is None
    assert inner.ledger.total == 2
    assert outer.ledger.total == 4  # the outer injection saw every call made while it was armed
    assert outer.ledger.calls(outcome="AccessDenied") == 1


def test_exit_removes_the_hook_when_the_body_raises(client: ClientFactory) -> None:
    s3 = client("s3", attempts=1)
    injection = chaos.inject(chaos.s3_outage())
    with pytest.raises(RuntimeError, match="boom"), injection:
        raise RuntimeError("boom")
    assert not injection.armed
    assert not is_patched()
    assert failure(s3.list_buckets) is None


def test_latency_holds_no_lock_across_threads(client: ClientFactory) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="east-bucket")
    threads = 8
    barrier = threading.Barrier(threads, timeout=20)

    def sleep(_: float) -> None:
        # Every thread must be inside its delay at the same time: a lock held while sleeping
        # would leave the others outside and break the barrier.
        barrier.wait()

    with (
        chaos.inject(chaos.s3_outage(kind="latency", latency="5s"), sleep=sleep) as outage,
        ThreadPoolExecutor(threads) as pool,
    ):
        results = list(pool.map(lambda _: s3.list_objects_v2(Bucket="east-bucket")["KeyCount"], range(threads)))
    assert results == [0] * threads
    assert outage.ledger.calls(outcome="latency") == threads


def _binomial_interval(n: int, p: float, z: float = 3.2905) -> tuple[float, float]:
    """The 99.9% interval of a binomial count (normal approximation; n*p is large here)."""
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    return mean - z * sd, mean + z * sd


def _run_probability(client: ClientFactory, seed: int, calls: int = 1000) -> list[str]:
    s3 = client("s3", attempts=1)
    with chaos.inject(chaos.s3_outage(probability=0.3), seed=seed) as outage:
        for _ in range(calls):
            failure(s3.list_buckets)
    assert outage.seed == seed
    return [event.outcome for event in outage.ledger.events()]


def test_probability_over_1000_calls_is_binomial_and_seeded(client: ClientFactory) -> None:
    first = _run_probability(client, seed=2017)
    second = _run_probability(client, seed=2017)
    assert len(first) == 1000
    assert first == second  # call for call
    low, high = _binomial_interval(1000, 0.3)
    assert low <= first.count("ServiceUnavailable") <= high
    assert _run_probability(client, seed=2018, calls=100) != first[:100]  # equal by chance: 0.58**100, about 2e-24


def test_ledger_adds_up_under_16_threads(client: ClientFactory) -> None:
    s3 = client("s3", attempts=1, max_pool_connections=16)
    s3.create_bucket(Bucket="east-bucket")
    errors = [0] * 16

    def work(worker: int) -> None:
        for _ in range(150):
            if failure(lambda: s3.head_bucket(Bucket="east-bucket")):
                errors[worker] += 1

    with chaos.inject(chaos.s3_outage(probability=0.5), seed=3) as outage, ThreadPoolExecutor(16) as pool:
        list(pool.map(work, range(16)))
    assert outage.ledger.total == 16 * 150
    assert outage.ledger.fired == sum(errors)
    assert outage.ledger.calls(outcome="pass") == 16 * 150 - sum(errors)
    assert outage.ledger.by_fault() == {"unavailable s3 us-east-1 p=0.5": sum(errors)}
    low, high = _binomial_interval(2400, 0.5)
    assert low <= sum(errors) <= high
