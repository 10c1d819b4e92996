"""IAM actions come from AWS's Service Authorization Reference, never from a guess on the operation's name.

A deny policy naming an action that does not exist denies nothing while ``outage plan`` says DENIED:
every botocore operation either maps to actions AWS defines (and parliament knows, where its
definition is recent enough) or is refused with a message saying what to do.
"""

from __future__ import annotations

import collections
import functools
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import parliament
import pytest
from parliament import analyze_policy_string
from typer.testing import CliRunner

from chaos.cli import app
from chaos.engine import botodata
from chaos.engine.fault import Fault
from chaos.errors import ConfigError
from chaos.iam.actions import ActionMapping, iam_actions, iam_prefix, mapping, service_actions
from chaos.iam.overrides import OVERRIDES
from chaos.iam.policy import fault_policies
from chaos.model import Experiment
from chaos.plan import make_plan

runner = CliRunner()
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
#: An operation AWS lists with no action: it is called without credentials, a deny cannot touch it.
UNMAPPED = ("sts", "AssumeRoleWithWebIdentity")

SPECIAL_CASES = [
    ("s3", "ListObjectsV2", ("s3:ListBucket",)),
    ("s3", "HeadBucket", ("s3:ListBucket",)),
    ("s3", "HeadObject", ("s3:GetObject",)),
    ("s3", "SelectObjectContent", ("s3:GetObject",)),
    ("s3", "CreateMultipartUpload", ("s3:PutObject",)),
    ("s3", "UploadPart", ("s3:PutObject",)),
    ("s3", "CompleteMultipartUpload", ("s3:PutObject",)),
    ("s3", "ListParts", ("s3:ListMultipartUploadParts",)),
    ("s3", "ListMultipartUploads", ("s3:ListBucketMultipartUploads",)),
    ("s3", "DeleteObjects", ("s3:DeleteObject",)),
    ("s3", "PutBucketLifecycleConfiguration", ("s3:PutLifecycleConfiguration",)),
    ("lambda", "Invoke", ("lambda:InvokeFunction",)),
    ("sqs", "SendMessageBatch", ("sqs:SendMessage",)),
    ("sqs", "DeleteMessageBatch", ("sqs:DeleteMessage",)),
    ("sns", "PublishBatch", ("sns:Publish",)),
    # Several candidates, the write is denied (denying s3:GetObject too would fail every read).
    ("s3", "CopyObject", ("s3:PutObject",)),
    # Authorised by the action of the statement's kind: all of them.
    (
        "dynamodb",
        "ExecuteStatement",
        ("dynamodb:PartiQLDelete", "dynamodb:PartiQLInsert", "dynamodb:PartiQLSelect", "dynamodb:PartiQLUpdate"),
    ),
]


@functools.cache
def _parliament_actions() -> dict[str, frozenset[str]]:
    """parliament's own IAM definition: prefix -> action names, lower-case (IAM is case-insensitive)."""
    known: dict[str, set[str]] = collections.defaultdict(set)
    for service in parliament.iam_definition:
        known[service["prefix"]].update(privilege["privilege"].lower() for privilege in service["privileges"])
    return {prefix: frozenset(names) for prefix, names in known.items()}


def _parliament_knows(action: str) -> bool:
    prefix, _, name = action.partition(":")
    return name.lower() in _parliament_actions().get(prefix, frozenset())


@functools.cache
def _enumeration() -> tuple[dict[str, dict[str, tuple[str, ...]]], dict[tuple[str, str], str]]:
    """Every operation of every botocore service: its actions, or why it is refused."""
    mapped: dict[str, dict[str, tuple[str, ...]]] = collections.defaultdict(dict)
    refused: dict[tuple[str, str], str] = {}
    for service in sorted(botodata.known_services()):
        for operation in sorted(botodata.operation_names(service)):
            try:
                mapped[service][operation] = iam_actions(service, operation)
            except ConfigError as exc:
                refused[service, operation] = str(exc)
    return dict(mapped), refused


