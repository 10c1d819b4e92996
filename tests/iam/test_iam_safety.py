"""Real-AWS safety of the IAM injector, on moto's server with IAM enforcement on.

Ownership (only policies with the whole signature are ever touched), a rollback that tells the
truth (exit 4 naming the permission it lacks), a caller that can never lock itself out,
protected principals matched case-insensitively, an arm that fails half-way leaving nothing, and
IAM runs that verify themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import chaos
from chaos.gate import Refused, protected_by
from chaos.iam.ownership import IamStepError, call
from chaos.iam.policy import TAG_EXPIRES, TAG_RUN
from chaos.injectors.iam import IamInjector, ours, sweep
from chaos.model import Guardrails, IamSettings
from tests.iam.conftest import ACCOUNT, ALLOW_ALL, TRUST, _session, admin_env

OUTAGE = Path(sys.executable).with_name("outage")
DENY_STATEMENT = {
    "Sid": "ChaosFault0Region",
    "Effect": "Deny",
    "Action": ["s3:*"],
    "Resource": "*",
    "Condition": {"DateLessThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}},
}


def _outage(world: dict[str, Any], *args: str, keys: tuple[str, str] | None = None, cwd: Path) -> Any:
    env = admin_env(world)
    if keys is not None:
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = keys
    return subprocess.run(
        [str(OUTAGE), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _user_with(admin: boto3.Session, name: str, document: dict[str, Any]) -> tuple[str, str]:
    """A user with its own inline policy; returns its keys."""
    iam = admin.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _everything_but(*actions: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": list(actions), "Resource": "*"},
        ],
    }


@pytest.fixture(scope="module")
def lookalikes(iam_world: dict[str, Any]) -> Iterator[dict[str, str]]:
    """Five policies that look like the tool's but are not, one attached to a protected role."""
    key, secret = iam_world["keys"]["chaos-admin"]
    admin = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1")
    iam = admin.client("iam", endpoint_url=iam_world["url"])
    ours_like = json.dumps({"Version": "2012-10-17", "Statement": [DENY_STATEMENT]})
    expires = {"Key": TAG_EXPIRES, "Value": "2099-01-01T00:00:00Z"}
    specs = {
        "prefix only": ("chaos-outage-security-team-guard", ALLOW_ALL, [{"Key": TAG_RUN, "Value": "keep-me"}]),
        "tag only": ("team-guard", ours_like, [{"Key": TAG_RUN, "Value": "abcdef012345"}, expires]),
        "wrong tag value": (
            "chaos-outage-abcdef012345-0",
            ours_like,
            [{"Key": TAG_RUN, "Value": "000000000000"}, expires],
        ),
        "no tags": ("chaos-outage-abcdef012345-1", ours_like, []),
        "not our statements": (
            "chaos-outage-abcdef012345-2",
            ALLOW_ALL,
            [{"Key": TAG_RUN, "Value": "abcdef012345"}, expires],
        ),
    }
    arns = {}
    for label, (name, document, tags) in specs.items():
        arns[label] = iam.create_policy(PolicyName=name, PolicyDocument=document, Tags=tags)["Policy"]["Arn"]
    iam.create_role(RoleName="ADMIN-break-glass", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="ADMIN-break-glass", PolicyArn=arns["prefix only"])
    yield arns
    iam.detach_role_policy(RoleName="ADMIN-break-glass", PolicyArn=arns["prefix only"])
    iam.delete_role(RoleName="ADMIN-break-glass")
    for arn in arns.values():
        iam.delete_policy(PolicyArn=arn)


def _left_behind(admin: boto3.Session, user: str = "app-user") -> str:
    """A real policy of a run that never removed it (as after SIGKILL); returns its ARN."""
    injector = IamInjector(
        [chaos.s3_outage("us-east-1", kind="access_denied", **{"for": "10m"})],
        settings=IamSettings.model_validate({"targets": [{"user": user}], "propagation": "0s"}),
        guardrails=Guardrails(accounts=(ACCOUNT,)),
        experiment="left behind",
        session=admin,
        duration=600,
        region_conditions=False,
    )
    injector.arm()
    [(_, arn)] = injector.created
    return arn


