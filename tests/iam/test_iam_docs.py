"""The least-privilege policy in docs/iam.md: lint-clean, and enough for the injector and no more."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from parliament import analyze_policy_string

import chaos
from chaos.iam.evaluate import Request, evaluate
from chaos.iam.policy import fault_policies

DOC = Path(__file__).resolve().parents[2] / "docs" / "iam.md"
ACCOUNT = "123456789012"


def _runner_policy() -> dict[str, Any]:
    [block] = re.findall(r"```json\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    return dict(json.loads(block))


def test_the_runner_policy_is_lint_clean() -> None:
    assert analyze_policy_string(json.dumps(_runner_policy())).findings == []


@pytest.mark.parametrize(
    ("action", "resource", "context", "allowed"),
    [
        ("sts:GetCallerIdentity", "*", {}, True),
        ("iam:CreatePolicy", f"arn:aws:iam::{ACCOUNT}:policy/chaos-outage-abc-0", {}, True),
        ("iam:TagPolicy", f"arn:aws:iam::{ACCOUNT}:policy/chaos-outage-abc-0", {}, True),
        ("iam:DeletePolicy", f"arn:aws:iam::{ACCOUNT}:policy/chaos-outage-abc-0", {}, True),
        ("iam:GetPolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/chaos-outage-abc-0", {}, True),
        ("iam:GetGroup", f"arn:aws:iam::{ACCOUNT}:group/app-readers", {}, True),
        ("iam:DeletePolicy", f"arn:aws:iam::{ACCOUNT}:policy/someone-elses", {}, False),
        (
            "iam:AttachRolePolicy",
            f"arn:aws:iam::{ACCOUNT}:role/app-orders",
            {"iam:PolicyARN": f"arn:aws:iam::{ACCOUNT}:policy/chaos-outage-abc-0"},
            True,
        ),
        (
            "iam:AttachRolePolicy",
            f"arn:aws:iam::{ACCOUNT}:role/app-orders",
            {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
            False,
        ),
        (
            "iam:AttachRolePolicy",
            f"arn:aws:iam::{ACCOUNT}:role/admin",
            {"iam:PolicyARN": f"arn:aws:iam::{ACCOUNT}:policy/chaos-outage-abc-0"},
            False,
        ),
        ("s3:GetObject", "arn:aws:s3:::any/key", {}, False),
    ],
)
def test_the_runner_policy_allows_what_the_injector_does_and_nothing_else(
    action: str, resource: str, context: dict[str, str], allowed: bool
) -> None:
    assert evaluate([_runner_policy()], Request(action, resource, context)).allowed is allowed


@pytest.mark.aws
@pytest.mark.skipif(
    os.environ.get("CHAOS_REAL_AWS") != "1", reason="needs a real AWS account (set CHAOS_REAL_AWS=1 and credentials)"
)
def test_aws_policy_simulator_agrees_on_the_region_conditions() -> None:
    import boto3

    now = datetime.now(timezone.utc)
    [policy] = fault_policies(
        [chaos.s3_outage("us-east-1", **{"for": "10m"})],
        run_id="sim",
        experiment="simulator",
        start=now - timedelta(minutes=1),
        run_end=now + timedelta(minutes=10),
        margin=timedelta(minutes=5),
    )
    iam = boto3.client("iam")
    for region, expected in (("us-east-1", "explicitDeny"), ("eu-west-1", "implicitDeny")):
        result = iam.simulate_custom_policy(
            PolicyInputList=[json.dumps(policy.document)],
            ActionNames=["s3:GetObject"],
            ResourceArns=["arn:aws:s3:::a-bucket/key"],
            ContextEntries=[
                {"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": [region], "ContextKeyType": "string"},
                {
                    "ContextKeyName": "aws:CurrentTime",
                    "ContextKeyValues": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
                    "ContextKeyType": "date",
                },
            ],
        )
        assert result["EvaluationResults"][0]["EvalDecision"] == expected