def test_every_botocore_operation_maps_to_actions_aws_defines_or_is_refused() -> None:
    mapped, refused = _enumeration()
    operations = sum(len(found) for found in mapped.values())
    actions = {action for found in mapped.values() for each in found.values() for action in each}
    print(
        f"\n{len(botodata.known_services())} botocore services, {operations + len(refused)} operations: "
        f"{operations} mapped ({len(actions)} distinct actions), {len(refused)} refused"
    )
    assert operations > 15_000, "the vendored mapping lost most of its operations"
    # Every mapped action is one AWS's reference defines: no made-up action can reach a policy.
    assert sorted(action for action in actions if not mapping().defines(action)) == []
    for (service, operation), message in refused.items():
        assert message.startswith(f"no known IAM mapping for {service} operation {operation}: ") or (
            message.startswith(f"no known IAM prefix for service {service}: ")
        ), message
        assert message.endswith("use the hook or gateway injector"), message


def test_mapped_actions_are_known_to_parliament_unless_newer_than_its_definition() -> None:
    mapped, _ = _enumeration()
    actions = {action for found in mapped.values() for each in found.values() for action in each}
    newer = sorted(action for action in actions if not _parliament_knows(action))
    print(
        f"\nparliament {parliament.__version__} knows {len(actions) - len(newer)} of the {len(actions)} mapped "
        f"actions; the other {len(newer)} are newer than its definition (AWS's reference of "
        f"{mapping().source['date'][:10]} defines them)"
    )
    # Unknown to parliament is only acceptable for an action AWS's own reference defines...
    assert [action for action in newer if not mapping().defines(action)] == []
    # ... and stays the exception: a refresh that mangled names would show here first.
    assert len(newer) < 0.25 * len(actions)


def test_hand_written_actions_are_known_to_aws_and_to_parliament() -> None:
    written = {action for override in OVERRIDES.values() for action in override.actions}
    written |= {action for _, _, expected in SPECIAL_CASES for action in expected}
    assert sorted(action for action in written if not mapping().defines(action)) == []
    assert sorted(action for action in written if not _parliament_knows(action)) == []


def test_every_override_cites_an_aws_page_for_an_operation_botocore_has() -> None:
    for (service, operation), override in OVERRIDES.items():
        assert operation in botodata.operation_names(service), (service, operation)
        assert override.doc.startswith("https://docs.aws.amazon.com/"), override.doc
        assert override.actions and override.why


def test_the_manual_lists_every_override() -> None:
    manual = (Path(__file__).resolve().parents[2] / "docs" / "iam.md").read_text()
    table = manual.split("**Overrides.**", 1)[1].split("**Unmapped operations are refused.**", 1)[0]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines() if line.startswith("| ")
    ]
    documented = {(row[0], operation.strip()): row[2] for row in rows[1:] for operation in row[1].split(",")}
    assert set(documented) == set(OVERRIDES)
    for key, override in OVERRIDES.items():
        for action in override.actions:
            assert action.partition(":")[2] in documented[key], (key, action)


def _lint_findings(document: dict[str, Any]) -> list[tuple[str, str]]:
    policy = analyze_policy_string(json.dumps(document))
    return [
        (finding.issue, finding.detail)
        for finding in policy.findings
        if finding.issue in ("UNKNOWN_ACTION", "UNKNOWN_PREFIX")
    ]


