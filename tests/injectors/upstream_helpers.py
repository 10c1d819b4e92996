"""Real upstreams for the gateway: moto_server with IAM enforcement (it checks every SigV4 signature) and
s3rver (an independent S3 implementation, from ``js/package-lock.json``), each telling what reached it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tests.conftest import free_port, running_moto_server, wait_until

ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
S3RVER = Path(__file__).with_name("js") / "node_modules" / "s3rver" / "bin" / "s3rver.js"


def _post(url: str, data: bytes = b"") -> bytes:
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


@dataclass
class MotoUpstream:
    """moto_server with IAM enforcement; the gateway's keys are the only ones it knows."""

    url: str
    key: str
    secret: str
    recording: Path

    @property
    def gateway_env(self) -> dict[str, str]:
        """The environment that gives ``outage serve`` its credentials (the standard chain)."""
        return {"AWS_ACCESS_KEY_ID": self.key, "AWS_SECRET_ACCESS_KEY": self.secret}

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """A client straight to the upstream with the gateway's keys (to look at what is stored)."""
        return boto3.client(  # type: ignore[call-overload]
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
        )

    def record(self) -> None:
        """From now on, every request that reaches moto is written down (moto's own recorder)."""
        _post(f"{self.url}/moto-api/recorder/reset-recording")
        _post(f"{self.url}/moto-api/recorder/start-recording")

    def received(self) -> list[dict[str, Any]]:
        """The requests moto received since :meth:`record`: method, url, headers."""
        _post(f"{self.url}/moto-api/recorder/stop-recording")
        with urllib.request.urlopen(f"{self.url}/moto-api/recorder/download-recording", timeout=10) as response:
            lines = response.read().decode().splitlines()
        return [json.loads(line) for line in lines if line.strip()]


@contextlib.contextmanager
def moto_with_iam(folder: Path) -> Iterator[MotoUpstream]:
    """moto_server that authenticates every request; an IAM user whose keys the gateway signs with."""
    recording = folder / "recording.jsonl"
    with running_moto_server({"MOTO_RECORDER_FILEPATH": str(recording)}) as url:
        setup = boto3.Session(aws_access_key_id="setup", aws_secret_access_key="setup", region_name="us-east-1")
        iam = setup.client("iam", endpoint_url=url)
        policy = iam.create_policy(PolicyName="allow-all", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
        iam.create_user(UserName="outage-gateway")
        iam.attach_user_policy(UserName="outage-gateway", PolicyArn=policy)
        key = iam.create_access_key(UserName="outage-gateway")["AccessKey"]
        _post(f"{url}/moto-api/reset-auth", b"0")  # from now on every request is authenticated and authorised
        yield MotoUpstream(url, key["AccessKeyId"], key["SecretAccessKey"], recording)


def s3rver_available() -> bool:
    """Whether ``make test`` installed s3rver (``npm ci`` in tests/injectors/js) and node is here."""
    return S3RVER.is_file() and shutil.which("node") is not None


@dataclass
class S3rver:
    """A running s3rver: its URL, where it stores objects, and its request log."""

    url: str
    directory: Path
    log: Path

    def requests(self) -> int:
        """How many requests it has answered (one ``<status> <n>ms`` line each), once the count is steady."""
        previous = -1
        for _ in range(40):
            count = len(re.findall(r" \d{3} \d+ms ", _plain(self.log.read_text(errors="replace"))))
            if count == previous:
                return count
            previous = count
            time.sleep(0.05)
        return previous

    def stored(self, bucket: str, key: str) -> bool:
        """Whether the object is on s3rver's disk."""
        return (self.directory / bucket / f"{key}._S3rver_object").is_file()


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@contextlib.contextmanager
def running_s3rver(folder: Path, *, strict: bool = False) -> Iterator[S3rver]:
    """s3rver on a free loopback port (its one access key is S3RVER/S3RVER). ``strict``: it checks SigV4
    signatures; otherwise any well-formed signature of a known key passes (for --no-resign)."""
    data, log = folder / "data", folder / "s3rver.log"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = ["node", str(S3RVER), "-d", str(data), "-a", "127.0.0.1", "-p", str(port), "--no-vhost-buckets"]
    if not strict:
        command.append("--allow-mismatched-signatures")
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: "listening" in log.read_text() or process.poll() is not None, what="s3rver to listen")
        assert process.poll() is None, log.read_text()
        yield S3rver(url, data, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def aws_cli(
    endpoint: str, region: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The AWS CLI against ``endpoint`` (given as --endpoint-url too: some commands skip the variable),
    three attempts in standard mode."""
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": region,
        "AWS_RETRY_MODE": "standard",
        "AWS_MAX_ATTEMPTS": "3",
        **(env or {}),
    }
    aws = Path(sys.executable).with_name("aws")
    command = [str(aws), "--endpoint-url", endpoint, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment, check=False)
