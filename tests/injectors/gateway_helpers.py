"""A gateway started as a real subprocess (``outage serve``), and a small client for its control API."""

from __future__ import annotations

import json
import os
import signal
import socket
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
        request.add_header("Content-Type", "application/json")  # without a token, changes need it (CSRF)
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


def start_gateway(
    *args: str, token: str | None = None, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Gateway:
    """``outage serve --port 0 ARGS`` as a subprocess (in ``cwd``, with ``env`` added to its environment);
    returns once it answers /_chaos/health."""
    command = [str(OUTAGE), "serve", "--port", "0", *args]
    if token:
        command += ["--token", token]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
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


@dataclass
class RawResponse:
    """What came back on a raw connection: nothing at all (dropped), or an HTTP answer and what followed it
    (``after``: the answers to whatever the gateway read as further requests on a kept-alive connection)."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    after: bytes = b""

    def json(self) -> Any:
        assert self.headers.get("content-type", "").startswith("application/json"), self
        return json.loads(self.body)


def address(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").rpartition(":")
    return host.strip("[]"), int(port)


def http_request(
    method: str, path: str, headers: list[tuple[str, str]] | dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """A request as bytes, exactly as given: no header is added or checked."""
    items = list((headers or {}).items()) if not isinstance(headers, list) else headers
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in items) + "\r\n"
    return head.encode("latin-1") + body


def parse_response(data: bytes, head: bool = False) -> RawResponse:
    """The first answer in ``data``, its body framed by its Content-Length (none for a HEAD)."""
    if not data:
        return RawResponse(None, {}, b"")
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = 0 if head else int(headers.get("content-length", len(body)))
    return RawResponse(int(lines[0].split()[1]), headers, body[:length], body[length:])


def raw(url: str, data: bytes, timeout: float = 15.0) -> RawResponse:
    """Send ``data`` on a new connection, say we are done sending, read until the gateway closes."""
    with socket.create_connection(address(url), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return parse_response(b"".join(chunks), head=data.startswith(b"HEAD "))


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")
