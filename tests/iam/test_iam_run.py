"""``outage run`` with the IAM injector, against moto's server with IAM enforcement on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

from chaos.injectors.iam import ours
from tests.iam.conftest import ACCOUNT, admin_env

OUTAGE = Path(sys.executable).with_name("outage")
EXPERIMENT = f"""
version: 1
title: IAM run
injector: iam
phases: {{baseline: 0s, recovery: 0s}}
faults:
  - {{kind: access_denied, service: s3, region: us-east-1, for: 1s}}
iam:
  targets: [{{user: app-user}}, {{role: chaos-demo-app}}]
  propagation: 0s
  expiry_margin: 30s
guardrails:
  accounts: ["{ACCOUNT}"]
  max_duration: 1m
"""


def _run(
    world: dict[str, Any], folder: Path, experiment: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    (folder / "iam.yaml").write_text(experiment)
    env = admin_env(world)
    result = subprocess.run(
        [str(OUTAGE), "run", "iam.yaml", "--journal", "j.json"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result, json.loads((folder / "j.json").read_text())


def test_a_run_attaches_then_removes_the_policies(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    result, journal = _run(iam_world, tmp_path, EXPERIMENT)
    assert result.returncode == 5, result.stdout + result.stderr  # no probe: nothing proved the denial
    assert journal["status"] == "unverified"
    assert "nothing verified that the denial was in effect" in journal["reason"]
    events = [event["event"] for event in journal["timeline"]]
    assert events.index("inject") < events.index("iam_create") < events.index("iam_attach") < events.index("iam_remove")
    attached = [event["target"] for event in journal["timeline"] if event["event"] == "iam_attach"]
    assert attached == [f"arn:aws:iam::{ACCOUNT}:user/app-user", f"arn:aws:iam::{ACCOUNT}:role/chaos-demo-app"]
    assert journal["rollback"]["complete"] is True
    assert ours(admin.client("iam")) == []


def test_an_account_outside_the_allow_list_is_refused(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    result, journal = _run(
        iam_world, tmp_path, EXPERIMENT.replace(f'accounts: ["{ACCOUNT}"]', 'accounts: ["210987654321"]')
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "accounts: account 123456789012 is not in the allow-list (210987654321)" in journal["reason"]
    assert journal["rollback"]["complete"] is True
    assert not any(event["event"] == "iam_create" for event in journal["timeline"])
    assert ours(admin.client("iam")) == []


def test_the_iam_injector_does_not_start_an_application(tmp_path: Path) -> None:
    experiment = (
        EXPERIMENT
        + "app: {command: [python, -m, chaos.demo, --port, '{port}'], url: 'http://127.0.0.1:{port}'}\nload: {rate: 1, requests: [{path: /}]}\n"
    )
    (tmp_path / "iam.yaml").write_text(experiment)
    result = subprocess.run(
        [str(OUTAGE), "run", "iam.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "does not start or drive the application" in result.stderr


def test_outage_inject_denies_via_iam_then_removes(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    env = admin_env(iam_world)
    fault = "{kind: access_denied, service: s3, region: us-east-1}"
    result = subprocess.run(
        [
            str(OUTAGE),
            "inject",
            "--iam-target",
            "user/app-user",
            "--account",
            ACCOUNT,
            "--fault",
            fault,
            "--for",
            "200ms",
            "--propagation",
            "0s",  # moto: a policy is in effect at once (the default waits out AWS's 15 s)
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "denied access_denied s3 us-east-1 to user/app-user" in result.stdout
    assert " -> arn:aws:iam::123456789012:user/app-user" in result.stdout  # the attachment, announced first
    assert "none left" in result.stdout
    assert "  iam_wait: 0s" in result.stdout  # --propagation 0s: nothing waited out
    assert ours(admin.client("iam")) == []
    refused = subprocess.run(
        [str(OUTAGE), "inject", "--iam-target", "user/app-user", "--fault", fault, "--for", "1s"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 3
    assert "needs an account allow-list" in refused.stderr
