"""Property: whatever the input, loading ends in an Experiment or a clean, located error.

Random documents and mutations of the catalogue files go through the loader and through
``outage validate``; the only outcomes allowed are success, or exit 2 with every message located
(FILE:LINE:COLUMN:) and no traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chaos.cli import app
from chaos.loading import ExperimentError, parse_experiment
from chaos.model import Experiment
from tests.mutations import set_path

CATALOGUE = sorted((Path(__file__).resolve().parents[1] / "experiments").glob("*.yaml"))
TEXTS = [path.read_text() for path in CATALOGUE]
VOCABULARY = [
    "version",
    "title",
    "faults",
    "kind",
    "service",
    "region",
    "operations",
    "buckets",
    "probability",
    "latency",
    "after",
    "for",
    "app",
    "load",
    "expect",
    "guardrails",
    "phases",
    "iam",
    "steady_state",
    "unavailable",
    "us-east-1",
    "s3",
    "10s",
    "-5s",
    "{port}",
    "{id}",
    "*",
    "<<",
]
runner = CliRunner()


def _check(text: str | bytes, name: str) -> None:
    try:
        result = parse_experiment(text, name)
    except ExperimentError as exc:
        problems = exc.problems
        assert problems
        for problem in problems:
            assert problem.file == name
            assert problem.line >= 1 and problem.column >= 1
            assert problem.message and "\n" not in problem.message  # one line each, as editors read them
    else:
        assert isinstance(result, Experiment)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
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


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents, as_json=st.booleans())
def test_random_documents(document: Any, as_json: bool) -> None:
    if as_json:
        _check(json.dumps(document), "random.json")
    else:
        _check(yaml.safe_dump(document), "random.yaml")


text_mutations = st.one_of(
    st.tuples(st.just("delete_line"), st.integers(0, 200)),
    st.tuples(st.just("duplicate_line"), st.integers(0, 200)),
    st.tuples(st.just("replace"), st.integers(0, 5000), st.integers(0, 40), st.text(max_size=30)),
    st.tuples(st.just("bytes"), st.integers(0, 5000), st.binary(min_size=1, max_size=20)),
    st.tuples(st.just("truncate"), st.integers(0, 5000)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, len(TEXTS) - 1),
    mutation=text_mutations,
)
def test_text_mutations_of_the_catalogue(index: int, mutation: tuple[Any, ...]) -> None:
    text = TEXTS[index]
    lines = text.splitlines(keepends=True)
    kind = mutation[0]
    data: str | bytes
    if kind == "delete_line":
        del lines[mutation[1] % len(lines)]
        data = "".join(lines)
    elif kind == "duplicate_line":
        position = mutation[1] % len(lines)
        lines.insert(position, lines[position])
        data = "".join(lines)
    elif kind == "replace":
        start = mutation[1] % len(text)
        data = text[:start] + mutation[3] + text[start + mutation[2] :]
    elif kind == "bytes":
        start = mutation[1] % len(text)
        raw = text.encode()
        data = raw[:start] + mutation[2] + raw[start:]
    else:
        data = text[: mutation[1] % len(text)]
    _check(data, CATALOGUE[index].name)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    index=st.integers(0, len(TEXTS) - 1),
    path=st.lists(st.integers(0, 50), min_size=1, max_size=5),
    value=scalars | st.lists(scalars, max_size=3),
    delete=st.booleans(),
)
def test_value_mutations_through_outage_validate(
    index: int, path: list[int], value: Any, delete: bool, tmp_path_factory: Any
) -> None:
    data = set_path(yaml.safe_load(TEXTS[index]), path, value, delete)
    file = tmp_path_factory.mktemp("fuzz") / CATALOGUE[index].name
    file.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["validate", str(file)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        located = re.compile(rf"^{re.escape(str(file))}:\d+:\d+: ")
        messages = [line for line in result.stderr.splitlines() if not line.endswith("invalid")]
        assert messages
        assert all(located.match(line) for line in messages), result.stderr
