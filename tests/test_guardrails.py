"""Guardrails: limits merged (the stricter wins) and checked against a plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import ConfigError
from chaos.gate import peak_concurrency
from chaos.guardrails import check_guardrails, merge, project_guardrails
from chaos.loading import parse_experiment
from chaos.model import Guardrails


def _experiment(faults: str, guardrails: str = "{}", phases: str = "{}") -> object:
    return parse_experiment(f"version: 1\ntitle: t\nphases: {phases}\nguardrails: {guardrails}\nfaults:\n{faults}")


def test_stricter_wins() -> None:
    merged = merge(
        Guardrails(
            regions=("us-east-1", "eu-west-1"), max_duration=300, max_probability=0.5, protected_principals=("a",)
        ),
        Guardrails(
            regions=("us-east-1",),
            services=("s3",),
            max_duration=60,
            max_concurrent_faults=2,
            protected_principals=("b",),
        ),
    )
    assert merged.regions == ("us-east-1",)
    assert merged.services == ("s3",)
    assert merged.max_duration == 60
    assert merged.max_probability == 0.5
    assert merged.max_concurrent_faults == 2
    assert merged.protected_principals == ("a", "b")


def test_concurrent_faults_are_counted_on_the_timeline() -> None:
    experiment = _experiment(
        "  - {kind: unavailable, for: 10s}\n"
        "  - {kind: throttle, after: 10s, for: 10s}\n"
        "  - {kind: timeout, after: 5s, for: 10s}\n"
    )
    assert peak_concurrency(experiment.faults) == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("faults", "guardrails", "limit"),
    [
        ("  - {kind: unavailable, region: '*', for: 5s}\n", "{regions: [us-east-1]}", "regions"),
        (
            "  - {kind: unavailable, region: us-east-1, include_global: true, for: 5s}\n",
            "{regions: [eu-west-1]}",
            "regions",
        ),
        ("  - {kind: unavailable, service: dynamodb, for: 5s}\n", "{services: [s3]}", "services"),
        ("  - {kind: unavailable, probability: 0.9, for: 5s}\n", "{max_probability: 0.5}", "max_probability"),
        ("  - {kind: unavailable, for: 10m}\n", "{max_duration: 5m}", "max_duration"),
        ("  - {kind: unavailable}\n", "{max_duration: 5m}", "max_duration"),
        (
            "  - {kind: unavailable, for: 5s}\n  - {kind: throttle, for: 5s}\n",
            "{max_concurrent_faults: 1}",
            "max_concurrent_faults",
        ),
    ],
)
def test_each_limit_refuses_a_plan_that_exceeds_it(faults: str, guardrails: str, limit: str, tmp_path: Path) -> None:
    check = check_guardrails(_experiment(faults, guardrails), tmp_path)  # type: ignore[arg-type]
    assert not check.ok
    assert [violation.limit for violation in check.violations] == [limit]


def test_within_limits(tmp_path: Path) -> None:
    experiment = _experiment(
        "  - {kind: unavailable, service: s3, region: us-east-1, probability: 0.5, for: 1m}\n",
        "{regions: [us-east-1], services: [s3], max_probability: 0.5, max_duration: 2m, max_concurrent_faults: 1}",
    )
    check = check_guardrails(experiment, tmp_path)  # type: ignore[arg-type]
    assert check.ok, check.violations
    assert check.sources == ["experiment"]


def test_project_guardrails_come_from_the_nearest_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.chaos]\nregions = ["us-east-1"]\nmax_probability = 0.2\n')
    nested = tmp_path / "tests" / "chaos"
    nested.mkdir(parents=True)
    limits, path = project_guardrails(nested)
    assert path == tmp_path / "pyproject.toml"
    assert limits == Guardrails(regions=("us-east-1",), max_probability=0.2)


def test_a_project_without_tool_chaos_sets_no_limits(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    assert project_guardrails(tmp_path) == (None, tmp_path / "pyproject.toml")


def test_bad_project_guardrails_are_located(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.chaos]\nregions = ["us-east1"]\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml:2:1: tool.chaos.regions.*did you mean 'us-east-1'"):
        project_guardrails(tmp_path)
