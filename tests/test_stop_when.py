"""Stop conditions: each kind fires during a run, the run is rolled back within 2 s and ends aborted (exit 3)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import chaos
from chaos.injectors.hook import is_patched
from chaos.loading import parse_experiment

EXPERIMENT = """
version: 1
title: stopped {name}
app: {{wsgi: "chaos.demo.wsgi:{variant}", url: "http://127.0.0.1:{{port}}"}}
load:
  rate: 30
  requests:
    - {{method: GET, path: "/docs/{{id}}", weight: 2}}
    - {{method: PUT, path: "/docs/{{id}}", body: "doc {{id}}"}}
  ids: 20
phases: {{baseline: 0.5s, recovery: 1s}}
faults:
  - {{kind: unavailable, service: s3, region: us-east-1, for: 20s}}
stop_when:
  - {condition}
"""


def _run(tmp_path: Path, condition: str, variant: str = "resilient", name: str = "x") -> tuple[Any, dict[str, Any]]:
    text = EXPERIMENT.format(condition=condition, variant=variant, name=name)
    result = chaos.run_experiment(parse_experiment(text), journal_path=tmp_path / "j.json")
    return result, json.loads((tmp_path / "j.json").read_text())


def _seconds_to_rollback(journal: dict[str, Any]) -> float:
    events = {event["event"]: event["t"] for event in journal["timeline"]}
    return float(events["rollback"] - events["stop_condition"])


def _check_stopped(result: Any, journal: dict[str, Any], name: str, detail: str) -> None:
    assert (result.status, result.exit_code) == ("aborted", 3), result.reason
    assert f"stop condition {name!r}" in journal["reason"] and detail in journal["reason"], journal["reason"]
    assert journal["rollback"]["complete"] is True
    [fired] = [event for event in journal["timeline"] if event["event"] == "stop_condition"]
    assert fired["name"] == name
    assert _seconds_to_rollback(journal) < 2.0  # everything rolled back within 2 s of the condition
    assert not is_patched()


def test_the_kill_switch_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    switch = tmp_path / "STOP-THE-GAME-DAY"
    timer = threading.Timer(2.0, switch.touch)  # someone decides to stop, two seconds into the faults
    timer.start()
    try:
        result, journal = _run(tmp_path, '{name: kill switch, command: [test, "!", -e, STOP-THE-GAME-DAY]}')
    finally:
        timer.cancel()
    _check_stopped(result, journal, "kill switch", "exited 1")


@pytest.fixture
def pager() -> Iterator[tuple[str, threading.Event]]:
    """A status page on loopback that answers 200 until ``down`` is set, then 500."""
    down = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(500 if down.is_set() else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/health", down
    server.shutdown()
    server.server_close()


def test_a_failing_status_page_stops_the_run(tmp_path: Path, pager: tuple[str, threading.Event]) -> None:
    url, down = pager
    timer = threading.Timer(2.0, down.set)
    timer.start()
    try:
        result, journal = _run(tmp_path, f'{{name: pager, http: {{url: "{url}", status: 200}}, failures: 3}}')
    finally:
        timer.cancel()
    _check_stopped(result, journal, "pager", "answered 500 (3 times in a row)")


def test_an_error_budget_stops_a_naive_application(tmp_path: Path) -> None:
    result, journal = _run(tmp_path, "{name: error budget, availability_below: 0.5, for: 2s}", variant="naive")
    _check_stopped(result, journal, "error budget", "availability below 50% for 2 s")


def test_a_condition_that_never_holds_lets_the_run_finish(tmp_path: Path) -> None:
    text = EXPERIMENT.format(
        condition="{name: budget, availability_below: 0.1, for: 2s}", variant="resilient", name="ok"
    ).replace("for: 20s", "for: 2s")
    result = chaos.run_experiment(parse_experiment(text), journal_path=tmp_path / "j.json")
    assert result.status == "passed", result.reason
    journal = json.loads((tmp_path / "j.json").read_text())
    assert not any(event["event"] == "stop_condition" for event in journal["timeline"])


def test_a_missing_alarm_is_an_error_before_any_fault(tmp_path: Path, moto_server: str) -> None:
    result, journal = _run(
        tmp_path, f'{{name: alarm, cloudwatch_alarm: {{name: nope, region: eu-west-1, endpoint_url: "{moto_server}"}}}}'
    )
    assert (result.status, result.exit_code) == ("error", 3)
    assert "no alarm 'nope' in eu-west-1" in result.reason
    assert not any(event["event"] == "inject" for event in journal["timeline"])


def test_an_alarm_stops_the_run(tmp_path: Path, moto_server: str) -> None:
    import boto3

    cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1", endpoint_url=moto_server)
    cloudwatch.put_metric_alarm(
        AlarmName="api-5xx",
        MetricName="5xx",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )

    def trip() -> None:
        cloudwatch.set_alarm_state(AlarmName="api-5xx", StateValue="ALARM", StateReason="5xx storm")

    timer = threading.Timer(2.0, trip)
    timer.start()
    try:
        result, journal = _run(
            tmp_path,
            f'{{name: alarm, cloudwatch_alarm: {{name: api-5xx, region: eu-west-1, endpoint_url: "{moto_server}"}}}}',
        )
    finally:
        timer.cancel()
    _check_stopped(result, journal, "alarm", "alarm api-5xx is in ALARM")
