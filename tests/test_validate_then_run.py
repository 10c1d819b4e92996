"""Everything ``outage validate`` accepts, ``outage run`` can run.

Hypothesis writes experiment files with hostile values where the run uses them (URLs and ports,
paths with unicode, headers with CRLF, environment variables with NULs, weights, statuses,
versions, phase lengths, numbers of thousands of digits, deep nesting) and checks that:

* loading ends in an ``Experiment`` or an ``ExperimentError`` with located problems, nothing else;
* for what loads, the code the runner then runs accepts it without an exception: the application's
  command and environment (``ProcessApp.start``, the process swapped for ``true``), its URL with
  ``{port}`` replaced, every load request as ``http.client`` encodes it, every probe;
* a few go through a real run (``chaos.run_experiment``) against a tiny in-process WSGI application;
* ``outage validate`` exits 0 or 2, never with a traceback, and does not hang on a FIFO.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import chaos
from chaos.apps import AppFailed, ProcessApp
from chaos.cli import app as cli
from chaos.loading import ExperimentError, parse_experiment
from chaos.model import Experiment
from chaos.verify.load import LoadGenerator, _Connection
from chaos.verify.log import RequestLog
from chaos.verify.probes import http_get, probe

TRUE = shutil.which("true") or "/bin/true"
runner = CliRunner()


# -- a tiny application for the real runs -------------------------------------------------------------
_STORE: dict[str, bytes] = {}
_STORE_LOCK = threading.Lock()


def tiny_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Answers everything: stores what is PUT or POSTed, returns it on GET; 'ok degraded' otherwise."""
    path, method = environ.get("PATH_INFO", "/"), environ["REQUEST_METHOD"]
    with _STORE_LOCK:
        if method in ("PUT", "POST"):
            size = int(environ.get("CONTENT_LENGTH") or 0)
            _STORE[path] = environ["wsgi.input"].read(size)
        body = _STORE.get(path, b"ok degraded") if method == "GET" else b"ok degraded"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


# -- documents, hostile and edge-valid ----------------------------------------------------------------
class Raw(str):
    """Text written into the file as it is (a 5,000-digit number, NaN, deep brackets), not as a string."""


HOSTILE_CHARS = "aZ09 \t\r\n\x00\x1b\x7f\u00e9\U0001f600\u2028{}%/?#:=[]@.-_~+\\\"'\ud800"
texts = st.text(alphabet=HOSTILE_CHARS, max_size=10)
raw_numbers = st.sampled_from(
    [
        "1" * 5000,
        "-" + "9" * 5000,
        "0x" + "f" * 200,
        "9007199254740992",
        "99999999999999999999",
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        ".inf",
        "1_000",
        "0o17",
        "1:30",
        "-0",
        "true",
    ]
).map(Raw)
numbers = st.one_of(
    st.integers(-(10**6), 10**6),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    raw_numbers,
)
durations = st.one_of(
    numbers, st.sampled_from(["0", "0s", "1ms", "0.2s", "10s", "-1s", "25h", "1e3s", "1 s", "\u221e"]), texts
)
deep = st.integers(0, 120).map(lambda depth: Raw("[" * depth + "]" * depth))


def mostly(valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any], one_in: int) -> st.SearchStrategy[Any]:
    """``valid`` but, about one time in ``one_in``, ``hostile``."""
    if one_in == 1:
        return hostile
    coins = max(1, round(math.log2(one_in)))  # hostile when every coin is heads; the simplest draw is valid
    return st.lists(st.booleans(), min_size=coins, max_size=coins).flatmap(
        lambda heads: hostile if all(heads) else valid
    )


def encoded(text: str) -> str:
    return quote(text, safe="/{}", errors="backslashreplace")


