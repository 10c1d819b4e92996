"""An application that is already running, judged through a shared gateway; the run never starts or stops it.

Two runs on one gateway work on their own faults: a run removes exactly its own, a second run whose
faults overlap the first's is refused, and ``outage rollback`` removes a killed run's faults.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, wait_until
from tests.injectors.gateway_helpers import Gateway, start_gateway

OUTAGE = Path(sys.executable).with_name("outage")
EXPERIMENT = """
version: 1
title: running {name}
app: {{url: "{url}", ready: /health}}
gateway: {{endpoint: "{gateway}"}}
load:
  rate: 20
  requests:
    - {{method: GET, path: "/docs/{{id}}", weight: 2}}
    - {{method: PUT, path: "/docs/{{id}}", body: "doc {{id}}"}}
  ids: 20
phases: {{baseline: 0.5s, recovery: 1.5s}}
faults:
  - {{kind: unavailable, service: s3, region: us-east-1, for: {duration}}}
expect: {{availability: 0.9, durability: true}}
"""


@pytest.fixture
def shared() -> Iterator[tuple[Gateway, str, subprocess.Popen[bytes]]]:
    """A shared gateway and the resilient demo service already running against it."""
    gateway = start_gateway()
    port = free_port()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": gateway.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    app = subprocess.Popen(
        [sys.executable, "-m", "chaos.demo", "--variant", "resilient", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _status(url + "/health") == 200, what="the demo service")
    yield gateway, url, app
    app.terminate()
    app.wait(timeout=20)
    gateway.stop()


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except OSError:
        return None


def _write(folder: Path, name: str, url: str, gateway: str, duration: str = "2s") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(EXPERIMENT.format(name=name, url=url, gateway=gateway, duration=duration))
    return path


def _run(folder: Path, experiment: Path, journal: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [str(OUTAGE), "run", str(experiment), "--journal", journal],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _listing(gateway: Gateway) -> list[dict[str, Any]]:
    return list(gateway.control("GET", "/_chaos/faults")[1]["faults"])


def test_a_running_application_is_judged_and_left_running(
    shared: tuple[Gateway, str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    gateway, url, app = shared
    [someone_elses] = gateway.arm({"kind": "throttle", "service": "dynamodb", "region": "eu-west-1"})
    result = _run(tmp_path, _write(tmp_path, "resilient", url, gateway.url), "j.json")
    assert result.returncode == 0, result.stdout + result.stderr
    journal = json.loads((tmp_path / "j.json").read_text())
    assert journal["status"] == "passed"
    [resource] = [r for r in journal["resources"] if r["kind"] == "gateway_faults"]
    assert resource["run"] == journal["run_id"] and resource["endpoint"] == gateway.url
    assert app.poll() is None and _status(url + "/health") == 200  # still running, untouched
    assert [item["id"] for item in _listing(gateway)] == [someone_elses]  # only this run's faults removed
    assert any(step["step"].startswith("leave the application running") for step in journal["rollback"]["steps"])
    assert gateway.ledger()["fired"] > 0  # the outage happened, in the shared gateway


def test_a_second_run_overlapping_the_first_is_refused_and_a_killed_run_is_rolled_back(
    shared: tuple[Gateway, str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    gateway, url, _ = shared
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    first = subprocess.Popen(
        [str(OUTAGE), "run", str(_write(tmp_path, "first", url, gateway.url, "30s")), "--journal", "first.json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: len(_listing(gateway)) == 1, timeout=60, what="the first run's fault")
        first_run = json.loads((tmp_path / "first.json").read_text())["run_id"]
        assert _listing(gateway)[0]["run"] == first_run
        second = _run(tmp_path, _write(tmp_path, "second", url, gateway.url), "second.json")
        assert second.returncode == 3, second.stdout + second.stderr
        reason = json.loads((tmp_path / "second.json").read_text())["reason"]
        assert f"of run {first_run}" in reason and "overlaps" in reason
        assert [item["run"] for item in _listing(gateway)] == [first_run]  # the first run's fault is untouched
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert len(_listing(gateway)) == 1  # the killed run's fault is still armed (it would expire after 30 s)
    rollback = subprocess.run(
        [str(OUTAGE), "rollback", "--journal", "first.json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    assert _listing(gateway) == []
