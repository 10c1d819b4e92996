"""Property: whatever a suite file holds, loading it ends in a suite or a clean, located error.

Random documents, mutations of the catalogue's suite (values swapped for hostile ones: huge numbers,
NULs, CRLF, non-ASCII, deep nesting, FIFOs and directories named as experiments, odd time zones and
hours) go through ``load_suite`` and ``outage validate``, the hostile ones through ``outage gameday
run`` too; the only outcomes allowed are success, or exit 2 with every message located
(FILE:LINE:COLUMN:) and no traceback. Nothing runs: every day given to gameday run is invalid.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chaos.cli import app
from chaos.gameday.suite import LoadedSuite, load_suite
from chaos.loading import ExperimentError
from tests.mutations import set_path

ROOT = Path(__file__).resolve().parents[2]
SUITE = (ROOT / "experiments" / "suites" / "weekly-s3.yaml").read_text()
VOCABULARY = [
    "version",
    "title",
    "window",
    "days",
    "hours",
    "timezone",
    "experiments",
    "file",
    "continue_on_failure",
    "stop_the_day",
    "notes",
    "first_failure",
    "never",
    "mon",
    "sun",
    "10:00-16:00",
    "00:00-24:00",
    "23:59-00:00",
    "25:00-26:00",
    "Europe/Berlin",
    "UTC",
    "localtime",
    "posix/UTC",
    "../../../etc/zoneinfo",
    "Etc/GMT+14",
    "../s3-us-east-1-2017.yaml",
    "fifo.yaml",
    "directory",
    "/dev/zero",
    "/proc/self/environ",
    "nul\x00.yaml",
]
runner = CliRunner()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers() | st.sampled_from([2**63, -(2**63), 10**100]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20) | st.sampled_from(["\x00", "a\r\nb", "ü€😀", "x" * 3000]),
    st.sampled_from(VOCABULARY),
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A suites/ folder beside copies of the catalogue's experiments, a FIFO and a directory."""
    base = tmp_path_factory.mktemp("suite-fuzz")
    for name in ("s3-us-east-1-2017.yaml", "s3-region-outage.yaml"):
        shutil.copy(ROOT / "experiments" / name, base / name)
    suites = base / "suites"
    suites.mkdir()
    os.mkfifo(suites / "fifo.yaml")
    (suites / "directory").mkdir()
    return suites


def _check_load(path: Path) -> None:
    try:
        result = load_suite(path)
    except ExperimentError as exc:
        problems = exc.problems
        assert problems
        for problem in problems:
            assert problem.line >= 1 and problem.column >= 1 and problem.message
            assert "\n" not in problem.message
    else:
        assert isinstance(result, LoadedSuite)


def _check_cli(path: Path, *args: str) -> None:
    result = runner.invoke(app, [*args, str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2, 3), result.output
    if result.exit_code == 2:
        located = re.compile(r"^[^\n]+:\d+:\d+: ")
        messages = [line for line in result.stderr.splitlines() if line.strip() and not line.endswith("invalid")]
        assert messages and all(located.match(line) for line in messages), result.stderr


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(document=documents, as_json=st.booleans())
def test_random_suites(document: Any, as_json: bool, folder: Path) -> None:
    path = folder / ("random.json" if as_json else "random.yaml")
    path.write_text(json.dumps(document) if as_json else yaml.safe_dump(document))
    _check_load(path)
    _check_cli(path, "validate")


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    path=st.lists(st.integers(0, 50), min_size=1, max_size=4),
    value=scalars | st.lists(scalars, max_size=3) | documents,
    delete=st.booleans(),
)
def test_mutations_of_the_catalogue_suite(path: list[int], value: Any, delete: bool, folder: Path) -> None:
    file = folder / "mutated.yaml"
    file.write_text(yaml.safe_dump(set_path(yaml.safe_load(SUITE), path, value, delete)))
    _check_load(file)
    _check_cli(file, "validate")


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    start=st.integers(0, 2000),
    length=st.integers(0, 40),
    text=st.text(max_size=30) | st.sampled_from(["\r\n", "\x00", "\t", "&a [*a, *a]", "{" * 200]),
)
def test_text_mutations(start: int, length: int, text: str, folder: Path) -> None:
    position = start % len(SUITE)
    file = folder / "text.yaml"
    file.write_text(SUITE[:position] + text + SUITE[position + length :], encoding="utf-8", errors="surrogatepass")
    _check_load(file)
    _check_cli(file, "validate")


@pytest.mark.parametrize(
    "entry",
    ["fifo.yaml", "directory", "/dev/zero", "/proc/self/environ", "nul\x00.yaml", "x" * 5000, "ü/😀.yaml", "."],
)
def test_hostile_experiment_entries_are_located_errors(entry: str, folder: Path) -> None:
    file = folder / "hostile.yaml"
    file.write_text(json.dumps({"version": 1, "title": "t", "experiments": [entry]}))
    with pytest.raises(ExperimentError) as raised:
        load_suite(file)
    assert any(problem.file == str(file) and problem.line == 1 for problem in raised.value.problems)
    _check_cli(file, "validate")
    report = folder / "report"
    _check_cli(file, "gameday", "run", "--ignore-window", "--report", str(report), "--db", str(folder / "h.db"))
    assert not list(report.glob("**/journal.json")), "an experiment ran"
