"""The policy evaluator, on examples from AWS's IAM documentation, and on the injector's own policies
(the region and time conditions that moto does not evaluate)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import chaos
from chaos.iam.actions import iam_actions
from chaos.iam.evaluate import Request, evaluate
from chaos.iam.policy import fault_policies

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

# "AWS: Denies access to AWS based on the requested Region" (IAM User Guide, example policies).
DENY_OUTSIDE_REGIONS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyAllOutsideRequestedRegions",
            "Effect": "Deny",
            "NotAction": ["cloudfront:*", "iam:*", "route53:*", "support:*"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-central-1", "eu-west-1"]}},
        }
    ],
}

# "AWS: Allows access based on date and time" (IAM User Guide, example policies).
DATE_WINDOW = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "service-prefix:action-name",
            "Resource": "*",
            "Condition": {
                "DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
                "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"},
            },
        }
    ],
}

# "Amazon S3: Allows read and write access to objects in an S3 bucket" (IAM User Guide).
S3_BUCKET = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ListObjectsInBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": ["arn:aws:s3:::bucket-name"],
        },
        {
            "Sid": "AllObjectActions",
            "Effect": "Allow",
            "Action": "s3:*Object",
            "Resource": ["arn:aws:s3:::bucket-name/*"],
        },
    ],
}

# Deny unless over TLS (aws:SecureTransport), with IfExists on a principal tag.
SECURE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {
            "Effect": "Deny",
            "Action": "ec2:*",
            "Resource": "*",
            "Condition": {"StringEqualsIfExists": {"aws:PrincipalTag/team": "banned"}},
        },
        {
            "Effect": "Deny",
            "Action": "sqs:*",
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ci-*"}},
        },
    ],
}


def effect(policies: list[dict[str, object]], action: str, resource: str = "*", **context: object) -> str:
    return evaluate(
        policies,
        Request(action, resource, {k.replace("__", ":").replace("_slash_", "/"): v for k, v in context.items()}),
    ).effect


def test_explicit_deny_wins_and_nothing_is_implicitly_denied() -> None:
    assert effect([ALLOW_ALL], "s3:GetObject") == "Allow"
    assert effect([], "s3:GetObject") == "ImplicitDeny"
    assert effect([ALLOW_ALL, DENY_OUTSIDE_REGIONS], "s3:GetObject", aws__RequestedRegion="us-east-1") == "ExplicitDeny"


@pytest.mark.parametrize(
    ("action", "region", "expected"),
    [
        ("ec2:RunInstances", "eu-west-1", "Allow"),
        ("ec2:RunInstances", "us-east-1", "ExplicitDeny"),
        ("iam:CreateUser", "us-east-1", "Allow"),  # NotAction: global services are exempt
        ("IAM:CreateUser", "us-east-1", "Allow"),  # action names are case-insensitive
        ("route53:ChangeResourceRecordSets", "us-east-1", "Allow"),
    ],
)
def test_requested_region_example(action: str, region: str, expected: str) -> None:
    assert effect([ALLOW_ALL, DENY_OUTSIDE_REGIONS], action, aws__RequestedRegion=region) == expected


def test_negated_operator_with_a_missing_key_is_true() -> None:
    # AWS: "If the key ... is not present ... and the operator is negated (StringNotEquals), the condition is true."
    assert effect([ALLOW_ALL, DENY_OUTSIDE_REGIONS], "ec2:RunInstances") == "ExplicitDeny"


def test_date_window_example() -> None:
    assert effect([DATE_WINDOW], "service-prefix:action-name", aws__CurrentTime="2020-05-01T12:00:00Z") == "Allow"
    assert (
        effect([DATE_WINDOW], "service-prefix:action-name", aws__CurrentTime="2020-07-01T00:00:00Z") == "ImplicitDeny"
    )
    assert effect([DATE_WINDOW], "service-prefix:action-name") == "ImplicitDeny"  # no time: no match


def test_resource_wildcards_example() -> None:
    assert effect([S3_BUCKET], "s3:ListBucket", "arn:aws:s3:::bucket-name") == "Allow"
    assert effect([S3_BUCKET], "s3:GetObject", "arn:aws:s3:::bucket-name/a/b.txt") == "Allow"
    assert effect([S3_BUCKET], "s3:GetObjectAcl", "arn:aws:s3:::bucket-name/a") == "ImplicitDeny"  # *Object ends there
    assert effect([S3_BUCKET], "s3:GetObject", "arn:aws:s3:::bucket-name-2/a") == "ImplicitDeny"
    assert (
        effect([S3_BUCKET], "s3:GetObject", "arn:aws:s3:::Bucket-Name/a") == "ImplicitDeny"
    )  # resources are case-sensitive


def test_bool_ifexists_and_arnlike() -> None:
    assert effect([ALLOW_ALL, SECURE], "s3:GetObject", aws__SecureTransport="false") == "ExplicitDeny"
    assert effect([ALLOW_ALL, SECURE], "s3:GetObject", aws__SecureTransport=True) == "Allow"
    assert effect([ALLOW_ALL, SECURE], "ec2:RunInstances") == "ExplicitDeny"  # IfExists: a missing key matches
    assert effect([ALLOW_ALL, SECURE], "ec2:RunInstances", aws__PrincipalTag_slash_team="core") == "Allow"
    assert (
        effect([ALLOW_ALL, SECURE], "sqs:SendMessage", aws__PrincipalArn="arn:aws:iam::123456789012:role/ci-runner")
        == "ExplicitDeny"
    )
    assert (
        effect([ALLOW_ALL, SECURE], "sqs:SendMessage", aws__PrincipalArn="arn:aws:iam::123456789012:role/app")
        == "Allow"
    )


def test_unknown_operators_are_refused_not_ignored() -> None:
    policy = {
        "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"NumericLessThan": {"k": "1"}}}]
    }
    with pytest.raises(ValueError, match="NumericLessThan"):
        effect([policy], "s3:GetObject", k="0")


NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def _policies(*faults: chaos.Fault, buckets: dict[str, str] | None = None) -> list[dict[str, object]]:
    planned = fault_policies(
        faults,
        run_id="r1",
        experiment="t",
        start=NOW,
        run_end=NOW + timedelta(minutes=10),
        margin=timedelta(minutes=5),
        bucket_regions=buckets,
    )
    return [ALLOW_ALL, *(policy.document for policy in planned)]


def _at(minutes: float) -> str:
    return (NOW + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_generated_s3_policy_denies_the_region_existing_and_new_buckets_only() -> None:
    policies = _policies(
        chaos.s3_outage("us-east-1", **{"for": "5m"}), buckets={"old-east": "us-east-1", "old-west": "eu-west-1"}
    )
    [get] = iam_actions("s3", "GetObject")
    during, after = _at(1), _at(6)
    # An existing bucket in us-east-1, whatever region the request is signed for.
    assert (
        effect(policies, get, "arn:aws:s3:::old-east/k", aws__RequestedRegion="us-west-2", aws__CurrentTime=during)
        == "ExplicitDeny"
    )
    # A bucket created after the policy, in us-east-1: the aws:RequestedRegion condition covers it.
    assert (
        effect(policies, get, "arn:aws:s3:::brand-new/k", aws__RequestedRegion="us-east-1", aws__CurrentTime=during)
        == "ExplicitDeny"
    )
    # eu-west-1 is untouched.
    assert (
        effect(policies, get, "arn:aws:s3:::old-west/k", aws__RequestedRegion="eu-west-1", aws__CurrentTime=during)
        == "Allow"
    )
    # After the fault's window the policy is harmless, removed or not.
    assert (
        effect(policies, get, "arn:aws:s3:::old-east/k", aws__RequestedRegion="us-east-1", aws__CurrentTime=after)
        == "Allow"
    )
    # Before it starts too.
    assert (
        effect(policies, get, "arn:aws:s3:::old-east/k", aws__RequestedRegion="us-east-1", aws__CurrentTime=_at(-1))
        == "Allow"
    )


def test_generated_policy_scopes_operations_buckets_and_prefixes() -> None:
    policies = _policies(
        chaos.s3_outage("us-east-1", operations=["ListObjectsV2", "PutObject"], buckets=["docs"], key_prefix="tmp/")
    )
    during = _at(1)
    assert effect(policies, "s3:PutObject", "arn:aws:s3:::docs/tmp/x", aws__CurrentTime=during) == "ExplicitDeny"
    assert effect(policies, "s3:PutObject", "arn:aws:s3:::docs/keep/x", aws__CurrentTime=during) == "Allow"
    assert effect(policies, "s3:GetObject", "arn:aws:s3:::docs/tmp/x", aws__CurrentTime=during) == "Allow"
    assert effect(policies, "s3:PutObject", "arn:aws:s3:::other/tmp/x", aws__CurrentTime=during) == "Allow"


def test_generated_policy_for_other_services_and_global_expiry() -> None:
    policies = _policies(chaos.Fault(kind="throttle", service="dynamodb", region="eu-west-1"))
    table = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    assert (
        effect(policies, "dynamodb:PutItem", table, aws__RequestedRegion="eu-west-1", aws__CurrentTime=_at(1))
        == "ExplicitDeny"
    )
    assert (
        effect(
            policies,
            "dynamodb:PutItem",
            "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
            aws__RequestedRegion="us-east-1",
            aws__CurrentTime=_at(1),
        )
        == "Allow"
    )
    assert (
        effect(policies, "sqs:SendMessage", "*", aws__RequestedRegion="eu-west-1", aws__CurrentTime=_at(1)) == "Allow"
    )
    # No "for": it expires at the run's end plus the margin (10 + 5 minutes).
    assert (
        effect(policies, "dynamodb:PutItem", table, aws__RequestedRegion="eu-west-1", aws__CurrentTime=_at(14))
        == "ExplicitDeny"
    )
    assert (
        effect(policies, "dynamodb:PutItem", table, aws__RequestedRegion="eu-west-1", aws__CurrentTime=_at(16))
        == "Allow"
    )


def test_action_mapping() -> None:
    assert iam_actions("s3", "ListObjectsV2") == ("s3:ListBucket",)
    assert iam_actions("s3", "GetObject") == ("s3:GetObject",)
    assert iam_actions("s3", "HeadObject") == ("s3:GetObject",)
    assert iam_actions("dynamodb", "PutItem") == ("dynamodb:PutItem",)
    assert iam_actions("cloudwatch", "PutMetricData") == ("cloudwatch:PutMetricData",)
