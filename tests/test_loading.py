"""Loading experiment files: every error located (file, line, column, field), bad input refused."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import tracemalloc
from pathlib import Path
from unittest import mock

import pytest

import chaos.loading
from chaos.errors import ConfigError
from chaos.loading import (
    MAX_FILE_BYTES,
    ExperimentError,
    FileReadError,
    load_experiment,
    parse_experiment,
    read_regular_file,
)
from chaos.model import Experiment

MINIMAL = "version: 1\ntitle: t\nfaults:\n  - {kind: unavailable, service: s3, region: us-east-1}\n"


def _problems(text: str | bytes, name: str = "exp.yaml") -> list[str]:
    with pytest.raises(ExperimentError) as caught:
        parse_experiment(text, name)
    assert caught.value.problems, "an error must list its problems"
    return [str(problem) for problem in caught.value.problems]


def test_a_minimal_file_needs_only_version_title_and_faults() -> None:
    experiment = parse_experiment(MINIMAL)
    assert isinstance(experiment, Experiment)
    assert experiment.faults[0].service == ("s3",)
    assert experiment.app is None and experiment.load is None
    assert experiment.expect.graceful_statuses == (503, 429)


def test_json_files_load_too(tmp_path: Path) -> None:
    path = tmp_path / "exp.json"
    path.write_text(json.dumps({"version": 1, "title": "t", "faults": [{"kind": "throttle", "service": "dynamodb"}]}))
    assert load_experiment(path).faults[0].kind.value == "throttle"


def test_errors_carry_file_line_column_and_field_path() -> None:
    text = "version: 1\ntitle: t\nfaults:\n  - kind: unavailable\n    region: us-east1\n"
    assert _problems(text) == [
        "exp.yaml:5:5: faults[0].region: 'us-east1' is not an AWS region in botocore's endpoint data; "
        "did you mean 'us-east-1'?"
    ]


def test_every_error_is_reported_not_just_the_first() -> None:
    text = (
        "version: 1\ntitle: t\nfaults:\n  - kind: unavailble\n  - kind: unavailable\n    probabilty: 0.5\n"
        "expect:\n  availability: high\n"
    )
    problems = _problems(text)
    assert len(problems) == 3
    assert problems[0].startswith("exp.yaml:4:5: faults[0].kind: unknown fault kind 'unavailble'")
    assert problems[1].startswith(
        "exp.yaml:6:5: faults[1].probabilty: unknown field 'probabilty'; did you mean 'probability'?"
    )
    assert (
        problems[2] == "exp.yaml:8:3: expect.availability: Input should be a valid number, "
        "unable to parse string as a number (got 'high')"
    )


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    [problem] = _problems(MINIMAL + "guardrail:\n  regions: [us-east-1]\n")
    assert problem.startswith("exp.yaml:5:1: guardrail: unknown field 'guardrail'; did you mean 'guardrails'?")


def test_missing_required_fields_are_named() -> None:
    problems = _problems("version: 1\nfaults: []\n")
    assert "exp.yaml:1:1: title: required field 'title' is missing" in problems
    assert any(p.startswith("exp.yaml:2:1: faults: ") and "at least 1 item" in p for p in problems)


def test_placeholders_are_checked() -> None:
    text = MINIMAL + (
        "app:\n  command: [python, -m, app, --port, '{prot}']\n  url: http://127.0.0.1:{port}\n"
        "load:\n  rate: 5\n  requests:\n    - {path: '/docs/{id}'}\n"
    )
    [problem] = _problems(text)
    assert problem.startswith("exp.yaml:6:3: app.command: unknown placeholder {prot}; did you mean 'port'?")


@pytest.mark.parametrize(
    ("duration", "message"),
    [("-5s", "is negative"), ("10 years", "unknown unit 'years'"), ("25h", "longer than the 24h")],
)
def test_bad_durations(duration: str, message: str) -> None:
    [problem] = _problems(f"version: 1\ntitle: t\nfaults:\n  - kind: unavailable\n    for: {duration}\n")
    assert problem.startswith("exp.yaml:5:5: faults[0].for: ")
    assert message in problem


def test_a_fault_after_the_end_of_the_experiment() -> None:
    text = (
        "version: 1\ntitle: t\nphases: {faults: 30s}\nfaults:\n"
        "  - {kind: unavailable, after: 45s}\n  - {kind: timeout, after: 20s, for: 20s}\n"
    )
    assert _problems(text) == [
        "exp.yaml:5:25: faults[0].after: starts at 45s, after the 30s fault phase ended",
        "exp.yaml:6:33: faults[1].for: ends at 40s, after the 30s fault phase ended",
    ]


def test_empty_file() -> None:
    assert _problems("") == ["exp.yaml:1:1: the file is empty: an experiment needs at least version, title and faults"]
    assert _problems("  \n# only a comment\n")[0].startswith("exp.yaml:1:1: the file")


def test_not_a_mapping() -> None:
    assert _problems("- 1\n- 2\n") == [
        "exp.yaml:1:1: an experiment is a mapping with version, title and faults; this is a list"
    ]


def test_binary_garbage() -> None:
    [problem] = _problems(b"version: 1\n\xff\xfe\x00garbage")
    assert problem.startswith("exp.yaml:2:1: not UTF-8 text")


def test_nul_bytes() -> None:
    [problem] = _problems(b"version: 1\ntitle: \x00\n")
    assert problem.startswith("exp.yaml:2:1: the file contains NUL bytes")


def test_invalid_yaml_syntax() -> None:
    [problem] = _problems("version: 1\ntitle: [unclosed\nfaults: []\n")
    assert problem.startswith("exp.yaml:")
    assert "invalid YAML" in problem


def test_multiple_documents() -> None:
    [problem] = _problems(MINIMAL + "---\n" + MINIMAL)
    assert "invalid YAML" in problem


def test_duplicate_key_in_yaml() -> None:
    [problem] = _problems("version: 1\ntitle: a\ntitle: b\nfaults: [{kind: unavailable}]\n")
    assert problem == "exp.yaml:3:1: duplicate key 'title' (first given at line 2)"


def test_duplicate_key_in_json(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text(
        '{\n  "version": 1,\n  "title": "a",\n  "faults": [{"kind": "unavailable", "kind": "throttle"}]\n}\n'
    )
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}:4:38: duplicate key 'kind' (first given at line 4)"]


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "version": 1,\n  "title": "a",,\n}\n')
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    assert str(caught.value.problems[0]).startswith(f"{path}:3:16: invalid JSON: ")


def test_yaml_merge_keys_work() -> None:
    text = (
        "version: 1\ntitle: t\nfaults:\n  - &base {kind: unavailable, service: s3, region: us-east-1, for: 10s}\n"
        "  - <<: *base\n    kind: throttle\n    after: 10s\n"
    )
    experiment = parse_experiment(text)
    assert [f.kind.value for f in experiment.faults] == ["unavailable", "throttle"]
    assert experiment.faults[1].after == 10.0 and experiment.faults[1].service == ("s3",)


def _bounded(action: object) -> tuple[float, int]:
    tracemalloc.start()
    started = time.process_time()
    with contextlib.suppress(ExperimentError):
        action()  # type: ignore[operator]
    elapsed = time.process_time() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak


def test_billion_laughs_is_refused_quickly_with_bounded_memory() -> None:
    bomb = 'version: 1\ntitle: t\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for level in "bcdefghi":
        bomb += f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = level
    bomb += "faults: [{kind: unavailable}]\n"
    problems: list[str] = []

    def parse() -> None:
        try:
            parse_experiment(bomb)
        except ExperimentError as exc:
            problems.extend(str(problem) for problem in exc.problems)

    elapsed, peak = _bounded(parse)
    assert "expands to more than 200,000 values (a YAML alias bomb?)" in problems[0]
    assert peak < 100 * 1024 * 1024
    assert elapsed < 10  # a guard against exponential blow-up, not a performance figure


def test_a_50_mb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(MINIMAL.encode())
        handle.write(b"# " + b"x" * (50 * 1024 * 1024) + b"\n")
    _, peak = _bounded(lambda: load_experiment(path))
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    assert (
        str(caught.value)
        == f"{path}:1:1: the file is 52.4 MB; experiment files are limited to {MAX_FILE_BYTES // 2**20} MiB"
    )
    assert peak < 10 * 1024 * 1024


def test_deep_nesting_is_refused() -> None:
    deep = "version: 1\ntitle: t\nfaults: [{kind: unavailable}]\ndescription: " + "[" * 5000 + "]" * 5000 + "\n"
    problems = _problems(deep)
    assert "nest" in problems[0]  # libyaml's own limit, or ours


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ExperimentError) as caught:
        load_experiment(tmp_path / "missing.yaml")
    assert "cannot read the file" in str(caught.value)


# -- only regular files are read ----------------------------------------------------------------------
def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def _in_a_thread(action: object, seconds: float = 5.0) -> BaseException | None:
    """Run ``action``; fail the test, instead of hanging it, if it blocks."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            action()  # type: ignore[operator]
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, "blocked: a special file was opened or read"
    return outcome[0]


