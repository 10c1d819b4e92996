"""Time to inject and to revert a three-fault IAM plan against moto's server.

Starts ``moto_server``, creates the target role, and times ``IamInjector.arm()`` (account check,
target lookup, bucket regions, three policies created and attached) and ``disarm()`` (detached,
deleted, verified), over ROUNDS rounds; median and min-max. Each round checks that the injector
created and then removed its policies. Propagation waiting is left out (0 s): on real AWS add IAM's
documented bound (15 s by default). No target.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
from _bench import figure, finish, free_port, moto_server, setup

import chaos
from chaos.injectors.iam import IamInjector
from chaos.model import Guardrails, IamSettings

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def _policies(session: object) -> int:
    """How many policies the role has attached."""
    iam = session.client("iam")  # type: ignore[attr-defined]
    return len(iam.list_attached_role_policies(RoleName="app-orders")["AttachedPolicies"])


def main() -> int:
    port = free_port()
    moto = subprocess.Popen(moto_server(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        os.environ.update(
            AWS_ENDPOINT_URL=url,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
        )
        session = boto3.Session()
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        session.client("iam").create_role(RoleName="app-orders", AssumeRolePolicyDocument=json.dumps(trust))
        s3 = session.client("s3")
        for index in range(5):
            s3.create_bucket(Bucket=f"orders-{index}")
        faults = [
            chaos.s3_outage("us-east-1", kind="access_denied", **{"for": "5m"}),
            chaos.Fault(kind="throttle", service="dynamodb", region="us-east-1", operations=["PutItem", "GetItem"]),
            chaos.Fault(kind="unavailable", service="sqs", region=["us-east-1", "us-west-2"]),
        ]
        arm, disarm = [], []
        for _ in range(ROUNDS):
            injector = IamInjector(
                faults,
                settings=IamSettings.model_validate({"targets": [{"role": "app-orders"}], "propagation": "0s"}),
                guardrails=Guardrails(accounts=("123456789012",)),
                experiment="bench",
                session=session,
                duration=300,
            )
            started = time.perf_counter()
            injector.arm()
            arm.append((time.perf_counter() - started) * 1000)
            assert _policies(session) > 0, "arm attached no policy"
            started = time.perf_counter()
            injector.disarm()
            disarm.append((time.perf_counter() - started) * 1000)
            assert _policies(session) == 0, "disarm left a policy attached"
    finally:
        moto.terminate()
        moto.wait()
    setup(rounds=ROUNDS, faults=len(faults), propagation_s=0)
    figure("inject ms", arm, "ms", better="lower", label="three-fault IAM plan against moto_server: inject", digits=0)
    figure(
        "revert ms", disarm, "ms", better="lower", label="three-fault IAM plan against moto_server: revert", digits=0
    )
    return finish()


if __name__ == "__main__":
    raise SystemExit(main())
