"""What a hostile tester found in stop conditions and shared gateways, each now handled."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import chaos
from chaos.injectors.control import overlap
from chaos.injectors.remote import RemoteGatewayInjector
from chaos.loading import parse_experiment
from tests.injectors.gateway_helpers import Gateway, start_gateway

EXPERIMENT = """
version: 1
title: attacked stop
app: {{wsgi: "chaos.demo.wsgi:{variant}", url: "http://127.0.0.1:{{port}}"}}
load: {{rate: 20, timeout: 1s, requests: [{{method: GET, path: "/docs/{{id}}"}}], ids: 10}}
phases: {{baseline: 0.5s, recovery: 0.5s}}
faults:
  - {fault}
stop_when:
{conditions}
"""


@pytest.fixture
def drip() -> Iterator[str]:
    """A status page that answers one byte every half second, for ever."""
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            while not stop.wait(0.5):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/health"
    stop.set()
    server.shutdown()
    server.server_close()


def _run(tmp_path: Path, fault: str, conditions: str, variant: str = "resilient") -> dict[str, object]:
    text = EXPERIMENT.format(variant=variant, fault=fault, conditions=conditions)
    chaos.run_experiment(parse_experiment(text), journal_path=tmp_path / "j.json")
    return dict(json.loads((tmp_path / "j.json").read_text()))


def test_a_slow_check_never_blinds_the_others(tmp_path: Path, drip: str) -> None:
    started = time.monotonic()
    journal = _run(
        tmp_path,
        "{kind: unavailable, service: s3, region: us-east-1, for: 20s}",
        f'  - {{name: pager, http: {{url: "{drip}", timeout: 1s}}}}\n  - {{name: kill switch, command: ["false"]}}\n',
    )
    assert journal["status"] == "aborted"
    assert "stop condition 'kill switch' (command): false exited 1" in str(journal["reason"])
    assert time.monotonic() - started < 15  # not the 20 s fault phase


def test_a_dripping_status_page_stops_the_run(tmp_path: Path, drip: str) -> None:
    journal = _run(
        tmp_path,
        "{kind: unavailable, service: s3, region: us-east-1, for: 20s}",
        f'  - {{name: pager, http: {{url: "{drip}", timeout: 1s}}}}\n',
    )
    assert journal["status"] == "aborted" and "stop condition 'pager'" in str(journal["reason"])


def test_a_hung_application_trips_the_error_budget(tmp_path: Path) -> None:
    journal = _run(
        tmp_path,
        "{kind: latency, service: s3, region: us-east-1, latency: 30s, for: 20s}",
        "  - {name: error budget, availability_below: 0.5, for: 1s}\n",
        variant="naive",
    )
    assert journal["status"] == "aborted", journal["reason"]
    assert "stop condition 'error budget'" in str(journal["reason"])
    events = {event["event"]: event["t"] for event in journal["timeline"]}  # type: ignore[union-attr]
    assert events["faults_removed"] - events["stop_condition"] < 2  # the faults went at once


def test_a_deleted_alarm_stops_the_run(tmp_path: Path, moto_server: str) -> None:
    import boto3

    cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1", endpoint_url=moto_server)
    cloudwatch.put_metric_alarm(
        AlarmName="doomed",
        MetricName="m",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    timer = threading.Timer(2.5, lambda: cloudwatch.delete_alarms(AlarmNames=["doomed"]))
    timer.start()
    try:
        journal = _run(
            tmp_path,
            "{kind: unavailable, service: s3, region: us-east-1, for: 20s}",
            f'  - {{name: alarm, cloudwatch_alarm: {{name: doomed, region: eu-west-1, endpoint_url: "{moto_server}"}}}}\n',
        )
    finally:
        timer.cancel()
    assert journal["status"] == "aborted"
    assert "the alarm doomed is gone" in str(journal["reason"])


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    started = start_gateway()
    yield started
    started.stop()


def test_a_run_never_removes_a_fault_that_is_not_its_own_after_a_reset(gateway: Gateway) -> None:
    first = RemoteGatewayInjector(gateway.url, "aaaaaaaaaaaa")
    [ident] = first.arm([chaos.s3_outage("us-east-1", **{"for": "30s"})], hold=30)
    gateway.reset()
    second = RemoteGatewayInjector(gateway.url, "bbbbbbbbbbbb")
    assert second.arm([chaos.s3_outage("us-east-1", **{"for": "30s"})], hold=30) == [ident]  # the same id again
    assert first.remove([ident]) == []
    assert [item["run"] for item in gateway.control("GET", "/_chaos/faults")[1]["faults"]] == ["bbbbbbbbbbbb"]


def test_shared_gateway_faults_end_with_the_hold(gateway: Gateway) -> None:
    run = RemoteGatewayInjector(gateway.url, "cccccccccccc")
    run.arm([chaos.s3_outage("us-east-1")], hold=5)  # no 'for' of its own
    [listed] = gateway.control("GET", "/_chaos/faults")[1]["faults"]
    assert listed["fault"]["for"] == "5s" and 0 < listed["ends_in"] <= 5


def test_global_faults_overlap_across_the_ways_of_naming_them() -> None:
    iam_global = chaos.Fault(kind="unavailable", service="iam", region="aws-global")
    iam_include = chaos.Fault(kind="unavailable", service="iam", region="eu-west-1", include_global=True)
    assert overlap(iam_global, iam_include)


def test_an_error_budget_counts_answers_when_the_load_falls_behind() -> None:
    # A hung application with 4 requests in flight and a 1 s timeout takes 4 requests a second from a
    # schedule of 20: requests due in second 2 are sent and time out seconds later. Counted by the
    # second they were due in, every recent second would look empty (nothing to judge) for the whole
    # outage; counted by the second they were answered in, each second is 4 timeouts: the budget trips.
    from chaos.verify.log import RequestLog, Sample
    from chaos.verify.stop import StopCondition
    from chaos.verify.stopwatch import StopWatch

    log = RequestLog()
    now = [0.0]
    for index in range(4 * 8):  # 8 seconds of answers, 4 a second, due 5 per second (falling behind)
        due, answered = index / 20, 1.0 + index / 4
        log.add(Sample(due, answered - due, None, "timeout", "faults", "GET", str(index)))
    condition = StopCondition.model_validate({"name": "error budget", "availability_below": 0.5, "for": "2s"})
    watch = StopWatch([condition], lambda stopped: None, log=log, clock=lambda: now[0], origin=0.0)
    now[0] = 8.0
    assert watch._check(condition) == "availability below 50% for 2 s (at most 0.0%)"
    assert max(log.per_second) == 1  # what was due: nothing after second 1


def test_an_error_budget_fires_on_timeouts_that_come_in_bursts() -> None:
    # The default load (4 in flight, 5 s timeout) against a hung application: all four time out together,
    # so answers come every 5 s and most seconds hold none. Judged over the load's timeout, the budget trips.
    from chaos.verify.log import RequestLog, Sample
    from chaos.verify.stop import StopCondition
    from chaos.verify.stopwatch import StopWatch

    log = RequestLog()
    for burst in range(6):
        for worker in range(4):
            due = 5.0 * burst + 0.05 * worker
            log.add(Sample(due, 5.0, None, "timeout", "faults", "GET", f"{burst}-{worker}"))
    now = [0.0]
    condition = StopCondition.model_validate({"name": "error budget", "availability_below": 0.5, "for": "2s"})
    watch = StopWatch([condition], lambda stopped: None, log=log, clock=lambda: now[0], origin=0.0, window=5.0)
    fired = []
    for tick in range(64):
        now[0] = tick / 2
        if watch._check(condition) is not None:
            fired.append(now[0])
    assert fired and fired[0] <= 11.5, fired
    healthy = RequestLog()  # slow successes in the same bursts: never
    for burst in range(6):
        for worker in range(4):
            healthy.add(Sample(5.0 * burst + 0.05 * worker, 4.9, 200, None, "faults", "GET", f"{burst}-{worker}"))
    calm = StopWatch([condition], lambda stopped: None, log=healthy, clock=lambda: now[0], origin=0.0, window=5.0)
    assert all(calm._check(condition) is None for now[0] in [tick / 2 for tick in range(64)])