def strategies(one_in: int) -> dict[str, st.SearchStrategy[Any]]:
    """Field strategies: edge-valid values, hostile ones once in ``one_in`` (1: always hostile)."""
    unicode_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)
    valid_paths = st.one_of(
        st.sampled_from(["/docs/{id}", "/{id}", "/health", "/x?y=1&z=%C3%A9", "/{{id}}", "/a/{id}/b#frag"]),
        unicode_text.map(lambda text: "/" + encoded(text) + "/{id}"),
    )
    hostile_paths = st.one_of(
        texts,
        texts.map(lambda text: "/" + text),
        st.sampled_from(["/a b", "/\u00e9", "/{ id}", "/{id:x}", "/{port}", "docs", "/x\r\nHost: evil", "/\x00"]),
    )
    token = st.text("abcXYZ019-_.!#$%&'*+^`|~", min_size=1, max_size=8)
    valid_header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"), max_size=12)
    hostile_headers = st.dictionaries(
        texts | st.sampled_from(["Content-Length", "Transfer-Encoding", "X:Y", "x y", ""]), texts, max_size=3
    )
    valid_urls = st.builds(
        "{}://{}:{}{}".format,
        st.sampled_from(["http", "https"]),
        st.sampled_from(["127.0.0.1", "localhost", "[::1]", "xn--caf-dma.localhost"]),
        st.sampled_from(["{port}", "0{port}"]),
        st.one_of(st.just(""), st.just("/"), unicode_text.map(lambda text: "/" + encoded(text))),
    )
    hostile_urls = st.one_of(
        texts,
        st.builds(
            "http://{}{}{}".format,
            st.sampled_from(["127.0.0.1", "[::1", "[zz]", "..", "a..b", "x" * 70, "caf\u00e9", "", "u@h"]) | texts,
            st.sampled_from([":{port}", ":{port}0", ":1{port}", ":{port:d}", ":{port!r}", ":99999", "", ":{id}"]),
            st.sampled_from(["", "/", "?q=1", "#f", "/a b", "/\u00e9"]) | texts,
        ),
    )
    env_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
    statuses = st.integers(100, 599)
    return {
        "version": mostly(st.just(1), st.one_of(numbers, st.booleans(), texts, st.just(1.0)), one_in),
        "seed": mostly(st.integers(0, 2**32 - 1), numbers, one_in),
        "url": mostly(valid_urls, hostile_urls, one_in),
        "path": mostly(valid_paths, hostile_paths, one_in),
        "probe_path": mostly(valid_paths.map(lambda path: path.replace("{id}", "7")), hostile_paths, one_in),
        "headers": mostly(st.dictionaries(token, valid_header_values, max_size=3), hostile_headers, one_in),
        "env": mostly(
            st.dictionaries(env_names, unicode_text, max_size=3),
            st.dictionaries(texts | st.sampled_from(["A=B", "", "1A"]), texts, max_size=3),
            one_in,
        ),
        "command": mostly(
            st.lists(unicode_text | st.sampled_from(["--port", "{port}", "--url=http://127.0.0.1:{port}"]), max_size=3),
            st.lists(texts, max_size=3),
            one_in,
        ).map(lambda words: ["app", *words]),
        "weight": mostly(
            st.floats(min_value=1e-9, max_value=1e6) | st.integers(1, 10**6), numbers | st.just(0), one_in
        ),
        "statuses": mostly(statuses | st.lists(statuses, max_size=3), numbers | st.lists(numbers, max_size=3), one_in),
        "probe_statuses": mostly(statuses | st.lists(statuses, min_size=1, max_size=3), numbers, one_in),
        "rate": mostly(st.floats(min_value=0.01, max_value=10_000) | st.integers(1, 10_000), numbers, one_in),
        "concurrency": mostly(st.integers(1, 1024), numbers, one_in),
        "ids": mostly(st.integers(1, 10_000_000), numbers, one_in),
        "duration": mostly(st.sampled_from(["1ms", "0.2s", "10s", 3, 0.5, "2m"]), durations, one_in),
        "phase": mostly(st.sampled_from(["1ms", "0.3s", 1, "20s"]), durations, one_in),
        "fault_phase": mostly(st.sampled_from(["20s", 30, "1m"]), durations, one_in),
        "body": mostly(unicode_text.map(lambda text: text + " {id}"), texts, one_in),
        "description": mostly(unicode_text, deep | numbers | texts, one_in),
    }


def documents(one_in: int) -> st.SearchStrategy[dict[str, Any]]:
    field = strategies(one_in)
    request = st.fixed_dictionaries(
        {"path": field["path"]},
        optional={
            "method": st.sampled_from(["GET", "PUT", "POST", "HEAD", "DELETE", "PATCH"]),
            "weight": field["weight"],
            "headers": field["headers"],
            "body": field["body"],
        },
    )
    app = st.fixed_dictionaries(
        {"url": field["url"], "command": field["command"]},
        optional={
            "env": field["env"],
            "ready": field["probe_path"],
            "health": field["probe_path"],
            "ready_timeout": field["duration"],
        },
    )
    load = st.fixed_dictionaries(
        {"rate": field["rate"], "requests": st.lists(request, min_size=1, max_size=3)},
        optional={"concurrency": field["concurrency"], "ids": field["ids"], "timeout": field["duration"]},
    )
    http_check = st.fixed_dictionaries(
        {"path": field["probe_path"]}, optional={"status": field["probe_statuses"], "timeout": field["duration"]}
    )
    fault = st.fixed_dictionaries(
        {"kind": st.just("unavailable"), "service": st.just("s3"), "region": st.just("us-east-1")},
        optional={"for": field["phase"]},
    )
    return st.fixed_dictionaries(
        {"version": field["version"], "title": st.just("t"), "faults": st.lists(fault, min_size=1, max_size=2)},
        optional={
            "seed": field["seed"],
            "description": field["description"],
            "steady_state": st.lists(st.fixed_dictionaries({"name": st.just("p"), "http": http_check}), max_size=2),
            "phases": st.fixed_dictionaries({}, optional={"faults": field["fault_phase"], "baseline": field["phase"]}),
            "expect": st.fixed_dictionaries({}, optional={"graceful_statuses": field["statuses"]}),
        },
    ).flatmap(lambda document: st.builds(lambda a, b: {**document, "app": a, "load": b}, app, load) | st.just(document))


