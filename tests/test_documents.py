"""YAML and JSON text into values with positions: huge numbers, control characters and JSON's own errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.documents import MAX_INTEGER, DocumentError, parse_document
from chaos.loading import ExperimentError, parse_experiment

MINIMAL = "version: 1\ntitle: t\nfaults:\n  - {kind: unavailable, service: s3, region: us-east-1}\n"
HUGE = "1" * 5000


def _problem(text: str, name: str = "exp.yaml") -> str:
    with pytest.raises(ExperimentError) as caught:
        parse_experiment(text, name)
    [problem] = caught.value.problems
    return str(problem)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (MINIMAL.replace("version: 1", f"version: {HUGE}"), "exp.yaml:1:10: "),
        (MINIMAL + f"seed: {HUGE}\n", "exp.yaml:5:7: "),
        (MINIMAL + f"seed: 0x{'f' * 5000}\n", "exp.yaml:5:7: "),
        (MINIMAL + f"seed: -{HUGE}\n", "exp.yaml:5:7: "),
        (MINIMAL + f"? {HUGE}\n: 1\n", "exp.yaml:5:3: "),  # a key, where a name was expected
        (MINIMAL + f"tags: [{HUGE}]\n", "exp.yaml:5:8: "),
        (MINIMAL.replace("region: us-east-1}", f"region: us-east-1, for: {HUGE}}}"), "exp.yaml:4:62: "),
    ],
)
def test_a_5000_digit_number_is_a_located_error_not_a_traceback(text: str, where: str) -> None:
    problem = _problem(text)
    assert problem.startswith(where), problem
    assert "5,00" in problem and f"±{MAX_INTEGER:,}" in problem


@pytest.mark.parametrize(
    "number", [str(MAX_INTEGER + 1), "99999999999999999999", f"-{MAX_INTEGER + 1}", "0x20000000000000"]
)
def test_integers_beyond_2_53_are_refused_anywhere(number: str) -> None:
    problem = _problem(MINIMAL + f"description: x\nunknown_field: {number}\n")
    assert problem.startswith("exp.yaml:6:16: this number is too large")


def test_the_largest_integer_is_accepted_where_the_field_allows_it() -> None:
    value, _ = parse_document(f"a: {MAX_INTEGER}\nb: -{MAX_INTEGER}\n".encode())
    assert value == {"a": MAX_INTEGER, "b": -MAX_INTEGER}


def test_a_5000_digit_number_in_json() -> None:
    text = '{"version": 1, "title": "t", "seed": ' + HUGE + ', "faults": [{"kind": "unavailable"}]}'
    assert _problem(text, "exp.json").startswith("exp.json:1:38: this number is 5,000 characters long")


@pytest.mark.parametrize(
    ("escape", "what"),
    [
        ("\\0", "a NUL character"),
        ("\\e[31m", "an escape character"),
        ("\\x07", "a control character (\\x07)"),
        ("\\x7f", "a DEL character"),
    ],
)
def test_control_characters_in_strings_are_refused(escape: str, what: str) -> None:
    problem = _problem(MINIMAL + f'description: "a {escape} b"\n')
    assert problem.startswith(f"exp.yaml:5:14: a string contains {what}")


def test_tabs_and_line_breaks_are_text() -> None:
    experiment = parse_experiment(MINIMAL + 'description: "a\\tb\\r\\nc"\n')
    assert experiment.description == "a\tb\r\nc"


def test_lone_surrogates_are_refused_in_json_and_keys() -> None:
    text = '{"version": 1, "title": "\\udc80", "faults": [{"kind": "unavailable"}]}'
    assert _problem(text, "exp.json").startswith("exp.json:1:25: a string contains a lone surrogate (\\udc80)")
    text = '{"version": 1, "title": "t", "\\u0000": 1, "faults": [{"kind": "unavailable"}]}'
    assert _problem(text, "exp.json").startswith("exp.json:1:30: a string contains a NUL character")


def test_a_str_with_a_lone_surrogate_is_not_utf_8() -> None:
    assert _problem(MINIMAL + "description: \ud800\n").startswith("exp.yaml:5:14: not UTF-8 text")


def test_binary_values_are_refused() -> None:
    assert _problem(MINIMAL + "description: !!binary AA==\n").startswith("exp.yaml:5:14: binary values (!!binary)")


# -- JSON files are read as JSON --------------------------------------------------------------------
def test_a_json_file_is_parsed_as_json_even_where_yaml_would_refuse_it() -> None:
    # YAML limits implicit keys to 1,024 characters; JSON does not: the error is about the field.
    text = json.dumps({"version": 1, "title": "t", "x" * 2000: 1, "faults": [{"kind": "unavailable"}]})
    problem = _problem(text, "exp.json")
    assert problem.startswith("exp.json:1:30: xxxxxxxxx") and "unknown field" in problem
    assert "YAML" not in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"version": 1,\n "title": "t",,\n}',
            "exp.json:2:15: invalid JSON: expecting a property name in double quotes",
        ),
        ('{"version": NaN}', "exp.json:1:13: invalid JSON: expecting a value"),
        ('{"version": Infinity}', "exp.json:1:13: invalid JSON: expecting a value"),
        ('{"version": 1} trailing', "exp.json:1:16: invalid JSON: extra data after the document"),
        ('{"title": "unterminated', "exp.json:1:24: invalid JSON: unterminated string"),
        ('{"title": "bad \\q escape"}', "exp.json:1:16: invalid JSON: invalid escape in a string"),
        ('{"title": "raw \t tab"}', "exp.json:1:16: invalid JSON: control character in a string"),
        ("[" * 100 + "]" * 100, "exp.json:1:66: the document is nested more than 64 levels deep"),
        ('{"a": 1, "a": 2}', "exp.json:1:10: duplicate key 'a' (first given at line 1)"),
    ],
)
def test_json_errors_say_json_with_the_json_position(text: str, expected: str) -> None:
    assert _problem(text, "exp.json").startswith(expected)


def test_a_json_file_with_tabs_and_a_bom_loads() -> None:
    text = '\ufeff{\n\t"version": 1,\n\t"title": "t",\n\t"faults": [{"kind": "unavailable"}]\n}\n'
    assert parse_experiment(text, "EXP.JSON").title == "t"


def test_json_value_count_is_bounded() -> None:
    text = '{"version": 1, "title": "t", "faults": [{"kind": "unavailable"}], "tags": [' + "0," * 200_001 + "0]}"
    assert "more than 200,000 values" in _problem(text, "exp.json")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_INTEGER, MAX_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r")),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text('abé_"\\ ', max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(value=json_values, indent=st.sampled_from([None, 0, 2, "\t"]), ascii_only=st.booleans())
def test_the_json_parser_agrees_with_the_json_module(value: Any, indent: Any, ascii_only: bool) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    parsed, positions = parse_document(text.encode(), json_only=True)
    assert parsed == json.loads(text)
    assert positions[()] >= (1, 1)
    lines = text.splitlines()
    for path, (line, column) in positions.items():
        if path and isinstance(path[-1], str):  # a key: its opening quote
            assert lines[line - 1][column - 1] == '"'


def test_document_errors_carry_line_and_column() -> None:
    with pytest.raises(DocumentError) as caught:
        parse_document(b'{\n  "a": [1,\n  ]\n}', json_only=True)
    assert (caught.value.line, caught.value.column) == (3, 3)