def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    path = _fifo(tmp_path)
    error = _in_a_thread(lambda: load_experiment(path))
    assert isinstance(error, ExperimentError)
    assert str(error) == f"{path}:1:1: this is a FIFO (named pipe), not a regular file: nothing was read from it"


def test_a_symlink_to_a_fifo_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(_fifo(tmp_path))
    error = _in_a_thread(lambda: load_experiment(link))
    assert isinstance(error, ExperimentError) and "a FIFO (named pipe)" in str(error)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExperimentError) as caught:
        load_experiment(tmp_path)
    assert str(caught.value) == f"{tmp_path}:1:1: this is a directory, not a regular file: nothing was read from it"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_refused_not_read_forever() -> None:
    error = _in_a_thread(lambda: read_regular_file("/dev/zero"))
    assert isinstance(error, FileReadError) and "a character device" in str(error)


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(FileReadError, match="this is a socket"):
            read_regular_file(path)


def test_a_path_swapped_for_a_fifo_after_the_check_is_refused_once_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The path passes the first check (stat says: a small regular file), then turns out to be a FIFO:
    # opened non-blocking, it does not hang, and fstat refuses it.
    regular = tmp_path / "regular.yaml"
    regular.write_text(MINIMAL)
    fifo = _fifo(tmp_path)
    real_stat = os.stat
    monkeypatch.setattr(chaos.loading.os, "stat", lambda path: real_stat(regular) if path == fifo else real_stat(path))
    error = _in_a_thread(lambda: read_regular_file(fifo))
    assert isinstance(error, FileReadError) and "a FIFO (named pipe)" in str(error)


