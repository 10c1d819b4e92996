"""The guardrail gate on the gateway's paths: ``outage serve --faults`` and the control API."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.injectors.gateway_helpers import OUTAGE, start_gateway

EAST = """
version: 1
title: east
faults:
  - {kind: unavailable, service: s3, region: us-east-1, for: 30s}
"""
LIMITED = """
version: 1
title: limited
guardrails: {services: [s3], max_probability: 0.5}
faults:
  - {kind: unavailable, service: s3, region: eu-west-1, probability: 0.5, for: 30s}
"""


def test_serve_refuses_faults_beyond_the_projects_limits_and_listens_nowhere(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.chaos]\nregions = ["eu-west-1"]\n')
    (tmp_path / "east.yaml").write_text(EAST)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [str(OUTAGE), "serve", "--port", str(port), "--faults", "east.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "refused by guardrail: regions: fault 0 (unavailable s3 us-east-1) targets us-east-1" in result.stderr
    assert "nothing is listening" in result.stderr
    assert "listening on" not in result.stdout
    with socket.socket() as client:
        assert client.connect_ex(("127.0.0.1", port)) != 0


def test_the_control_api_keeps_the_limits_the_gateway_started_with(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.chaos]\nregions = ["eu-west-1"]\nmax_duration = "1m"\n')
    (tmp_path / "limited.yaml").write_text(LIMITED)
    gateway = start_gateway("--faults", "limited.yaml", cwd=tmp_path)
    try:
        refusals = {
            "regions": {
                "kind": "unavailable",
                "service": "s3",
                "region": "us-east-1",
                "probability": 0.5,
                "for": "10s",
            },
            "services": {
                "kind": "unavailable",
                "service": "dynamodb",
                "region": "eu-west-1",
                "probability": 0.5,
                "for": "10s",
            },
            "max_probability": {
                "kind": "unavailable",
                "service": "s3",
                "region": "eu-west-1",
                "probability": 0.9,
                "for": "10s",
            },
            "max_duration": {"kind": "unavailable", "service": "s3", "region": "eu-west-1", "probability": 0.5},
        }
        for limit, fault in refusals.items():
            status, body = gateway.control("POST", "/_chaos/faults", [fault])
            assert status == 403, (limit, body)
            assert body["limits"] == [limit] and body["field"] == "faults"
            assert f"refused by guardrail: {limit}:" in body["error"]
            assert any("pyproject.toml [tool.chaos]" in source for source in body["sources"])
            status, body = gateway.control("PUT", "/_chaos/faults", [fault])
            assert status == 403, (limit, body)
        listed = gateway.control("GET", "/_chaos/faults")[1]["faults"]
        assert len(listed) == 1  # the --faults fault is still armed; nothing was replaced
        status, body = gateway.control(
            "POST",
            "/_chaos/faults",
            [{"kind": "throttle", "service": "s3", "region": "eu-west-1", "probability": 0.2, "for": "10s"}],
        )
        assert status == 201, body
    finally:
        gateway.stop()