def test_deny_policies_for_every_mapped_operation_pass_parliament() -> None:
    mapped, _ = _enumeration()
    actions = {action for found in mapped.values() for each in found.values() for action in each}
    newer = {action.lower() for action in actions if not _parliament_knows(action)}
    unexplained = []
    policies = 0
    for service, operations in sorted(mapped.items()):
        # One statement per policy (no region): parliament checks each action once, and the actions are what is checked.
        fault = Fault(kind="unavailable", service=service, operations=sorted(operations))
        [policy] = fault_policies(
            [fault], run_id="lint", experiment="lint", start=NOW, run_end=NOW + timedelta(minutes=5), margin=timedelta()
        )
        policies += 1
        for issue, detail in _lint_findings(policy.document):
            # parliament names the action ("Unknown action s3:Foo") or the prefix ("Unknown prefix foo").
            name = detail.split()[-1].lower()
            if issue == "UNKNOWN_ACTION" and name in newer:
                continue
            if issue == "UNKNOWN_PREFIX" and any(action.startswith(f"{name}:") for action in newer):
                continue
            unexplained.append((service, issue, detail))
    assert policies > 400
    assert unexplained == []


def test_the_fixed_actions_lint_clean() -> None:
    fault = Fault(
        kind="unavailable",
        service="s3",
        region="us-east-1",
        operations=["SelectObjectContent", "PutBucketLifecycleConfiguration", "HeadObject", "ListObjectsV2"],
    )
    others = [
        Fault(kind="unavailable", service="lambda", region="us-east-1", operations=["Invoke"]),
        Fault(
            kind="unavailable", service="sqs", region="us-east-1", operations=["SendMessageBatch", "DeleteMessageBatch"]
        ),
        Fault(kind="unavailable", service="sns", region="us-east-1", operations=["PublishBatch"]),
    ]
    for policy in fault_policies(
        [fault, *others],
        run_id="lint",
        experiment="lint",
        start=NOW,
        run_end=NOW + timedelta(minutes=5),
        margin=timedelta(),
    ):
        assert _lint_findings(policy.document) == []


@pytest.mark.parametrize(("service", "operation", "expected"), SPECIAL_CASES)
def test_documented_special_cases(service: str, operation: str, expected: tuple[str, ...]) -> None:
    assert iam_actions(service, operation) == expected


def test_prefixes_come_from_aws_reference() -> None:
    assert iam_prefix("cloudwatch") == "cloudwatch"  # signs as "monitoring"
    assert iam_prefix("stepfunctions") == "states"
    assert iam_prefix("opensearch") == "es"
    assert service_actions("s3") == ("s3:*",)
    # MSK's topic operations are authorised under kafka-cluster: a whole-service fault denies them too.
    assert service_actions("kafka")[0] == "kafka:*"
    assert "kafka-cluster:CreateTopic" in service_actions("kafka")


def _document(operations: dict[str, list[str]], actions: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "source": {"date": "2026-01-01T00:00:00Z"},
        "services": {"svc": {"operations": operations, "listed_under": ["svc"]}},
        "actions": actions,
    }


