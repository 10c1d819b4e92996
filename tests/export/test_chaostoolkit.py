"""Chaos Toolkit export: Chaos Toolkit's own validation accepts every catalogue file's experiment, and one runs
for real against a gateway, arming and removing its fault through ``outage inject``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaos.cli import app
from chaos.export import to_chaostoolkit
from chaos.loading import load_experiment, parse_experiment
from tests.export.conftest import outage_on_path
from tests.injectors.gateway_helpers import start_gateway

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = sorted((ROOT / "experiments").glob("*.yaml"))
runner = CliRunner()

VALIDATE = """
import json, sys
from chaoslib.experiment import ensure_experiment_is_valid
for path in sys.argv[1:]:
    ensure_experiment_is_valid(json.load(open(path)))
    print("valid", path)
"""
RUN = """
import json, sys
from chaoslib.experiment import run_experiment
journal = run_experiment(json.load(open(sys.argv[1])))
json.dump(journal, open(sys.argv[2], "w"), default=str)
"""


def test_every_catalogue_experiment_passes_chaos_toolkits_validation(chaostoolkit_python: Path, tmp_path: Path) -> None:
    paths = []
    for source in CATALOGUE:
        exported = to_chaostoolkit(load_experiment(source), source.name)
        assert exported.faults_exported == len(load_experiment(source).faults)
        path = tmp_path / f"{source.stem}.json"
        path.write_text(json.dumps(exported.document))
        paths.append(str(path))
    result = subprocess.run(
        [str(chaostoolkit_python), "-c", VALIDATE, *paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=outage_on_path(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("valid ") == len(CATALOGUE)


def test_the_2017_replay_in_chaos_toolkit_terms() -> None:
    exported = to_chaostoolkit(load_experiment(ROOT / "experiments" / "s3-us-east-1-2017.yaml"), "2017.yaml")
    document = exported.document
    [probe] = document["steady-state-hypothesis"]["probes"]
    assert probe["tolerance"] == 200 and probe["provider"]["url"] == "${app_url}/health"
    down, writes = document["method"]
    assert down["background"] and writes["background"]
    assert down["provider"]["arguments"][-2:] == ["--for", "8s"] and "before" not in down["pauses"]
    assert writes["provider"]["arguments"][-2:] == ["--for", "4s"] and writes["pauses"] == {"after": 6.0, "before": 8.0}
    fault = json.loads(writes["provider"]["arguments"][2])
    assert fault["operations"][0] == "PutObject" and "after" not in fault and "for" not in fault
    [rollback] = document["rollbacks"]
    assert (rollback["provider"]["method"], rollback["provider"]["url"]) == ("DELETE", "${gateway_url}/_chaos/faults")
    assert [item.where for item in exported.untranslated] == ["app", "load", "expect"]


def test_iam_experiments_inject_and_roll_back_through_iam() -> None:
    exported = to_chaostoolkit(load_experiment(ROOT / "experiments" / "iam-deny-s3-region.yaml"), "iam.yaml")
    [action] = exported.document["method"]
    arguments = action["provider"]["arguments"]
    assert arguments[arguments.index("--iam-target") + 1] == "role/chaos-demo-app"
    assert arguments[arguments.index("--account") + 1] == "123456789012"
    assert exported.document["rollbacks"][0]["provider"]["arguments"] == ["rollback", "--iam"]


def test_a_fault_without_an_end_is_listed_and_nothing_exported_exits_3() -> None:
    experiment = parse_experiment("version: 1\ntitle: t\nfaults:\n  - {kind: unavailable, service: s3}\n")
    exported = to_chaostoolkit(experiment, "t.yaml")
    assert exported.faults_exported == 0 and exported.document["method"] == []
    assert "give it 'for'" in exported.untranslated[0].why


def test_it_runs_in_chaos_toolkit_against_a_gateway(chaostoolkit_python: Path, tmp_path: Path) -> None:
    source = tmp_path / "short.yaml"
    source.write_text(
        "version: 1\ntitle: S3 us-east-1 down for 2 seconds\n"
        "steady_state: [{name: gateway answers, http: {path: /_chaos/health, status: 200}}]\n"
        "phases: {recovery: 1s}\n"
        "faults: [{kind: unavailable, service: s3, region: us-east-1, after: 1s, for: 2s}]\n"
    )
    result = runner.invoke(app, ["export", str(source), "--to", "chaostoolkit", "-o", str(tmp_path / "ctk.json")])
    assert result.exit_code == 0, result.output
    gateway = start_gateway()
    try:
        env = {**outage_on_path(), "OUTAGE_GATEWAY": gateway.url, "APP_URL": gateway.url}
        run = subprocess.run(
            [str(chaostoolkit_python), "-c", RUN, str(tmp_path / "ctk.json"), str(tmp_path / "journal.json")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
        armed_now = gateway.control("GET", "/_chaos/faults")[1]["faults"]
    finally:
        gateway.stop()
    assert run.returncode == 0, run.stdout + run.stderr
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "completed", journal
    [inject] = [item for item in journal["run"] if item["activity"]["type"] == "action"]
    assert inject["status"] == "succeeded", inject
    output = inject["output"]["stdout"]
    assert "injected unavailable s3 us-east-1" in output and "removed fault ids" in output
    assert [item["status"] for item in journal["rollbacks"]] == ["succeeded"]
    assert (
        journal["steady_states"]["before"]["steady_state_met"] and journal["steady_states"]["after"]["steady_state_met"]
    )
    assert armed_now == []


@pytest.mark.parametrize("flag", [[], ["--strict"]])
def test_cli_lists_what_chaos_toolkit_cannot_do(flag: list[str]) -> None:
    source = ROOT / "experiments" / "s3-region-outage.yaml"
    result = runner.invoke(app, ["export", str(source), "--to", "chaostoolkit", *flag])
    assert "s3-region-outage.yaml: load: the load: not exported: Chaos Toolkit drives no traffic" in result.stderr
    if flag:
        assert result.exit_code == 3 and result.stdout == ""
    else:
        assert result.exit_code == 0 and json.loads(result.stdout)["method"][0]["provider"]["path"] == "outage"