def test_read_regular_file_for_other_files_such_as_journals(tmp_path: Path) -> None:
    journal = tmp_path / "run.json"
    journal.write_bytes(b'{"status": "passed"}')
    assert read_regular_file(journal, 1024, what="journals") == b'{"status": "passed"}'
    with pytest.raises(FileReadError) as caught:
        read_regular_file(journal, 10, what="journals")
    assert str(caught.value) == f"{journal}:1:1: the file is 20 bytes; journals are limited to 10 bytes"
    assert isinstance(caught.value, ConfigError)
    assert (caught.value.path, caught.value.reason) == (
        str(journal),
        "the file is 20 bytes; journals are limited to 10 bytes",
    )
    missing = tmp_path / "missing.json"
    with pytest.raises(FileReadError, match=r"missing.json:1:1: cannot read the file: No such file or directory$"):
        read_regular_file(missing, what="journals")
    with pytest.raises(FileReadError, match=r":1:1: cannot read the file: embedded null byte$"):
        read_regular_file("bad\0name.json")


def test_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(MINIMAL)
    path.chmod(0)
    if os.access(path, os.R_OK):
        pytest.skip("running as root: permissions are not enforced")
    with pytest.raises(ExperimentError, match="cannot read the file: Permission denied"):
        load_experiment(path)


def test_aliases_of_one_long_string_are_checked_once() -> None:
    # 111,110 uses of a 1,000,000-character string: under the value limit, and checked once, not each use.
    text = 'version: 1\ntitle: t\nfaults: [{kind: unavailable}]\nx:\n  - &s "' + "x" * 1_000_000 + '"\n'
    previous = "s"
    for level in range(1, 6):
        text += f"  - &l{level} [" + ", ".join([f"*{previous}"] * 10) + "]\n"
        previous = f"l{level}"
    elapsed, _ = _bounded(lambda: parse_experiment(text))
    assert elapsed < 10  # a guard against re-checking the string at every use (minutes before), not a figure


def test_merge_keys_do_not_hide_an_alias_bomb_below_the_depth_limit() -> None:
    bomb = "version: 1\ntitle: t\nfaults: [{kind: unavailable}]\nx: " + "{<<: " * 70 + "{k: [&l0 [" + ",".join("a" * 10) + "]"
    for level in range(1, 7):
        bomb += f", &l{level} [" + ",".join([f"*l{level - 1}"] * 10) + "]"
    bomb += "]}" + "}" * 70 + "\n"
    from chaos import documents

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the document was built: the scan before building missed the bomb")

    with mock.patch.object(documents._YamlBuilder, "build", never):
        problems = _problems(bomb)
    assert "expands to more than 200,000 values (a YAML alias bomb?)" in problems[0]
