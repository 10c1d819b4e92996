"""Shared fixtures: fake credentials, moto's mock_aws, clients with a chosen retry mode."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

import chaos
from chaos.injectors.hook import is_patched

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real account by accident."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture(autouse=True)
def _nothing_left_armed() -> Iterator[None]:
    """Every test must leave botocore as it found it."""
    yield
    assert not is_patched(), "a test left the hook injector installed in botocore"


@pytest.fixture
def aws() -> Iterator[None]:
    """moto's in-process AWS."""
    with mock_aws():
        yield


@pytest.fixture
def fast() -> Iterator[None]:
    """Compressed time: botocore's backoff and injected waits take no wall-clock time."""
    with chaos.compressed_time():
        yield


ClientFactory = Callable[..., Any]


def failure(call: Callable[[], Any]) -> str | None:
    """The error code (or botocore exception name) a call fails with; None when it works."""
    from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    except (EndpointConnectionError, ReadTimeoutError) as exc:
        return type(exc).__name__
    return None


@pytest.fixture
def client(aws: None) -> ClientFactory:
    """``client(service, region, mode="standard", attempts=3)``: a boto3 client on moto."""

    def make(service: str, region: str = "us-east-1", mode: str = "standard", attempts: int = 3, **config: Any) -> Any:
        retries: dict[str, Any] = {"mode": mode, "total_max_attempts": attempts}
        return boto3.client(service, region_name=region, config=Config(retries=retries, **config))  # type: ignore[call-overload]

    return make


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextlib.contextmanager
def running_moto_server(env: dict[str, str] | None = None) -> Iterator[str]:
    """moto's real server as a subprocess on a free loopback port; yields its URL, stops it after.

    ``env``: variables added to its environment (MOTO_RECORDER_FILEPATH...)."""
    import os
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    port = free_port()
    executable = str(Path(sys.executable).with_name("moto_server"))
    process = subprocess.Popen(
        [executable, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1):
                return True
        except OSError:
            return process.poll() is not None

    try:
        wait_until(up, what="moto_server to answer")
        assert process.poll() is None, "moto_server exited at start"
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's real server, shared by the tests of a session."""
    with running_moto_server() as url:
        yield url