def test_the_rule_picks_the_operations_own_action_and_refuses_the_rest() -> None:
    rule = ActionMapping.from_document(
        _document(
            {
                "PutThing": ["svc:PutThing", "svc:TagThing", "other:PutThing"],
                "SendThings": ["svc:SendThing", "kms:Decrypt"],
                "Mix": ["svc:Read", "svc:Write"],
                "Nothing": [],
                "Ghost": ["svc:Ghost"],
            },
            {"svc": ["PutThing", "TagThing", "SendThing", "Read", "Write"], "other": ["PutThing"], "kms": ["Decrypt"]},
        ),
        overrides={},
    )
    assert rule.iam_prefix("svc") == "svc"
    assert rule.iam_actions("svc", "PutThing") == ("svc:PutThing",)
    assert rule.iam_actions("svc", "SendThings") == ("svc:SendThing",)
    for operation, reason in [
        ("Mix", "lists svc:Read, svc:Write for it and none of them is the operation's own"),
        ("Nothing", "lists no IAM action that authorises it"),
        ("Ghost", "names svc:Ghost, which it does not define"),
        ("Unlisted", "(as vendored, of 2026-01-01) does not list it"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(reason)):
            rule.iam_actions("svc", operation)
    with pytest.raises(ConfigError, match="no known IAM prefix for service nope"):
        rule.iam_prefix("nope")


def _iam_experiment(fault: str, *, injector: bool) -> str:
    return (
        "version: 1\ntitle: unmapped\n"
        + ("injector: iam\n" if injector else "")
        + f"faults:\n  - {fault}\niam:\n  targets:\n    - role: app\n"
    )


UNMAPPED_FAULT = (
    "{kind: unavailable, service: sts, region: us-east-1, operations: [AssumeRoleWithWebIdentity], for: 1m}"
)
UNMAPPED_MESSAGE = (
    "no known IAM mapping for sts operation AssumeRoleWithWebIdentity: AWS's Service Authorization Reference lists "
    "no IAM action that authorises it; remove it from the fault's operations, or use the hook or gateway injector"
)


def test_plan_refuses_an_unmapped_operation(tmp_path: Path) -> None:
    path = tmp_path / "unmapped.yaml"
    path.write_text(_iam_experiment(UNMAPPED_FAULT, injector=False))
    result = runner.invoke(app, ["plan", "--injector", "iam", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}: fault 0: {UNMAPPED_MESSAGE}" in result.stderr
    assert "Policy chaos-outage-" not in result.stdout


def test_validate_refuses_an_unmapped_operation_only_for_the_iam_injector(tmp_path: Path) -> None:
    iam, hook = tmp_path / "iam.yaml", tmp_path / "hook.yaml"
    iam.write_text(_iam_experiment(UNMAPPED_FAULT, injector=True))
    hook.write_text(_iam_experiment(UNMAPPED_FAULT, injector=False))
    result = runner.invoke(app, ["validate", str(iam)])
    assert result.exit_code == 2, result.output
    assert f"{iam}:5:58: faults[0].operations: {UNMAPPED_MESSAGE}" in result.stderr
    result = runner.invoke(app, ["validate", str(hook)])
    assert result.exit_code == 0, result.output


def test_the_policy_builder_refuses_an_unmapped_operation() -> None:
    fault = Fault(kind="unavailable", service=UNMAPPED[0], region="us-east-1", operations=[UNMAPPED[1]])
    with pytest.raises(ConfigError, match=re.escape(UNMAPPED_MESSAGE)):
        fault_policies([fault], run_id="r", experiment="e", start=NOW, run_end=NOW, margin=timedelta())


def test_operations_on_every_service_are_refused_not_wildcarded() -> None:
    fault = Fault(kind="unavailable", service="*", region="us-east-1", operations=["Invoke"])
    with pytest.raises(ConfigError, match=re.escape("operations Invoke on every service ('*') have no one IAM action")):
        fault_policies([fault], run_id="r", experiment="e", start=NOW, run_end=NOW, margin=timedelta())


def test_the_plan_judges_the_real_action() -> None:
    experiment = Experiment.model_validate(
        {
            "version": 1,
            "title": "lambda down",
            "injector": "iam",
            "faults": [
                {
                    "kind": "unavailable",
                    "service": "lambda",
                    "region": "us-east-1",
                    "operations": ["Invoke"],
                    "for": "1m",
                }
            ],
            "iam": {"targets": [{"role": "app"}]},
        }
    )
    plan = make_plan(experiment)
    assert plan.problems == []
    [document] = [policy["document"] for policy in plan.policies]
    assert {action for statement in document["Statement"] for action in statement["Action"]} == {
        "lambda:InvokeFunction"
    }
    lines = [line.split() for line in plan.denied_calls]
    assert ["lambda:InvokeFunction", "us-east-1", "DENIED"] in [[line[0], line[-2], line[-1]] for line in lines]
    assert ["lambda:InvokeFunction", "eu-west-1", "allowed"] in [[line[0], line[-2], line[-1]] for line in lines]
    assert not any(line[0] == "lambda:Invoke" for line in lines)
