"""The manual cannot drift from the code: it builds strictly, and its examples run."""

from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from mkdocs.exceptions import PluginError
from PIL import Image, ImageStat

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


# -- the pictures of reports in docs/reports.md ---------------------------------------------------------
# Made by the docs build (docs/hooks.py) from real runs of the demo applications and rendered by headless
# Chromium; without Chromium the build stops and says why. Beside the manual's build, in one file: one of
# the two makes the pictures (cached under a hash of the sources), the other reuses them.

def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pictured_experiments_are_the_catalogues_shortened() -> None:
    hooks = _hooks()
    for variant in ("naive", "resilient"):
        experiment = parse_experiment(hooks.experiment(variant), f"{variant}.yaml")
        assert experiment.app is not None and experiment.app.wsgi == f"chaos.demo.wsgi:{variant}"
        assert [(f.after, f.end) for f in experiment.faults] == [(0.0, 4.0), (4.0, 6.0)]
        assert experiment.expect.availability == 0.95 and experiment.phases.baseline == 2.0


def test_without_chromium_the_build_stops_and_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PluginError, match="apt-get install chromium"):
        _hooks().demo_reports()


@pytest.mark.slow
def test_the_docs_build_photographs_real_reports() -> None:
    files = _hooks().demo_reports()  # the build's own cache, keyed on a hash of the sources (made afresh when they change)
    assert sorted(files) == [
        "naive-details.png",
        "naive-timeline.png",
        "naive.html",
        "naive.png",
        "resilient-timeline.png",
        "resilient.html",
        "resilient.png",
    ]
    naive, resilient = files["naive.html"].decode(), files["resilient.html"].decode()
    assert '<span class="verdict failed">NOT GRACEFUL</span>' in naive and 'class="check-marker"' in naive
    assert '<span class="verdict passed">GRACEFUL</span>' in resilient
    assert 'data-kind="never_fired"' not in naive + resilient
    for name, content in files.items():
        if name.endswith(".png"):
            image = Image.open(io.BytesIO(content)).convert("RGB")
            assert image.width == 1000 and 300 < image.height < 2400, (name, image.size)
            assert max(ImageStat.Stat(image).stddev) > 10, f"{name} is blank"
    text = (ROOT / "docs" / "reports.md").read_text()
    for name in files:
        assert f"(demo-reports/{name})" in text, name  # every picture is shown, every report linked
