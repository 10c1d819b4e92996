"""FIS export: every catalogue file's template passes botocore's validator for CreateExperimentTemplate and is
created on moto's FIS; what cannot be translated is listed exactly, file by file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.validate import ParamValidator
from typer.testing import CliRunner

from chaos.cli import app
from chaos.export import FisOptions, to_fis
from chaos.loading import load_experiment, parse_experiment

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = sorted((ROOT / "experiments").glob("*.yaml"))
ROLE = "arn:aws:iam::123456789012:role/fis-runner"
runner = CliRunner()

# Every catalogue file: what FIS cannot do of it, as (where, dropped?, the start of the reason). A file whose
# faults are all dropped has no template (outage export exits 3).
UNTRANSLATED: dict[str, list[tuple[str, bool, str]]] = {
    "bucket-outage.yaml": [("faults[0]", True, "one bucket or key prefix")],
    "iam-deny-s3-region.yaml": [("faults[0]", True, "kind access_denied")],
    "region-outage-us-east-1.yaml": [("faults[0]", False, "FIS's shortest action lasts 1 minute")],
    "s3-latency.yaml": [
        ("faults[0]", True, "kind latency"),
        ("faults[0]", True, "operations GetObject, PutObject, HeadObject"),
    ],
    "s3-lost-writes.yaml": [
        ("faults[0]", True, "kind lost_response"),
        ("faults[0]", True, "probability 0.5"),
        ("faults[0]", True, "operations PutObject"),
    ],
    "s3-partial-errors.yaml": [("faults[0]", True, "probability 0.05")],
    "s3-region-outage.yaml": [
        ("faults[0]", False, "FIS cuts the network: calls time out"),
        ("faults[0]", False, "FIS's shortest action lasts 1 minute"),
    ],
    "s3-throttling.yaml": [("faults[0]", True, "probability 0.3")],
    "s3-us-east-1-2017.yaml": [
        ("faults[0]", False, "FIS cuts the network: calls time out"),
        ("faults[0]", False, "FIS's shortest action lasts 1 minute"),
        ("faults[1]", True, "operations PutObject, CreateMultipartUpload, UploadPart"),
    ],
}
TEMPLATES = {"region-outage-us-east-1.yaml", "s3-region-outage.yaml", "s3-us-east-1-2017.yaml"}


def _input_shape() -> Any:
    return (
        botocore.session.get_session().get_service_model("fis").operation_model("CreateExperimentTemplate").input_shape
    )


def _limits(shape: Any, value: Any, path: str = "") -> list[str]:
    """What botocore's validator leaves out: maximum lengths and patterns (Python's re where it can read them)."""
    problems = []
    meta = shape.metadata
    if shape.type_name == "string":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: longer than {meta['max']}")
        pattern = meta.get("pattern", "").replace(r"\p{L}", "\\w").replace(r"\p{Z}", " ").replace(r"\p{N}", "0-9")
        if pattern and not re.fullmatch(pattern.strip("^$"), value):
            problems.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name == "structure":
        for name, member in shape.members.items():
            if name in value:
                problems += _limits(member, value[name], f"{path}.{name}")
    elif shape.type_name == "map":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: more than {meta['max']} entries")
        for key, item in value.items():
            problems += _limits(shape.key, key, f"{path}[{key!r}]") + _limits(shape.value, item, f"{path}.{key}")
    elif shape.type_name == "list":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: more than {meta['max']} items")
        for index, item in enumerate(value):
            problems += _limits(shape.member, item, f"{path}[{index}]")
    return problems


@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: p.name)
def test_the_untranslatable_parts_of_each_catalogue_file_are_listed_exactly(path: Path) -> None:
    exported = to_fis(load_experiment(path), FisOptions(ROLE), source=path.name)
    expected = UNTRANSLATED[path.name]
    assert [(item.where, item.dropped) for item in exported.untranslated] == [(w, d) for w, d, _ in expected]
    for item, (_, _, words) in zip(exported.untranslated, expected, strict=True):
        assert words in str(item), item
    assert (exported.faults_exported > 0) == (path.name in TEMPLATES)


@pytest.mark.parametrize("path", [p for p in CATALOGUE if p.name in TEMPLATES], ids=lambda p: p.name)
def test_each_template_passes_botocores_validator_and_moto_creates_it(path: Path, aws: None) -> None:
    document = to_fis(load_experiment(path), FisOptions(ROLE), source=path.name).document
    report = ParamValidator().validate(document, _input_shape())
    assert not report.has_errors(), report.generate_report()
    assert _limits(_input_shape(), document) == []
    fis = boto3.client("fis", region_name="us-east-1")
    created = fis.create_experiment_template(**document)["experimentTemplate"]
    stored = fis.get_experiment_template(id=created["id"])["experimentTemplate"]
    assert stored["actions"] == document["actions"] and stored["targets"] == document["targets"]
    assert stored["description"] == document["description"] and stored["roleArn"] == ROLE


def test_the_2017_replay_becomes_an_s3_network_disruption_with_its_changes_in_the_description() -> None:
    exported = to_fis(load_experiment(ROOT / "experiments" / "s3-us-east-1-2017.yaml"), FisOptions(ROLE), "2017.yaml")
    document = exported.document
    [action] = document["actions"].values()
    assert action["actionId"] == "aws:network:disrupt-connectivity"
    assert action["parameters"] == {"scope": "s3", "duration": "PT1M"}
    assert document["targets"]["app-subnets"] == {
        "resourceType": "aws:ec2:subnet",
        "resourceTags": {"chaos-outage": "target"},
        "selectionMode": "ALL",
    }
    assert document["stopConditions"] == [{"source": "none"}]
    assert "faults[1] unavailable s3 us-east-1 (dropped)" in document["description"]
    assert document["tags"]["chaos-outage:source"] == "2017.yaml"


FULL = """
version: 1
title: everything FIS can do
faults:
  - {kind: connection_error, service: "*", region: eu-west-1, after: 90s, for: 5m}
  - {kind: unavailable, service: dynamodb, region: us-east-1, for: 2m}
  - {kind: throttle, service: ec2, region: us-east-1, operations: [RunInstances, DescribeInstances],
     probability: 0.25, for: 3m}
  - {kind: timeout, service: s3, region: us-east-1, for: 13h}