def render(document: dict[str, Any], as_json: bool) -> tuple[str, str]:
    """The file's text and name; ``Raw`` values go in as written."""
    raws: list[str] = []

    def mark(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(str(value))
            return f"@@RAW{len(raws) - 1}@@"
        if isinstance(value, dict):
            return {key: mark(item) for key, item in value.items()}
        if isinstance(value, list):
            return [mark(item) for item in value]
        return value

    # JSON is YAML too: one text for both parsers (raw unicode for YAML: libyaml refuses escaped surrogate pairs)
    text = json.dumps(mark(document), ensure_ascii=as_json)
    for index, raw in enumerate(raws):
        text = text.replace(f'"@@RAW{index}@@"', raw)
    return text, ("exp.json" if as_json else "exp.yaml")


def load(text: str, name: str) -> Experiment | None:
    """The experiment, or None for a clean, located refusal; anything else fails the test."""
    try:
        experiment = parse_experiment(text, name)
    except ExperimentError as exc:
        problems = exc.problems
    else:
        event("loaded" + (" with app and load" if experiment.app else ""))
        return experiment
    assert problems
    for problem in problems:
        assert problem.file == name and problem.line >= 1 and problem.column >= 1 and problem.message
    event("refused: " + (problems[0].path or problems[0].message[:30]))
    return None


# -- the runner's code paths, without a network -------------------------------------------------------
class _FakeSocket:
    """Takes what http.client sends and answers 200; nothing leaves the process."""

    def __init__(self) -> None:
        self.sent = bytearray()

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nok degraded")

    def setsockopt(self, *args: object) -> None:
        pass

    def close(self) -> None:
        pass


SENT: list[_FakeSocket] = []


def _connect(self: Any) -> None:
    # What the socket layer does with the host (IDNA encoding) without asking DNS or connecting.
    with suppress(socket.gaierror):
        socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    self.sock = _FakeSocket()
    SENT.append(self.sock)


@contextmanager
def no_network() -> Iterator[None]:
    import http.client

    with mock.patch.object(http.client.HTTPConnection, "connect", _connect):
        yield


def _well_formed(sock: _FakeSocket, method: str, target: str) -> None:
    head = bytes(sock.sent).split(b"\r\n\r\n", 1)[0].decode("ascii")
    request_line, *headers = head.split("\r\n")
    assert request_line == f"{method} {target} HTTP/1.1", request_line
    for line in headers:
        name, colon, _ = line.partition(":")
        assert colon and name and not name[0].isspace(), f"a broken header line: {line!r}"


def start_process_app(experiment: Experiment) -> str:
    """``ProcessApp.start`` as the runner calls it, the command swapped for ``true``; the application's URL."""
    assert experiment.app is not None
    real = subprocess.Popen

    def popen(command: list[str], **options: Any) -> subprocess.Popen[bytes]:
        return real(command, executable=TRUE, **options)  # the real argument and environment checks

    process = ProcessApp(experiment.app, "http://127.0.0.1:1", lambda *args, **kwargs: None)
    with mock.patch.object(subprocess, "Popen", popen):
        try:
            return process.start()
        except AppFailed:  # e.g. a cwd that does not exist: a clean failure of the run (exit 3)
            return experiment.app.url.replace("{port}", "8080")
        finally:
            process.stop([])


def exercise(experiment: Experiment) -> None:
    """Everything the runner does with the file's values before and around the load."""
    app, load_spec = experiment.app, experiment.load
    if app is None or load_spec is None:
        return
    base_url = start_process_app(experiment) if app.command else app.url.replace("{port}", "8080")
    prefix = urlsplit(base_url).path.rstrip("/")
    log = RequestLog(graceful=experiment.expect.graceful_statuses)
    with no_network():
        generator = LoadGenerator(load_spec, base_url, log, seed=experiment.seed or 0)
        for _ in range(load_spec.concurrency + 1):  # the weighted choice and the waits of the first round
            due, _spec, _id = generator._slot()
            assert due - generator._start < threading.TIMEOUT_MAX
        for spec in load_spec.requests:
            SENT.clear()
            connection = _Connection(generator.host, generator.port, timeout=load_spec.timeout)
            generator._send(connection, 0.0, spec, "42")
            target = prefix + spec.path.replace("{id}", "42")
            _well_formed(SENT[-1], spec.method, target)
        assert log.total() == len(load_spec.requests) and log.failures() == 0, "every request was answered 200"
        for item in experiment.steady_state:
            assert probe(base_url, item.http).status == 200
        for path in (app.ready, app.health or app.ready):
            assert http_get(base_url + path)[0] == 200
        for spec in load_spec.requests:
            assert http_get(base_url + spec.path.replace("{id}", "42"))[0] == 200  # the durability read-back


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents(one_in=4), as_json=st.booleans())
def test_hostile_files_load_or_are_refused_cleanly(document: dict[str, Any], as_json: bool) -> None:
    experiment = load(*render(document, as_json))
    if experiment is not None:
        exercise(experiment)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents(one_in=40), as_json=st.booleans())
