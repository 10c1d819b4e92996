"""The manual cannot drift from the code: it builds strictly, and its examples run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.guardrails import tomllib
from chaos.loading import parse_experiment
from chaos.model import Guardrails
from chaos.reference import cli_reference, schema_reference
from chaos.schema import experiment_schema

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for block in re.findall(rf"```{language}\n(.*?)```", page.read_text(), flags=re.DOTALL):
            found.append((page.name, block))
    return found


def test_the_manual_builds_strictly(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    assert "outage serve" in cli and "--faults" in cli
    assert "key_prefix" in (tmp_path / "site" / "reference" / "experiment" / "index.html").read_text()


@pytest.mark.parametrize(
    ("page", "source"),
    [b for b in _blocks("python") if "def test_" not in b[1]],
    ids=lambda v: v if isinstance(v, str) and v.endswith(".md") else "",
)
def test_python_examples_run(page: str, source: str, aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(source, f"docs/{page}", "exec"), {"__name__": "docs_example"})


def test_pytest_style_examples_run(pytester: pytest.Pytester) -> None:
    tests = [source for _, source in _blocks("python") if "def test_" in source]
    assert tests
    for index, source in enumerate(tests):
        pytester.makepyfile(**{f"test_manual_{index}": source})
    result = pytester.runpytest()
    assert result.ret == 0, result.stdout.str()


@pytest.mark.parametrize(
    ("page", "source"), _blocks("yaml"), ids=lambda v: v if isinstance(v, str) and v.endswith(".md") else ""
)
def test_yaml_examples_are_valid_experiments(page: str, source: str) -> None:
    """Whole experiments, suites (they have ``experiments``), and fragments (sections of an experiment)."""
    import yaml

    from chaos.gameday.suite import Suite

    document = yaml.safe_load(source)
    if isinstance(document, dict) and "experiments" in document:
        Suite.model_validate(document)
    elif isinstance(document, dict) and "version" not in document:
        base = {
            "version": 1,
            "title": "fragment",
            "faults": [{"kind": "unavailable", "for": "1s"}],
            "app": {"url": "http://127.0.0.1:8080"},
            "gateway": {"endpoint": "http://127.0.0.1:4566"},
            "load": {"rate": 1, "requests": [{"path": "/"}]},
        }
        parse_experiment(yaml.safe_dump({**base, **document}), f"docs/{page} (a fragment)")
    else:
        parse_experiment(source, f"docs/{page}")


def test_toml_examples_are_valid_guardrails() -> None:
    from chaos.guardrails import SETTINGS

    blocks = _blocks("toml")
    assert blocks
    for page, source in blocks:
        table = tomllib.loads(source)["tool"]["chaos"]
        assert Guardrails.model_validate({k: v for k, v in table.items() if k not in SETTINGS}), page


def test_references_cover_every_command_and_field() -> None:
    cli = cli_reference()
    for command in ("validate", "plan", "run", "report", "serve", "inject", "schema", "demo"):
        assert f"## `outage {command}`" in cli
    reference = schema_reference()
    schema = experiment_schema()
    for definition in [schema, *schema["$defs"].values()]:
        for field in definition.get("properties", {}):
            assert f'| <code class="name">{field}</code> |' in reference


def test_the_field_reference_shows_durations_as_durations() -> None:
    reference = schema_reference()
    assert '| <code class="name">ready_timeout</code> | duration | `30s` |' in reference
    assert '| <code class="name">after</code> | duration | `0s` |' in reference
    assert "duration or number" not in reference and "`30.0`" not in reference
