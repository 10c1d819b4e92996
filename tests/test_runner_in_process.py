"""``chaos.run_experiment`` with a Python WSGI application: moto in-process, the hook injector, no subprocess."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import chaos
from chaos.injectors.hook import is_patched
from chaos.loading import parse_experiment

EXPERIMENT = """
version: 1
title: in-process {variant}
app:
  wsgi: chaos.demo.wsgi:{variant}
  url: http://127.0.0.1:{{port}}
load:
  rate: 20
  requests:
    - {{method: GET, path: "/docs/{{id}}", weight: 2}}
    - {{method: PUT, path: "/docs/{{id}}", body: "doc {{id}}"}}
  ids: 20
steady_state:
  - {{name: healthy, http: {{path: /health}}}}
phases: {{baseline: 1s, recovery: 2s}}
faults:
  - {{kind: unavailable, service: s3, region: us-east-1, for: 4s}}
expect:
  availability: 0.9
  durability: true
  health_reports_degraded: true
"""


@pytest.mark.parametrize(("variant", "status"), [("resilient", "passed"), ("naive", "failed")])
def test_a_wsgi_application_runs_in_process_with_the_hook(variant: str, status: str, tmp_path: Path) -> None:
    before = dict(os.environ)
    experiment = parse_experiment(EXPERIMENT.format(variant=variant), f"{variant}.yaml")
    result = chaos.run_experiment(experiment, journal_path=tmp_path / "journal.json")
    assert result.status == status, (result.reason, [c.reason for c in result.checks])
    assert result.rollback_complete
    if variant == "naive":
        assert {"availability", "durability", "health_honesty"} <= set(result.failed_checks)
    assert not is_patched()
    assert dict(os.environ) == before  # fake credentials and endpoint restored


def test_an_application_command_needs_the_gateway(tmp_path: Path) -> None:
    experiment = parse_experiment(
        EXPERIMENT.format(variant="resilient").replace(
            "wsgi: chaos.demo.wsgi:resilient", "command: [python, -m, chaos.demo, --port, '{port}']"
        )
    )
    with pytest.raises(chaos.ConfigError, match="needs --injector gateway"):
        chaos.run_experiment(experiment, injector="hook", journal_path=tmp_path / "j.json")


def test_an_application_that_cannot_be_imported(tmp_path: Path) -> None:
    experiment = parse_experiment(
        EXPERIMENT.format(variant="resilient").replace("chaos.demo.wsgi:resilient", "chaos.demo.wsgi:nothing")
    )
    result = chaos.run_experiment(experiment, journal_path=tmp_path / "j.json")
    assert result.status == "error" and "cannot import the application" in result.reason
    assert result.rollback_complete and not is_patched()
