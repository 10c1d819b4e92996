"""Shared fixtures: fake credentials, moto's mock_aws, clients with a chosen retry mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

import chaos
from chaos.injectors.hook import is_patched


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


@pytest.fixture
def client(aws: None) -> ClientFactory:
    """``client(service, region, mode="standard", attempts=3)``: a boto3 client on moto."""

    def make(service: str, region: str = "us-east-1", mode: str = "standard", attempts: int = 3, **config: Any) -> Any:
        retries: dict[str, Any] = {"mode": mode, "total_max_attempts": attempts}
        return boto3.client(service, region_name=region, config=Config(retries=retries, **config))  # type: ignore[call-overload]

    return make
