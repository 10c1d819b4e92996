"""``outage audit`` on the command line: JSON, --suggest, --endpoint (a gateway's ledger), exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaos.audit import analyse, suggest
from chaos.audit.gateway import observations_from_ledger
from chaos.audit.observe import ClientSettings, Observation, Site
from chaos.cli import app
from chaos.loading import load_experiment
from chaos.plan import make_plan
from tests.injectors.gateway_helpers import start_gateway

PROGRAMS = Path(__file__).resolve().parent / "programs"
runner = CliRunner()


@pytest.fixture(scope="module")
def naive_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    directory = tmp_path_factory.mktemp("suggested")
    result = runner.invoke(
        app,
        [
            "audit",
            "--json",
            "--suggest",
            str(directory),
            "--",
            sys.executable,
            "-m",
            "chaos.demo.drive",
            "--variant",
            "naive",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), directory


def test_json_report_of_the_naive_demo(naive_json: tuple[dict[str, object], Path]) -> None:
    data, _ = naive_json
    assert set(data) >= {"dependencies", "findings"}
    findings = data["findings"]
    assert isinstance(findings, list)
    single = [f for f in findings if f["kind"] == "single_region"]
    assert [(f["service"], f["region"]) for f in single] == [("s3", "us-east-1")]


def test_suggested_experiments_load_and_stay_within_their_guardrails(
    naive_json: tuple[dict[str, object], Path],
) -> None:
    _, directory = naive_json
    names = sorted(path.name for path in directory.iterdir())
    assert names == [
        "bucket-outage-chaos-demo-primary.yaml",
        "region-outage-us-east-1.yaml",
        "throttle-s3-putobject.yaml",
    ]
    for path in directory.iterdir():
        experiment = load_experiment(path)
        plan = make_plan(experiment, source=str(path))
        assert plan.within_guardrails and not plan.problems, (path.name, plan.render())
        assert experiment.guardrails.regions == ("us-east-1",)
    region = load_experiment(directory / "region-outage-us-east-1.yaml")
    assert region.faults[0].service == ("s3",) and region.faults[0].include_global
    assert region.guardrails.services == ("s3",)
    bucket = load_experiment(directory / "bucket-outage-chaos-demo-primary.yaml")
    assert bucket.faults[0].buckets == ("chaos-demo-primary",)
    throttle = load_experiment(directory / "throttle-s3-putobject.yaml")
    assert (throttle.faults[0].kind.value, throttle.faults[0].operations) == ("slow_down", ("PutObject",))


def test_suggestions_cover_every_region_and_bucket_seen() -> None:
    site = Site("app.py", 1, "main")
    settings = ClientSettings(2, 1, "standard", 3)

    def seen(service: str, region: str, operation: str, resource: str | None, calls: int) -> Observation:
        kind = "bucket" if service == "s3" else ("table" if resource else None)
        return Observation(service, region, operation, kind, resource, "", False, settings, None, calls, 0, 1.0, site)

    report = analyse(
        [
            seen("s3", "us-east-1", "GetObject", "primary", 5),
            seen("s3", "eu-west-1", "PutObject", "replica", 2),
            seen("dynamodb", "eu-west-1", "Query", "orders", 9),
        ],
        source="test",
    )
    by_name = {item.name: item for item in suggest(report)}
    assert sorted(by_name) == [
        "bucket-outage-primary.yaml",
        "bucket-outage-replica.yaml",
        "region-outage-eu-west-1.yaml",
        "region-outage-us-east-1.yaml",
        "throttle-dynamodb-query.yaml",
    ]
    eu = by_name["region-outage-eu-west-1.yaml"].document
    assert eu["faults"][0]["service"] == ["dynamodb", "s3"] and eu["guardrails"]["services"] == ["dynamodb", "s3"]
    assert by_name["throttle-dynamodb-query.yaml"].document["faults"][0]["kind"] == "throttle"


def test_exit_code_is_the_commands_and_invalid_input_is_2() -> None:
    result = runner.invoke(app, ["audit", "--", sys.executable, "-c", "raise SystemExit(7)"])
    assert result.exit_code == 7, result.output
    assert "0 AWS call attempts" in result.output
    assert runner.invoke(app, ["audit"]).exit_code == 2
    assert runner.invoke(app, ["audit", "--endpoint", "http://127.0.0.1:9", "--", "true"]).exit_code == 2
    assert runner.invoke(app, ["audit", "--for", "soon", "--", "true"]).exit_code == 2


def test_ledger_json_becomes_observations_exactly_when_the_events_cover_every_call() -> None:
    event = {"service": "s3", "region": "us-east-1", "operation": "GetObject", "bucket": "b", "attempt": 1}
    ledger = {
        "total": 3,
        "counts": [
            {"service": "s3", "region": "us-east-1", "operation": "GetObject", "outcome": "pass", "count": 2},
            {"service": "iam", "region": "us-east-1", "operation": "ListRoles", "outcome": "pass", "count": 1},
        ],
        "events": [
            event,
            {**event, "attempt": 2},
            {"service": "iam", "region": "us-east-1", "operation": "ListRoles", "bucket": None, "attempt": 1},
        ],
    }
    observations, notes = observations_from_ledger(ledger)
    by_service = {o.service: o for o in observations}
    assert (by_service["s3"].resource, by_service["s3"].calls, by_service["s3"].retries) == ("b", 2, 1)
    assert by_service["iam"].global_endpoint and not by_service["s3"].global_endpoint
    assert "no client settings" in notes[0]
    partial, notes = observations_from_ledger({**ledger, "events": ledger["events"][:1]})
    assert {o.resource for o in partial} == {None} and sum(o.calls for o in partial) == 3
    assert "buckets seen in those: b" in notes[1]


def test_audit_of_a_running_gateway() -> None:
    gateway = start_gateway()
    try:
        s3 = gateway.client("s3", "us-east-1")
        s3.create_bucket(Bucket="gateway-bucket")
        for _ in range(3):
            s3.head_bucket(Bucket="gateway-bucket")
        gateway.client("iam").list_roles()
        result = runner.invoke(app, ["audit", "--json", "--endpoint", gateway.url])
    finally:
        gateway.stop()
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    deps = {(d["service"], d["region"], d["resource"]): d["calls"] for d in data["dependencies"]}
    assert deps[("s3", "us-east-1", "gateway-bucket")] == 4
    kinds = {(f["kind"], f["service"]) for f in data["findings"]}
    assert ("single_region", "s3") in kinds and ("global_endpoint", "iam") in kinds
    assert not any(kind in ("no_timeout", "no_retry_budget") for kind, _ in kinds)  # a ledger has no client config


def test_an_unreachable_gateway_is_exit_2() -> None:
    result = runner.invoke(app, ["audit", "--endpoint", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "cannot read the ledger of the gateway at http://127.0.0.1:9" in result.output