def test_rollback_removes_only_signed_policies_and_names_the_rest(
    iam_world: dict[str, Any], admin: boto3.Session, lookalikes: dict[str, str], tmp_path: Path
) -> None:
    mine = _left_behind(admin)
    result = _outage(iam_world, "rollback", "--iam", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"removed {mine}" in result.stdout
    iam = admin.client("iam")
    for label, arn in lookalikes.items():
        assert iam.get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn, label  # survived
    listed = [line for line in result.stdout.splitlines() if line.startswith("not ours, left alone:")]
    assert len(listed) == 4, result.stdout  # "tag only" lacks the prefix: not even a candidate
    assert any(
        "chaos-outage-security-team-guard" in line and "not chaos-outage-<run id>-<n>" in line for line in listed
    )
    assert any("abcdef012345-0" in line and "'000000000000'" in line for line in listed)
    assert any("abcdef012345-1" in line and "missing" in line for line in listed)
    assert any("abcdef012345-2" in line and "not a deny statement the tool wrote" in line for line in listed)
    entities = iam.list_entities_for_policy(PolicyArn=lookalikes["prefix only"])
    assert [role["RoleName"] for role in entities["PolicyRoles"]] == ["ADMIN-break-glass"]  # still attached
    assert "clean: 1 policy removed, none left (checked)" in result.stdout


def test_a_rollback_without_list_policy_tags_says_so_and_exits_4(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    keys = _user_with(admin, "no-tags-admin", _everything_but("iam:ListPolicyTags"))
    mine = _left_behind(admin)
    try:
        result = _outage(iam_world, "rollback", "--iam", keys=keys, cwd=tmp_path)
        assert result.returncode == 4, result.stdout + result.stderr
        assert "iam:ListPolicyTags" in result.stderr and "permission iam:ListPolicyTags is missing" in result.stderr
        assert "clean" not in result.stdout
        assert admin.client("iam").get_policy(PolicyArn=mine)  # nothing was removed on a guess
    finally:
        sweep(admin)


def test_a_rollback_that_cannot_delete_says_what_is_left(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    keys = _user_with(admin, "no-delete-admin", _everything_but("iam:DeletePolicy"))
    mine = _left_behind(admin)
    try:
        result = _outage(iam_world, "rollback", "--iam", keys=keys, cwd=tmp_path)
        assert result.returncode == 4, result.stdout + result.stderr
        assert f"iam:DeletePolicy on {mine}: permission iam:DeletePolicy is missing" in result.stderr
        assert f"not checked gone: {mine}" in result.stderr
    finally:
        sweep(admin)


def test_throttling_is_retried_then_named() -> None:
    throttled = ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "ListPolicies")
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise throttled
        return "listed"

    assert call("iam:ListPolicies", "the account", flaky) == "listed"
    assert len(attempts) == 3

    def always() -> None:
        raise throttled

    with pytest.raises(IamStepError, match=r"iam:ListPolicies on the account: throttled \(Throttling\)"):
        call("iam:ListPolicies", "the account", always)


def test_a_group_that_contains_the_caller_is_refused(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    iam = admin.client("iam")
    iam.create_group(GroupName="admins")
    iam.add_user_to_group(GroupName="admins", UserName="chaos-admin")
    try:
        result = _outage(
            iam_world,
            "inject",
            "--iam-target",
            "group/admins",
            "--account",
            ACCOUNT,
            "--fault",
            "{kind: unavailable, service: '*', region: us-east-1}",
            "--for",
            "1s",
            cwd=tmp_path,
        )
        assert result.returncode == 3, result.stdout + result.stderr
        assert "group/admins includes the caller" in result.stderr
        assert "the caller's user chaos-admin is a member" in result.stderr
        assert "Traceback" not in result.stderr
        assert ours(iam) == []
    finally:
        iam.remove_user_from_group(GroupName="admins", UserName="chaos-admin")
        iam.delete_group(GroupName="admins")


def test_the_role_the_caller_assumed_is_refused(iam_world: dict[str, Any], admin: boto3.Session) -> None:
    sts = _session(iam_world, "chaos-admin").client("sts", endpoint_url=iam_world["url"])
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/chaos-demo-app", RoleSessionName="me")[
        "Credentials"
    ]
    as_role = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )
    injector = IamInjector(
        [chaos.s3_outage("us-east-1", kind="access_denied", **{"for": "1m"})],
        settings=IamSettings.model_validate({"targets": [{"role": "chaos-demo-app"}], "propagation": "0s"}),
        guardrails=Guardrails(accounts=(ACCOUNT,)),
        experiment="lockout",
        session=as_role,
        duration=60,
    )
    with pytest.raises(
        Refused, match=r"caller: .*role/chaos-demo-app includes the caller.*the role the caller's session assumed"
    ):
        injector.arm()
    assert ours(admin.client("iam")) == []


@pytest.mark.parametrize(
    ("pattern", "arn", "protected"),
    [
        ("arn:aws:iam::*:role/admin*", "arn:aws:iam::123456789012:role/ADMIN-break-glass", True),
        ("arn:aws:iam::*:ROLE/Admin*", "arn:aws:iam::123456789012:role/admin", True),
        ("arn:aws:iam::*:role/admin*", "arn:aws:iam::123456789012:role/app-admin", False),
        ("arn:aws:iam::*:role/admin*", "arn:aws:iam::123456789012:user/admin", False),
    ],
)
def test_protected_principals_match_case_insensitively(pattern: str, arn: str, protected: bool) -> None:
    assert (protected_by(arn, [pattern]) == pattern) is protected


def test_a_protected_role_in_another_case_is_refused_on_moto(
    iam_world: dict[str, Any], admin: boto3.Session, lookalikes: dict[str, str]
) -> None:
    injector = IamInjector(
        [chaos.s3_outage("us-east-1", kind="access_denied", **{"for": "1m"})],
        settings=IamSettings.model_validate({"targets": [{"role": "ADMIN-break-glass"}], "propagation": "0s"}),
        guardrails=Guardrails(accounts=(ACCOUNT,), protected_principals=("arn:aws:iam::*:role/admin*",)),
        experiment="protected",
        session=admin,
        duration=60,
    )
    with pytest.raises(Refused, match=r"protected_principals: .*role/ADMIN-break-glass matches the protected pattern"):
        injector.arm()
    assert ours(admin.client("iam")) == []


def test_an_attach_that_fails_half_way_leaves_nothing(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    keys = _user_with(admin, "no-role-attach", _everything_but("iam:AttachRolePolicy"))
    result = _outage(
        iam_world,
        "inject",
        "--iam-target",
        "user/app-user",
        "--iam-target",
        "role/chaos-demo-app",
        "--account",
        ACCOUNT,
        "--fault",
        "{kind: access_denied, service: s3, region: us-east-1}",
        "--for",
        "1s",
        keys=keys,
        cwd=tmp_path,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "permission iam:AttachRolePolicy is missing" in result.stderr
    assert "everything it had created is removed" in result.stderr
    assert "Traceback" not in result.stderr
    assert "iam_attach: " in result.stdout and "user/app-user" in result.stdout  # the first attach happened
    assert ours(admin.client("iam")) == []
    assert admin.client("iam").list_attached_user_policies(UserName="app-user")["AttachedPolicies"] == [
        {"PolicyName": "allow-all", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/allow-all"}
    ]


def test_a_disarm_that_fails_is_exit_4_without_traceback(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    keys = _user_with(admin, "no-detach", _everything_but("iam:DetachUserPolicy"))
    try:
        result = _outage(
            iam_world,
            "inject",
            "--iam-target",
            "user/app-user",
            "--account",
            ACCOUNT,
            "--fault",
            "{kind: access_denied, service: s3, region: us-east-1}",
            "--for",
            "200ms",
            "--propagation",
            "0s",
            keys=keys,
            cwd=tmp_path,
        )
        assert result.returncode == 4, result.stdout + result.stderr
        assert "permission iam:DetachUserPolicy is missing" in result.stderr
        assert "outage rollback --iam --run" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        assert sweep(admin).clean
    assert ours(admin.client("iam")) == []


def test_an_iam_run_with_a_probe_verifies_the_denial_and_the_return(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    key, secret = iam_world["keys"]["app-user"]
    (tmp_path / "credentials").write_text(f"[app]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    (tmp_path / "iam.yaml").write_text(
        f"""
version: 1
title: IAM run with a probe
injector: iam
phases: {{baseline: 0s, recovery: 0s}}
faults:
  - {{kind: access_denied, service: s3, region: us-east-1, buckets: [east-docs], for: 1s}}
iam:
  targets: [{{user: app-user}}]
  propagation: 10s
  probe_profile: app
guardrails:
  accounts: ["{ACCOUNT}"]
"""
    )
    env = {**admin_env(iam_world), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}
    result = subprocess.run(
        [str(OUTAGE), "run", "iam.yaml", "--journal", "j.json", "--report", "reports"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    journal = json.loads((tmp_path / "j.json").read_text())
    assert journal["status"] == "passed"
    checks = {check["name"]: check for check in journal["checks"]}
    assert checks["denial_in_effect"]["passed"] and checks["denial_in_effect"]["reason"].startswith(
        "denial in effect after"
    )
    assert checks["access_restored"]["passed"] and checks["access_restored"]["reason"].startswith(
        "access restored after"
    )
    assert "access_restored" in (tmp_path / "reports" / "report.md").read_text()
    assert ours(admin.client("iam")) == []


def _denied(documents: list[dict[str, Any]], action: str, region: str = "us-east-1") -> bool:
    from chaos.iam.evaluate import Request, evaluate

    allow_all = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    context = {"aws:RequestedRegion": region, "aws:CurrentTime": "2030-01-01T00:00:30Z"}
    return evaluate([allow_all, *documents], Request(action, "*", context)).effect == "ExplicitDeny"


@pytest.mark.parametrize(
    ("fault", "also_denied"),
    [
        (
            chaos.region_outage("us-east-1", kind="unavailable", include_global=True),
            ["s3:GetObject", "iam:CreateRole", "sts:AssumeRole"],
        ),
        (chaos.Fault(kind="unavailable", service="iam", region="us-east-1"), ["iam:CreateRole", "iam:ListRoles"]),
        (chaos.Fault(kind="unavailable", service="sts", region="us-east-1"), ["sts:AssumeRole"]),
        (
            chaos.Fault(
                kind="unavailable", service="iam", region="us-east-1", operations=["DetachRolePolicy", "ListRoles"]
            ),
            ["iam:ListRoles"],
        ),
    ],
)
def test_no_deny_policy_covers_what_rollback_needs(fault: chaos.Fault, also_denied: list[str]) -> None:
    from datetime import datetime, timedelta, timezone

    from parliament import analyze_policy_string

    from chaos.iam.policy import fault_policies
    from chaos.iam.spare import ROLLBACK_ACTIONS

    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    [policy] = fault_policies(
        [fault],
        run_id="abcdef012345",
        experiment="t",
        start=start,
        run_end=start + timedelta(minutes=1),
        margin=timedelta(0),
    )
    documents = [policy.document]
    for action in ROLLBACK_ACTIONS:
        assert not _denied(documents, action), action
    for action in also_denied:
        assert _denied(documents, action), action
    findings = [f for f in analyze_policy_string(json.dumps(policy.document)).findings if f.issue != "UNKNOWN_ACTION"]
    assert findings == [], [str(f) for f in findings]


def test_a_fault_that_would_deny_only_rollback_actions_is_refused() -> None:
    from datetime import datetime, timedelta, timezone

    from chaos.errors import ConfigError
    from chaos.iam.policy import fault_policies

    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    fault = chaos.Fault(kind="unavailable", service="iam", region="us-east-1", operations=["DeletePolicy"])
    with pytest.raises(ConfigError, match=r"it would deny only iam:DeletePolicy, which rollback needs"):
        fault_policies([fault], run_id="abcdef012345", experiment="t", start=start, run_end=start, margin=timedelta(0))


def test_a_protected_role_with_a_path_is_refused(iam_world: dict[str, Any], admin: boto3.Session) -> None:
    iam = admin.client("iam")
    iam.create_role(RoleName="Admin-Role", Path="/ops/", AssumeRolePolicyDocument=TRUST)
    try:
        injector = IamInjector(
            [chaos.s3_outage("us-east-1", kind="access_denied", **{"for": "1m"})],
            settings=IamSettings.model_validate({"targets": [{"role": "Admin-Role"}], "propagation": "0s"}),
            guardrails=Guardrails(accounts=(ACCOUNT,), protected_principals=("arn:aws:iam::*:role/admin*",)),
            experiment="protected with a path",
            session=admin,
            duration=60,
        )
        with pytest.raises(Refused, match=r"role/ops/Admin-Role matches the protected pattern"):
            injector.arm()
        assert ours(iam) == []
    finally:
        iam.delete_role(RoleName="Admin-Role")


def test_an_iam_run_whose_probe_covers_one_fault_of_two_is_unverified(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    key, secret = iam_world["keys"]["app-user"]
    (tmp_path / "credentials").write_text(f"[app]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    (tmp_path / "iam.yaml").write_text(
        f"""
version: 1
title: IAM run with an unprobed fault
injector: iam
phases: {{baseline: 0s, recovery: 0s}}
faults:
  - {{kind: access_denied, service: s3, region: us-east-1, buckets: [east-docs], for: 1s}}
  - {{kind: unavailable, service: dynamodb, region: eu-west-1, for: 1s}}
iam:
  targets: [{{user: app-user}}]
  propagation: 10s
  expiry_margin: 1m
  probe_profile: app
guardrails:
  accounts: ["{ACCOUNT}"]
"""
    )
    env = {**admin_env(iam_world), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}
    result = subprocess.run(
        [str(OUTAGE), "run", "iam.yaml", "--journal", "j.json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 5, result.stdout + result.stderr
    journal = json.loads((tmp_path / "j.json").read_text())
    assert journal["status"] == "unverified"
    assert "nothing verified the denial of unavailable dynamodb eu-west-1" in journal["reason"]
    assert ours(admin.client("iam")) == []