stop_when:
  - {name: errors, cloudwatch_alarm: {name: app-5xx, region: us-east-1}}
  - {name: page, http: {url: "https://status.example/health"}}
guardrails: {max_duration: 14h}
"""


def test_every_kind_of_action_fis_supports(aws: None) -> None:
    options = FisOptions(
        ROLE, region="us-east-1", app_roles=("arn:aws:iam::123456789012:role/app",), tags={"team": "a"}
    )
    exported = to_fis(parse_experiment(FULL), options, "full.yaml")
    actions = exported.document["actions"]
    by_id = {(a["actionId"], tuple(sorted(a["parameters"].items()))) for a in actions.values()}
    assert ("aws:fis:wait", (("duration", "PT1M30S"),)) in by_id
    assert (
        "aws:network:route-table-disrupt-cross-region-connectivity",
        (("duration", "PT5M"), ("region", "eu-west-1")),
    ) in by_id
    assert ("aws:network:disrupt-connectivity", (("duration", "PT2M"), ("scope", "dynamodb"))) in by_id
    assert (
        "aws:fis:inject-api-throttle-error",
        (
            ("duration", "PT3M"),
            ("operations", "RunInstances,DescribeInstances"),
            ("percentage", "25"),
            ("service", "ec2"),
        ),
    ) in by_id
    assert ("aws:network:disrupt-connectivity", (("duration", "PT12H"), ("scope", "s3"))) in by_id
    cross = next(a for a in actions.values() if a["actionId"].startswith("aws:network:route-table"))
    assert cross["startAfter"] == [next(n for n, a in actions.items() if a["actionId"] == "aws:fis:wait")]
    assert exported.document["targets"]["app-roles"]["resourceArns"] == ["arn:aws:iam::123456789012:role/app"]
    assert exported.document["stopConditions"] == [
        {"source": "aws:cloudwatch:alarm", "value": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:app-5xx"}
    ]
    assert [str(item) for item in exported.untranslated] == [
        "faults[1]: kind unavailable: changed: FIS cuts the network: calls time out instead of being answered with an error",
        "faults[3]: for 13h: changed: FIS's longest action lasts 12 hours: exported as PT12H",
        "stop_when[1]: http (page): not exported: FIS stops on CloudWatch alarms only",
    ]
    assert exported.document["tags"]["team"] == "a"
    assert not ParamValidator().validate(exported.document, _input_shape()).has_errors()
    assert _limits(_input_shape(), exported.document) == []
    boto3.client("fis", region_name="us-east-1").create_experiment_template(**exported.document)


def test_ec2_errors_need_the_applications_role_and_services_fis_cannot_touch_are_listed() -> None:
    experiment = parse_experiment(
        "version: 1\ntitle: t\nfaults:\n"
        "  - {kind: internal_error, service: ec2, region: us-east-1, operations: [RunInstances], for: 2m}\n"
        "  - {kind: unavailable, service: sqs, region: us-east-1, for: 2m}\n"
    )
    exported = to_fis(experiment, FisOptions(ROLE), "t.yaml")
    assert exported.faults_exported == 0
    assert [item.why for item in exported.untranslated] == [
        "FIS injects API errors into the calls of IAM roles: give the application's role (--app-role)",
        "FIS has no action for sqs",
    ]


def test_the_same_experiment_gives_the_same_client_token() -> None:
    experiment = load_experiment(ROOT / "experiments" / "s3-region-outage.yaml")
    first, second = (to_fis(experiment, FisOptions(ROLE), "x.yaml").document for _ in range(2))
    assert first["clientToken"] == second["clientToken"]
    assert (
        to_fis(experiment, FisOptions(ROLE, tags={"k": "v"}), "x.yaml").document["clientToken"] != first["clientToken"]
    )


def test_cli_writes_the_template_and_lists_the_rest_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "template.json"
    source = ROOT / "experiments" / "s3-us-east-1-2017.yaml"
    result = runner.invoke(app, ["export", str(source), "--to", "fis", "--role-arn", ROLE, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["roleArn"] == ROLE
    assert result.stderr.count("s3-us-east-1-2017.yaml: faults[") == 3
    strict = runner.invoke(app, ["export", str(source), "--to", "fis", "--role-arn", ROLE, "--strict"])
    assert strict.exit_code == 3 and "--strict: 3 parts cannot be exported as written" in strict.stderr
    nothing = runner.invoke(
        app, ["export", str(ROOT / "experiments" / "s3-latency.yaml"), "--to", "fis", "--role-arn", ROLE]
    )
    assert nothing.exit_code == 3 and "none of its faults can be expressed in fis: nothing written" in nothing.stderr
    assert nothing.stdout == ""
    assert runner.invoke(app, ["export", str(source), "--to", "fis"]).exit_code == 2  # no role
    assert runner.invoke(app, ["export", str(source), "--to", "fis", "--role-arn", "nope"]).exit_code == 2
