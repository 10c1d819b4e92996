"""An IAM run killed with SIGKILL at random moments, then ``outage rollback --journal``: no policy is left."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from chaos.injectors.iam import ours
from tests.iam.conftest import ACCOUNT, admin_env

OUTAGE = Path(sys.executable).with_name("outage")
EXPERIMENT = f"""
version: 1
title: IAM run killed
injector: iam
phases: {{baseline: 0.2s, recovery: 0.2s}}
faults:
  - {{kind: access_denied, service: s3, region: us-east-1, for: 1s}}
  - {{kind: unavailable, service: dynamodb, region: us-east-1, for: 1s}}
iam:
  targets: [{{user: app-user}}, {{role: chaos-demo-app}}]
  propagation: 0s
guardrails:
  accounts: ["{ACCOUNT}"]
"""
MOMENTS = ["iam_run", "iam_create", "iam_attach", "phase", "iam_remove", "rollback"]


def _events(path: Path) -> list[str]:
    try:
        return [event["event"] for event in json.loads(path.read_text())["timeline"]]
    except (OSError, ValueError, KeyError):
        return []


def test_sigkill_during_an_iam_run_then_rollback_leaves_no_policy(
    iam_world: dict[str, Any], admin: boto3.Session, tmp_path: Path
) -> None:
    rng = random.Random(2017)
    env = admin_env(iam_world)
    (tmp_path / "iam.yaml").write_text(EXPERIMENT)
    with_policies = 0
    for index, moment in enumerate(MOMENTS):
        journal = tmp_path / f"j{index}.json"
        process = subprocess.Popen(
            [str(OUTAGE), "run", "iam.yaml", "--journal", journal.name],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while moment not in _events(journal) and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        process.kill()
        process.wait()
        killed = json.loads(journal.read_text())
        if killed["status"] == "running" and any(r["kind"] == "iam_policy" for r in killed["resources"]):
            with_policies += 1
        first = subprocess.run(
            [str(OUTAGE), "rollback", "--journal", journal.name],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert first.returncode == 0, (moment, first.stdout, first.stderr)
        assert ours(admin.client("iam")) == [], moment
        data = json.loads(journal.read_text())
        assert data["status"] != "running", moment
        assert data["rollback"]["complete"] is True, moment
        second = subprocess.run(
            [str(OUTAGE), "rollback", "--journal", journal.name],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 0 and "nothing left to roll back" in second.stdout, (moment, second.stdout)
    assert with_policies >= 3  # the kills did catch runs with policies attached
    assert admin.client("iam").list_attached_user_policies(UserName="app-user")["AttachedPolicies"] == [
        {"PolicyName": "allow-all", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/allow-all"}
    ]
