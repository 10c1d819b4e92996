"""The catalogue of ready-made experiments: each file validates, explains itself, and does what it says."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import chaos
from chaos.loading import load_experiment
from chaos.model import Experiment
from chaos.plan import make_plan
from tests.conftest import ClientFactory, failure

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "experiments"
FILES = sorted(CATALOGUE.glob("*.yaml"))
REQUIRED = {
    "s3-us-east-1-2017.yaml",
    "s3-region-outage.yaml",
    "region-outage-us-east-1.yaml",
    "s3-throttling.yaml",
    "s3-latency.yaml",
    "s3-partial-errors.yaml",
    "bucket-outage.yaml",
    "s3-lost-writes.yaml",
    "iam-deny-s3-region.yaml",
}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _load(name: str) -> Experiment:
    return load_experiment(CATALOGUE / name)


def _outcome(call: Any) -> str:
    return failure(call) or "ok"


def _armed(experiment: Experiment, clock: Clock, **kwargs: Any) -> chaos.HookInjector:
    return chaos.HookInjector(experiment.faults, seed=experiment.seed, now=clock, **kwargs)


def test_the_catalogue_is_complete() -> None:
    assert {path.name for path in FILES} >= REQUIRED


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_each_file_validates_and_says_what_it_rehearses(path: Path) -> None:
    experiment = load_experiment(path)
    head = path.read_text().split("\nversion:", 1)[0]
    assert head.startswith("# yaml-language-server: $schema=../docs/schema.json\n")
    assert "# Rehearses:" in head
    assert "# A graceful application:" in head
    schema = json.loads((ROOT / "docs" / "schema.json").read_text())
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    plan = make_plan(experiment, source=path.name, project_dir=ROOT)
    assert plan.within_guardrails, plan.guardrails.violations
    assert not plan.problems


def test_2017_replay_reads_come_back_before_writes(client: ClientFactory, fast: None) -> None:
    experiment = _load("s3-us-east-1-2017.yaml")
    assert experiment.total_duration is not None and experiment.total_duration < 60
    s3 = client("s3", attempts=1)
    s3.create_bucket(Bucket="docs")
    s3.put_object(Bucket="docs", Key="a", Body=b"1")
    get = functools.partial(s3.get_object, Bucket="docs", Key="a")
    put = functools.partial(s3.put_object, Bucket="docs", Key="b", Body=b"2")
    clock = Clock()
    with _armed(experiment, clock):
        assert (_outcome(get), _outcome(put)) == ("ServiceUnavailable", "ServiceUnavailable")
        clock.now = 7.9
        assert _outcome(get) == "ServiceUnavailable"
        clock.now = 8.0
        assert (_outcome(get), _outcome(put)) == ("ok", "ServiceUnavailable")
        clock.now = 12.0
        assert (_outcome(get), _outcome(put)) == ("ok", "ok")


def test_region_outage_takes_the_global_endpoints_with_it(client: ClientFactory) -> None:
    clock = Clock()
    with _armed(_load("region-outage-us-east-1.yaml"), clock):
        assert _outcome(client("iam", attempts=1).list_users) == "EndpointConnectionError"
        assert _outcome(client("dynamodb", "us-east-1", attempts=1).list_tables) == "EndpointConnectionError"
        assert _outcome(client("dynamodb", "eu-west-1", attempts=1).list_tables) == "ok"
        clock.now = 20
        assert _outcome(client("dynamodb", "us-east-1", attempts=1).list_tables) == "ok"


def test_s3_region_outage(client: ClientFactory) -> None:
    with _armed(_load("s3-region-outage.yaml"), Clock()):
        assert _outcome(client("s3", "us-east-1", attempts=1).list_buckets) == "ServiceUnavailable"
        assert _outcome(client("s3", "eu-west-1", attempts=1).list_buckets) == "ok"


def test_bucket_outage_hits_only_the_primary_bucket(client: ClientFactory) -> None:
    s3 = client("s3", attempts=1)
    for bucket in ("chaos-demo-primary", "other-bucket"):
        s3.create_bucket(Bucket=bucket)
    with _armed(_load("bucket-outage.yaml"), Clock()):
        assert _outcome(functools.partial(s3.list_objects_v2, Bucket="chaos-demo-primary")) == "ServiceUnavailable"
        assert _outcome(functools.partial(s3.list_objects_v2, Bucket="other-bucket")) == "ok"


def _share(experiment: Experiment, client: ClientFactory, calls: int, **kwargs: Any) -> tuple[chaos.HookInjector, Any]:
    s3 = client("s3", attempts=1)
    s3.create_bucket(Bucket="docs")
    with _armed(experiment, Clock(), **kwargs) as injection:
        for index in range(calls):
            _outcome(functools.partial(s3.put_object, Bucket="docs", Key=f"k{index}", Body=b"v"))
    return injection, s3


@pytest.mark.parametrize(
    ("name", "outcome", "low", "high"),
    [("s3-throttling.yaml", "SlowDown", 0.24, 0.36), ("s3-partial-errors.yaml", "InternalError", 0.02, 0.09)],
)
def test_probability_faults_fire_on_their_share(
    name: str, outcome: str, low: float, high: float, client: ClientFactory
) -> None:
    injection, _ = _share(_load(name), client, 600)
    assert low <= injection.ledger.calls(outcome=outcome) / 600 <= high


def test_lost_writes_are_stored_although_the_caller_saw_a_timeout(client: ClientFactory) -> None:
    injection, s3 = _share(_load("s3-lost-writes.yaml"), client, 40, sleep=lambda _: None)
    lost = injection.ledger.calls(outcome="lost_response")
    assert 8 <= lost <= 32
    assert s3.list_objects_v2(Bucket="docs")["KeyCount"] == 40  # every write was stored


def test_latency_delays_reads_by_800ms_to_1200ms(client: ClientFactory) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="docs")
    s3.put_object(Bucket="docs", Key="a", Body=b"1")
    waited: list[float] = []
    with _armed(_load("s3-latency.yaml"), Clock(), sleep=waited.append):
        for _ in range(20):
            s3.get_object(Bucket="docs", Key="a")
    assert len(waited) == 20
    assert all(0.8 <= delay <= 1.2 for delay in waited)
    assert max(waited) - min(waited) > 0.05  # jitter


def test_iam_experiment_plans_denials() -> None:
    plan = make_plan(_load("iam-deny-s3-region.yaml"), project_dir=ROOT)
    assert plan.injector == "iam"
    assert plan.notes[0] == "access_denied is rendered as AccessDenied under IAM"
    [policy] = plan.policies
    assert policy["principals"] == ["role/chaos-demo-app"]
    assert policy["document"]["Statement"][0]["Effect"] == "Deny"
    assert any(line.endswith("requested in us-east-1  DENIED") for line in plan.denied_calls)
    assert any(line.endswith("requested in eu-west-1  allowed") for line in plan.denied_calls)
    assert plan.guardrails.limits.accounts == ("123456789012",)
