"""The pictures of reports in docs/reports.md: made by the docs build (docs/hooks.py) from real runs of the
demo applications and rendered by headless Chromium; without Chromium the build stops and says why."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType

import pytest
from mkdocs.exceptions import PluginError
from PIL import Image, ImageStat

from chaos.loading import parse_experiment

ROOT = Path(__file__).resolve().parents[2]


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
def test_the_docs_build_photographs_real_reports(tmp_path: Path) -> None:
    files = _hooks().demo_reports(tmp_path / "cache")
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
