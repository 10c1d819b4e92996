"""``outage validate``, ``outage plan`` and ``outage schema``: exit codes, messages, no side effects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import jsonschema
import pytest
from typer.testing import CliRunner

from chaos.cli import app
from chaos.schema import experiment_schema, schema_text

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = sorted((ROOT / "experiments").glob("*.yaml"))
OUTAGE = Path(sys.executable).with_name("outage")
runner = CliRunner()

GOOD = "version: 1\ntitle: good\nfaults:\n  - {kind: unavailable, service: s3, region: us-east-1, for: 10s}\n"
BAD = "version: 1\ntitle: bad\nfaults:\n  - kind: unavailble\n    region: us-east1\n"


def test_validate_accepts_the_whole_catalogue() -> None:
    result = runner.invoke(app, ["validate", *map(str, CATALOGUE)])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == len(CATALOGUE)


def test_validate_reports_every_error_of_every_file(tmp_path: Path) -> None:
    good, bad, worse = tmp_path / "good.yaml", tmp_path / "bad.yaml", tmp_path / "worse.json"
    good.write_text(GOOD)
    bad.write_text(BAD)
    worse.write_text('{"version": 1, "title": "x", "faults": [{"kind": "latency"}], "extra": 1}')
    result = runner.invoke(app, ["validate", str(good), str(bad), str(worse)])
    assert result.exit_code == 2
    assert f"{good}: ok (1 fault: good)" in result.stdout
    assert f"{bad}:4:5: faults[0].kind: unknown fault kind 'unavailble'; did you mean 'unavailable'?" in result.stderr
    assert f"{bad}:5:5: faults[0].region: 'us-east1' is not an AWS region" in result.stderr
    assert f"{worse}:1:63: extra: unknown field 'extra'" in result.stderr
    assert f"{worse}:1:41: faults[0]: a latency fault needs latency" in result.stderr
    assert "2 of 3 files invalid" in result.stderr
    assert "Traceback" not in result.output


def test_validate_checks_a_suite_and_every_experiment_it_names(tmp_path: Path) -> None:
    suite = ROOT / "experiments" / "suites" / "weekly-s3.yaml"
    result = runner.invoke(app, ["validate", str(suite)])
    assert result.exit_code == 0, result.output
    assert f"{suite}: ok (game-day suite, 2 experiments: Weekly S3 game day)" in result.stdout
    (tmp_path / "bad.yaml").write_text(BAD)
    (tmp_path / "day.yaml").write_text("version: 1\ntitle: day\nexperiments:\n  - bad.yaml\nstop_the_day: sometimes\n")
    result = runner.invoke(app, ["validate", str(tmp_path / "day.yaml")])
    assert result.exit_code == 2
    assert f"{tmp_path / 'day.yaml'}:5:1: stop_the_day: Input should be 'first_failure' or 'never'" in result.stderr
    (tmp_path / "day.yaml").write_text("version: 1\ntitle: day\nexperiments:\n  - bad.yaml\n")
    result = runner.invoke(app, ["validate", str(tmp_path / "day.yaml")])
    assert result.exit_code == 2
    assert f"{tmp_path / 'day.yaml'}:4:5: experiments[0]: bad.yaml is not runnable:" in result.stderr
    assert f"{tmp_path / 'bad.yaml'}:4:5: faults[0].kind: unknown fault kind 'unavailble'" in result.stderr


def test_a_control_character_is_one_located_line(tmp_path: Path) -> None:
    file = tmp_path / "cc.yaml"
    file.write_bytes(b"version: 1\ntitle: a\x1fb\n")
    result = runner.invoke(app, ["validate", str(file)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"{file}:2:9: invalid YAML: the character U+001F is not allowed here"


def test_validate_as_a_real_subprocess_never_prints_a_traceback(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(os.urandom(4096))
    result = subprocess.run(
        [str(OUTAGE), "validate", str(garbage)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"{garbage}:")
    assert "Traceback" not in result.stderr


def test_plan_prints_timeline_injector_and_guardrails() -> None:
    result = runner.invoke(app, ["plan", str(ROOT / "experiments" / "s3-us-east-1-2017.yaml")])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Injector: gateway" in out
    assert "[0] 3s-11s" in out and "[1] 11s-15s" in out
    assert "answer 503 ServiceUnavailable" in out
    assert "max_duration: 2m" in out
    assert "Within guardrails: yes" in out
    assert out.rstrip().endswith("Nothing has been changed.")


def test_plan_json_and_injector_override() -> None:
    result = runner.invoke(
        app, ["plan", "--json", "--injector", "hook", str(ROOT / "experiments" / "s3-throttling.yaml")]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["injector"] == "hook"
    assert plan["changes_made"] is False
    assert plan["phases"]["faults"] == {"start": 5.0, "end": 35.0}
    [fault] = plan["faults"]
    assert (fault["start"], fault["end"], fault["probability"]) == (5.0, 35.0, 0.3)
    assert fault["effect"].startswith("30% of calls to s3 in us-east-1 answer 503 SlowDown")
    assert plan["guardrails"]["within"] is True


def test_plan_refused_by_a_guardrail_exits_3_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "wide.yaml"
    path.write_text(
        GOOD.replace("region: us-east-1", "region: [us-east-1, eu-west-1]") + "guardrails: {regions: [us-east-1]}\n"
    )
    result = runner.invoke(app, ["plan", str(path)])
    assert result.exit_code == 3
    assert (
        "refused by guardrail regions: fault 0 (unavailable s3 us-east-1,eu-west-1) targets eu-west-1" in result.stderr
    )
    assert "Within guardrails: no" in result.stdout


def test_project_guardrails_apply_and_the_stricter_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.chaos]\nmax_duration = "20s"\nservices = ["s3", "sqs"]\n')
    path = tmp_path / "exp.yaml"
    path.write_text(GOOD + "guardrails: {max_duration: 5m, services: [s3, dynamodb]}\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["plan", "--json", str(path)])
    assert result.exit_code == 3
    plan = json.loads(result.stdout)
    assert plan["guardrails"]["limits"]["max_duration"] == "20s"
    assert plan["guardrails"]["limits"]["services"] == ["s3"]
    assert plan["guardrails"]["sources"] == ["experiment", f"{tmp_path / 'pyproject.toml'} [tool.chaos]"]
    assert "refused by guardrail max_duration: the run lasts 25s (baseline + faults + recovery) > 20s" in result.stderr


def test_invalid_project_guardrails_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.chaos]\nmax_durration = "20s"\n')
    (tmp_path / "exp.yaml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["plan", "exp.yaml"])
    assert result.exit_code == 2
    assert f"{tmp_path / 'pyproject.toml'}:5:1: tool.chaos.max_durration: unknown key" in result.stderr


def test_plan_of_an_invalid_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = runner.invoke(app, ["plan", str(path)])
    assert result.exit_code == 2
    assert f"{path}:4:5: faults[0].kind" in result.stderr


def test_plan_with_iam_refuses_kinds_iam_cannot_make() -> None:
    result = runner.invoke(app, ["plan", "--injector", "iam", str(ROOT / "experiments" / "s3-latency.yaml")])
    assert result.exit_code == 2
    assert "latency cannot be reproduced by deny policies; use --injector hook or --injector gateway" in result.stderr


def _moto_state(url: str) -> object:
    with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=10) as response:
        return json.loads(response.read())


def test_plan_changes_nothing_on_a_running_moto_server(moto_server: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_server)
    s3.create_bucket(Bucket="plan-must-not-touch")
    s3.put_object(Bucket="plan-must-not-touch", Key="k", Body=b"v")
    boto3.client("iam", region_name="us-east-1", endpoint_url=moto_server).create_role(
        RoleName="chaos-demo-app", AssumeRolePolicyDocument="{}"
    )
    before = _moto_state(moto_server)
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_server}
    for name in ("s3-us-east-1-2017.yaml", "iam-deny-s3-region.yaml", "region-outage-us-east-1.yaml"):
        for extra in ([], ["--json"]):
            result = subprocess.run(
                [str(OUTAGE), "plan", *extra, str(ROOT / "experiments" / name)],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
                check=False,
            )
            assert result.returncode == 0, result.stderr
    assert _moto_state(moto_server) == before


def test_schema_is_draft_2020_12_and_describes_every_field() -> None:
    schema = experiment_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    missing = []
    for name, definition in [("Experiment", schema), *schema["$defs"].items()]:
        for field, spec in definition.get("properties", {}).items():
            if not spec.get("description"):
                missing.append(f"{name}.{field}")
    assert missing == []


def test_schema_command_matches_the_schema_in_the_docs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == experiment_schema()
    assert (ROOT / "docs" / "schema.json").read_text() == schema_text(), "run: outage schema -o docs/schema.json"
    out = tmp_path / "schema.json"
    assert runner.invoke(app, ["schema", "-o", str(out)]).exit_code == 0
    assert out.read_text() == schema_text()


def test_schema_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(experiment_schema())
    assert not validator.is_valid({"version": 1, "title": "t", "faults": [{"kind": "latency", "after": "10 years"}]})
    assert not validator.is_valid({"version": 1, "title": "t", "faults": [{"kind": "unavailable"}], "guardrail": {}})
    assert validator.is_valid(
        {"version": 1, "title": "t", "faults": [{"kind": "unavailable", "region": "us-east-1", "for": "10s"}]}
    )
