"""The experiment model refuses, with a located message, every value the run could not use.

"Everything ``outage validate`` accepts, ``outage run`` can run": each case here once passed
validation and then crashed a run (or was silently meaningless).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from chaos.loading import ExperimentError, parse_experiment
from chaos.model import MAX_WEIGHT, App, RequestSpec

FAULT = {"kind": "unavailable", "service": "s3", "region": "us-east-1", "for": "1s"}


def _experiment(**sections: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": 1,
        "title": "t",
        "app": {"wsgi": "tests.apps:ok", "url": "http://127.0.0.1:{port}"},
        "load": {"rate": 5, "requests": [{"path": "/docs/{id}"}]},
        "faults": [FAULT],
    }
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(document.get(name), dict):
            document[name] = {**document[name], **value}
        else:
            document[name] = value
    return document


def _request(**fields: Any) -> dict[str, Any]:
    return {"requests": [{"path": "/docs/{id}", **fields}]}


def _text(document: dict[str, Any]) -> tuple[str, str]:
    try:
        return json.dumps(document, allow_nan=False), "exp.json"
    except ValueError:  # infinities: YAML has them (.inf), JSON does not
        return yaml.safe_dump(document), "exp.yaml"


def _problem(document: dict[str, Any]) -> str:
    with pytest.raises(ExperimentError) as caught:
        parse_experiment(*_text(document))
    [problem] = caught.value.problems
    return str(problem)


def _accepted(document: dict[str, Any]) -> None:
    parse_experiment(*_text(document))


REFUSED = [
    # the application's URL, with {port} replaced by any port
    ({"app": {"url": "http://127.0.0.1:{port}0"}}, "app.url", "Port out of range"),
    ({"app": {"url": "http://[::1:{port}"}}, "app.url", "Invalid IPv6 URL"),
    ({"app": {"url": "http://127.0.0.1:{port:d}"}}, "app.url", "write {port} instead of {port:d}"),
    ({"app": {"url": "http://caf\u00e9.local:{port}"}}, "app.url", "printable ASCII"),
    ({"app": {"url": "http://a..b:{port}"}}, "app.url", "label empty"),
    ({"app": {"url": "http://:{port}"}}, "app.url", "names no host"),
    ({"app": {"url": "http://127.0.0.1:{port}/?x=1"}}, "app.url", "no user, query or #"),
    ({"app": {"url": "http://127.0.0.1:{port}/a b"}}, "app.url", "printable ASCII"),
    # paths sent as written
    ({"app": {"ready": "/h\u00e9alth"}}, "app.ready", "percent-encode"),
    ({"app": {"health": "/status page"}}, "app.health", "'/status%20page'"),
    ({"steady_state": [{"name": "p", "http": {"path": "/caf\u00e9"}}]}, "steady_state[0].http.path", "'/caf%C3%A9'"),
    ({"steady_state": [{"name": "p", "http": {"path": "health"}}]}, "steady_state[0].http.path", "starting with '/'"),
    ({"load": {"requests": [{"path": "/d\u00f6cs/{id}"}]}}, "load.requests[0].path", "percent-encode"),
    # the process environment and command
    ({"app": {"wsgi": None, "command": ["app", "--x\u0000"]}}, "", "NUL character"),  # the loader's rule
    ({"app": {"wsgi": None, "command": [""]}}, "app.command", "is empty"),
    ({"app": {"env": {"A=B": "1"}}}, "app.env", "not an environment variable name"),
    ({"app": {"env": {"": "1"}}}, "app.env", "not an environment variable name"),
    ({"app": {"env": {"1A": "1"}}}, "app.env", "not an environment variable name"),
    ({"app": {"env": {"A\u0000": "1"}}}, "", "NUL character"),  # refused by the loader, before the model
    ({"app": {"cwd": "/tmp/\udc80"}}, "", "lone surrogate"),
    ({"app": {"wsgi": "a..b:app"}}, "app.wsgi", "is not 'module:attribute'"),
    ({"app": {"wsgi": ".a:app"}}, "app.wsgi", "is not 'module:attribute'"),
    # load requests
    ({"load": _request(weight=1e309)}, "load.requests[0].weight", "finite"),
    ({"load": _request(weight=MAX_WEIGHT * 2)}, "load.requests[0].weight", "less than or equal to 1000000"),
    ({"load": _request(weight=0)}, "load.requests[0].weight", "greater than 0"),
    ({"load": _request(headers={"X-A": "a\r\nInjected: 1"})}, "load.requests[0].headers", "on one line"),
    ({"load": _request(headers={"X-A\r\nB": "1"})}, "load.requests[0].headers", "is not a header name"),
    ({"load": _request(headers={"X-Mood": "\U0001f600"})}, "load.requests[0].headers", "printable ASCII"),
    ({"load": _request(headers={"\U0001f600": "1"})}, "load.requests[0].headers", "is not a header name"),
    ({"load": _request(headers={"Content-Length": "5"})}, "load.requests[0].headers", "set by the load generator"),
    ({"load": {"rate": 1e-300}}, "load.rate", "greater than or equal to 0.01"),
    ({"load": {"timeout": 0}}, "load.timeout", "longer than 0s"),
    ({"load": {"concurrency": 5000}}, "load.concurrency", "less than or equal to 1024"),
    ({"load": {"ids": 10**12}}, "load.ids", "less than or equal to 10000000"),
    # statuses, versions, phases
    ({"expect": {"graceful_statuses": [99999999999]}}, "expect.graceful_statuses[0]", "statuses are 100-599"),
    ({"expect": {"graceful_statuses": -1}}, "expect.graceful_statuses", "statuses are 100-599"),
    ({"expect": {"graceful_statuses": [503, 600]}}, "expect.graceful_statuses[1]", "statuses are 100-599"),
    ({"steady_state": [{"name": "p", "http": {"path": "/", "status": 99}}]}, "steady_state[0].http.status", "100-599"),
    (
        {"steady_state": [{"name": "p", "http": {"path": "/", "status": []}}]},
        "steady_state[0].http.status",
        "at least 1",
    ),
    ({"steady_state": [{"name": "p", "http": {"path": "/", "timeout": 0}}]}, "steady_state[0].http.timeout", "> 0"),
    ({"version": True}, "version", "must be the integer 1"),
    ({"version": 1.0}, "version", "must be the integer 1"),
    ({"version": "1"}, "version", "must be the integer 1"),
    ({"version": 2}, "version", "must be the integer 1"),
    ({"phases": {"faults": 0}}, "phases.faults", "longer than 0s"),
    ({"faults": [{**FAULT, "for": 0}]}, "faults[0].for", "never fires"),
    ({"seed": 2**32}, "seed", "less than 4294967296"),
    ({"expect": {"retry_amplification": 1e309}}, "expect.retry_amplification", "finite"),
    ({"guardrails": {"max_concurrent_faults": 10**9}}, "guardrails.max_concurrent_faults", "1000"),
    ({"iam": {"targets": [{"role": "arn:aws:iam::1:role/x"}]}}, "iam.targets[0].role", "is not an IAM role name"),
]


@pytest.mark.parametrize(("sections", "path", "message"), REFUSED, ids=[f"{c[1]}-{c[2]}" for c in REFUSED])
def test_refused_with_a_located_message(sections: dict[str, Any], path: str, message: str) -> None:
    problem = _problem(_experiment(**sections))
    assert re.match(r"exp\.(json|yaml):\d+:\d+: ", problem), problem
    if path:
        assert f": {path}: " in problem, problem
    assert message.replace("> 0", "longer than 0s") in problem, problem


ACCEPTED = [
    {"app": {"url": "http://[::1]:{port}/prefix"}},
    {"app": {"url": "https://localhost:{port}"}},
    {"app": {"url": "http://xn--caf-dma.local:{port}"}},
    {"app": {"ready": "/h%C3%A9alth?full=1", "health": "/status%20page"}},
    {"app": {"wsgi": None, "command": ["python", "-m", "app", "--port={port}", "\u00e9t\u00e9"], "cwd": "/tmp"}},
    {"app": {"env": {"_X": "", "LANG": "fr_FR.UTF-8", "GREETING": "h\u00e9 ho \U0001f600"}}},
    {"load": _request(weight=MAX_WEIGHT, headers={"X-Trace": "a b\tc", "Accept": "*/*"}, body="caf\u00e9 {id}")},
    {"load": {"rate": 0.01, "timeout": "1ms"}},
    {"expect": {"graceful_statuses": [100, 599]}},
    {"expect": {"graceful_statuses": []}},
    {"phases": {"faults": "1ms"}, "faults": [{**FAULT, "for": "1ms"}]},
]


@pytest.mark.parametrize("sections", ACCEPTED)
def test_accepted(sections: dict[str, Any]) -> None:
    _accepted(_experiment(**sections))


def test_the_same_rules_hold_from_python() -> None:
    with pytest.raises(ValueError, match="percent-encode"):
        RequestSpec(path="/caf\u00e9")
    with pytest.raises(ValueError, match="NUL"):
        App(command=("app",), url="http://127.0.0.1:{port}", env={"A": "x\0y"})