def test_what_loads_the_runner_can_use(document: dict[str, Any], as_json: bool) -> None:
    experiment = load(*render(document, as_json))
    if experiment is not None:
        exercise(experiment)


# Text without braces: a lone brace is an unbalanced placeholder, refused by validate (the cases above try it).
plain_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="{}"), max_size=6)


@given(
    url=st.sampled_from(["http://127.0.0.1:{port}", "http://127.0.0.1:{port}/pr%C3%A9fix/"]),
    requests=st.lists(
        st.fixed_dictionaries(
            {
                "method": st.sampled_from(["GET", "PUT", "POST", "HEAD"]),
                "path": plain_text.map(lambda text: "/" + encoded(text) + "/{id}"),
                "weight": st.sampled_from([1e-6, 1, 1e6]),
                "headers": st.sampled_from([{}, {"X-Trace": "a b\tc", "Accept": "*/*"}]),
                "body": plain_text.map(lambda text: text + " {id}"),
            }
        ),
        min_size=1,
        max_size=2,
    ),
    statuses=st.sampled_from([[100, 599], [], 503]),
)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_few_go_through_a_real_run(
    url: str, requests: list[dict[str, Any]], statuses: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    document = {
        "version": 1,
        "title": "validate then run",
        "seed": 2**32 - 1,
        "app": {"wsgi": f"{__name__}:tiny_app", "url": url, "ready": "/h%C3%A9alth", "env": {"IGNORED": "\u00e9"}},
        "load": {"rate": 40, "concurrency": 2, "requests": requests, "ids": 5, "timeout": "2s"},
        "steady_state": [{"name": "up", "http": {"path": "/%F0%9F%98%80?x=1", "status": [200, 599]}}],
        "phases": {"baseline": "0.2s", "faults": "0.3s", "recovery": "0.2s"},
        "faults": [{"kind": "unavailable", "service": "s3", "region": "us-east-1"}],
        "expect": {"graceful_statuses": statuses, "durability": True},
    }
    experiment = load(*render(document, as_json=True))
    assert experiment is not None
    journal = tmp_path_factory.mktemp("run") / "journal.json"
    result = chaos.run_experiment(experiment, injector="hook", journal_path=journal)
    assert result.exit_code in (0, 1, 3), result.reason
    assert result.rollback_complete
    assert "no request" not in result.reason


# -- the command line ---------------------------------------------------------------------------------
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(document=documents(one_in=3), as_json=st.booleans())
def test_outage_validate_exits_0_or_2_never_with_a_traceback(
    document: dict[str, Any], as_json: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text, name = render(document, as_json)
    path = tmp_path_factory.mktemp("cli") / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


HUGE_SEED = "version: 1\ntitle: t\nseed: " + "1" * 5000 + "\nfaults: [{kind: unavailable, service: s3}]\n"


@pytest.mark.parametrize(
    "command",
    [["validate"], ["plan"], ["plan", "--json"], ["run"], ["serve", "--port", "0", "--faults"]],
    ids=" ".join,
)
def test_every_command_refuses_a_5000_digit_seed_with_exit_2(command: list[str], tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(HUGE_SEED)
    result = runner.invoke(cli, [*command, str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"{path}:3:7: this number is 5,000 characters long" in result.output


def test_outage_validate_does_not_hang_on_a_fifo_a_directory_or_a_device(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"version": 1, "title": "t", "faults": []}).replace("[]", "1" * 5000))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "chaos", "validate", str(fifo), str(tmp_path), "/dev/null", str(huge)],
        capture_output=True,
        text=True,
        timeout=60,  # a FIFO opened for reading would block here forever
        env=env,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{fifo}:1:1: this is a FIFO (named pipe), not a regular file" in result.stderr
    assert f"{tmp_path}:1:1: this is a directory, not a regular file" in result.stderr
    assert "/dev/null:1:1: this is a character device, not a regular file" in result.stderr
    assert f"{huge}:1:" in result.stderr and "5,000 characters long" in result.stderr
    assert "4 of 4 files invalid" in result.stderr
