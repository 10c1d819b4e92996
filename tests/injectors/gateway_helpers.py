"""A gateway started as a real subprocess (``outage serve``), and a small client for its control API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.conftest import wait_until

OUTAGE = Path(sys.executable).with_name("outage")


@dataclass
class Gateway:
    """A running ``outage serve`` process."""

    process: subprocess.Popen[str]
    url: str
    token: str | None = None
    startup: str = ""

    def control(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        bearer = token if token is not None else self.token
        if bearer:
            request.add_header("Authorization", f"Bearer {bearer}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read())

    def arm(self, *faults: dict[str, Any]) -> list[int]:
        status, body = self.control("POST", "/_chaos/faults", list(faults))
        assert status == 201, body
        return list(body["ids"])

    def ledger(self) -> dict[str, Any]:
        return dict(self.control("GET", "/_chaos/ledger")[1])

    def reset(self) -> None:
        assert self.control("POST", "/_chaos/reset")[0] == 200

    def client(self, service: str, region: str = "us-east-1", attempts: int = 3, **config: Any) -> Any:
        retries = {"mode": "standard", "total_max_attempts": attempts}
        return boto3.client(  # type: ignore[call-overload]
            service, region_name=region, endpoint_url=self.url, config=Config(retries=retries, **config)
        )

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            out, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return self.process.returncode, self.startup + out


def start_gateway(*args: str, token: str | None = None) -> Gateway:
    """``outage serve --port 0 ARGS`` as a subprocess; returns once it answers /_chaos/health."""
    command = [str(OUTAGE), "serve", "--port", "0", *args]
    if token:
        command += ["--token", token]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert process.stdout is not None
    first = process.stdout.readline()
    if "listening on " not in first:
        process.kill()
        raise AssertionError(f"outage serve did not start: {first}{process.stdout.read()}")
    startup = first
    while "Ctrl-C or SIGTERM stops it." not in startup:
        # Read the whole banner here: communicate() later reads the pipe, not this buffer.
        startup += process.stdout.readline()
    gateway = Gateway(process, first.rsplit("listening on ", 1)[1].strip(), token, startup)

    def healthy() -> bool:
        try:
            return gateway.control("GET", "/_chaos/health")[0] == 200
        except OSError:
            return False

    wait_until(healthy, what="the gateway's health endpoint")
    return gateway
