"""The IAM injector against moto's real server with IAM enforcement on.

moto enforces identity policies but not their conditions: the tests use it for attachment,
rollback and resource-scoped denial, and the project's evaluator for the region and time
conditions (tests/iam/test_evaluate.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from parliament import analyze_policy_string

import chaos
from chaos.errors import ConfigError
from chaos.gate import Refused
from chaos.injectors.iam import IamInjector, ours
from chaos.model import Guardrails, IamSettings
from tests.iam.conftest import ACCOUNT, _session, admin_env


def _role_session(world: dict[str, Any]) -> boto3.Session:
    sts = _session(world, "chaos-admin").client("sts", endpoint_url=world["url"])
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/chaos-demo-app", RoleSessionName="app")[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )


def _reads(session: boto3.Session, url: str) -> dict[str, str]:
    outcome = {}
    for bucket, region in (("east-docs", "us-east-1"), ("west-docs", "eu-west-1")):
        s3 = session.client("s3", region_name=region, endpoint_url=url)
        try:
            s3.get_object(Bucket=bucket, Key="doc")
            outcome[bucket] = "ok"
        except ClientError as exc:
            outcome[bucket] = exc.response["Error"]["Code"]
    return outcome


def _injector(admin: boto3.Session, **settings: Any) -> IamInjector:
    targets = settings.pop("targets", [{"user": "app-user"}, {"role": "chaos-demo-app"}])
    guardrails = settings.pop("guardrails", Guardrails(accounts=(ACCOUNT,)))
    return IamInjector(
        [chaos.s3_outage("us-east-1", kind="access_denied", **{"for": "10m"})],
        settings=IamSettings.model_validate({"targets": targets, "propagation": "5s"}),
        guardrails=guardrails,
        experiment="IAM test",
        session=admin,
        duration=600,
        region_conditions=False,  # moto evaluates no conditions; see the module docstring
        **settings,
    )


def test_denies_the_target_region_only_and_rolls_back(iam_world: dict[str, Any], admin: boto3.Session) -> None:
    url = iam_world["url"]
    app_user = _session(iam_world, "app-user")
    events: list[str] = []
    injector = _injector(
        admin,
        journal=lambda event, **fields: events.append(event),
        probe=lambda: _reads(app_user, url)["east-docs"] == "AccessDenied",
    )
    assert _reads(app_user, url) == {"east-docs": "ok", "west-docs": "ok"}
    injector.arm()
    try:
        assert _reads(app_user, url) == {"east-docs": "AccessDenied", "west-docs": "ok"}
        assert _reads(_role_session(iam_world), url) == {"east-docs": "AccessDenied", "west-docs": "ok"}
        assert len(ours(admin.client("iam"), injector.run_id)) == 1
    finally:
        injector.disarm()
    assert injector.rollback_complete is True
    assert ours(admin.client("iam")) == []
    assert _reads(app_user, url) == {"east-docs": "ok", "west-docs": "ok"}
    # The intent is on record before each change.
    assert (
        events.index("iam_create")
        < events.index("iam_attach")
        < events.index("iam_in_effect")
        < events.index("iam_remove")
    )


def test_every_generated_policy_passes_parliament(admin: boto3.Session) -> None:
    faults = [
        chaos.s3_outage("us-east-1", kind="access_denied"),
        chaos.s3_outage("eu-west-1", operations=["GetObject", "ListObjectsV2", "PutObject"]),
        chaos.s3_outage("us-east-1", buckets=["east-docs"], key_prefix="tmp/"),
        chaos.Fault(kind="throttle", service="dynamodb", region="us-west-2", operations=["PutItem"]),
        chaos.Fault(kind="unavailable", service="sqs", region=["us-east-1", "eu-west-1"]),
    ]
    injector = IamInjector(
        faults,
        settings=IamSettings.model_validate({"targets": [{"role": "chaos-demo-app"}]}),
        guardrails=Guardrails(accounts=(ACCOUNT,)),
        experiment="lint",
        session=admin,
        duration=60,
    )
    for policy in injector.plan(bucket_regions={"east-docs": "us-east-1", "west-docs": "eu-west-1"}):
        findings = analyze_policy_string(json.dumps(policy.document)).findings
        assert findings == [], (policy.name, [str(finding) for finding in findings])


def test_an_account_allow_list_is_required(admin: boto3.Session) -> None:
    with pytest.raises(Refused, match=r"accounts: the iam injector needs an account allow-list.*account 123456789012"):
        _injector(admin, guardrails=Guardrails()).arm()
    with pytest.raises(Refused, match=r"account 123456789012 is not in the allow-list \(210987654321\)"):
        _injector(admin, guardrails=Guardrails(accounts=("210987654321",))).arm()
    assert ours(admin.client("iam")) == []


def test_protected_principals_and_the_caller_are_never_targeted(admin: boto3.Session) -> None:
    with pytest.raises(Refused, match="role/chaos-demo-app matches the protected pattern"):
        _injector(
            admin, guardrails=Guardrails(accounts=(ACCOUNT,), protected_principals=("arn:aws:iam::*:role/chaos-*",))
        ).arm()
    with pytest.raises(Refused, match=r"user/chaos-admin includes the caller.*the caller.s own user"):
        _injector(admin, targets=[{"user": "chaos-admin"}]).arm()
    with pytest.raises(ConfigError, match="role 'missing' does not exist"):
        _injector(admin, targets=[{"role": "missing"}]).arm()
    assert ours(admin.client("iam")) == []


def test_a_run_killed_with_sigkill_is_cleaned_by_outage_rollback(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    env = admin_env(iam_world)
    script = tmp_path / "arm_and_hang.py"
    script.write_text(
        textwrap.dedent(f"""
        import time, boto3, chaos
        from chaos.injectors.iam import IamInjector
        from chaos.model import Guardrails, IamSettings
        injector = IamInjector([chaos.s3_outage("us-east-1", kind="access_denied")],
            settings=IamSettings.model_validate({{"targets": [{{"user": "app-user"}}], "propagation": "0s"}}),
            guardrails=Guardrails(accounts=("{ACCOUNT}",)), experiment="killed", session=boto3.Session(), duration=600,
            region_conditions=False)
        injector.arm()
        print("ARMED", flush=True)
        time.sleep(600)
    """)
    )
    process = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ARMED"
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()
    assert _reads(_session(iam_world, "app-user"), iam_world["url"])["east-docs"] == "AccessDenied"  # left behind
    outage = Path(sys.executable).with_name("outage")
    result = subprocess.run(
        [str(outage), "rollback", "--iam"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "removed arn:aws:iam::123456789012:policy/chaos-outage-" in result.stdout
    assert "clean: 1 policy removed, none left (checked)" in result.stdout
    assert _reads(_session(iam_world, "app-user"), iam_world["url"])["east-docs"] == "ok"


def test_waits_by_polling_with_the_targets_credentials(iam_world: dict[str, Any], admin: boto3.Session) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    injector = _injector(
        admin,
        probe_session=_session(iam_world, "app-user"),
        journal=lambda event, **fields: events.append((event, fields)),
    )
    injector.arm()
    try:
        names = [name for name, _ in events]
        assert ("iam_probe", {"bucket": "east-docs", "region": "us-east-1", "fault": 0}) in events
        assert "iam_in_effect" in names and "iam_wait" not in names
    finally:
        injector.disarm()
