"""The runner's monitoring never shares the outage: a stop condition's CloudWatch client keeps working
under a region outage of every service with the global endpoints, and configured endpoint URLs (a
gateway's) never capture it."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path

import boto3
import pytest

import chaos
from chaos.injectors.exempt import exempt
from chaos.loading import parse_experiment
from chaos.verify.stop import AlarmRef, monitoring_client

EXPERIMENT = """
version: 1
title: monitoring under a region outage
app: {wsgi: "tests.verify.isolated_app:application", url: "http://127.0.0.1:{port}"}
load: {rate: 20, requests: [{method: GET, path: "/docs/{id}"}], ids: 10}
phases: {baseline: 0.5s, recovery: 0.5s}
faults:
  - {kind: connection_error, service: "*", region: us-east-1, include_global: true, for: 6s}
stop_when:
  - {name: alarm, cloudwatch_alarm: {name: api-5xx, region: us-east-1, endpoint_url: "ENDPOINT"}}
"""


def test_the_alarm_is_read_through_a_region_outage_of_every_service(tmp_path: Path, moto_server: str) -> None:
    cloudwatch = exempt(boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=moto_server))
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
    cloudwatch.set_alarm_state(AlarmName="api-5xx", StateValue="OK", StateReason="calm")
    tripped: list[float] = []

    def trip() -> None:  # the alarm goes off during the outage
        tripped.append(time.time())
        cloudwatch.set_alarm_state(AlarmName="api-5xx", StateValue="ALARM", StateReason="5xx storm")

    timer = threading.Timer(3.5, trip)
    timer.start()
    try:
        experiment = parse_experiment(EXPERIMENT.replace("ENDPOINT", moto_server))
        result = chaos.run_experiment(experiment, journal_path=tmp_path / "j.json")
    finally:
        timer.cancel()
    journal = json.loads((tmp_path / "j.json").read_text())
    # Had the outage reached the monitoring client, the condition would have fired at once as
    # "cannot be checked"; it fired when the alarm did, and only then.
    assert result.status == "aborted", result.reason
    assert "alarm api-5xx is in ALARM" in journal["reason"], journal["reason"]
    assert "cannot be checked" not in journal["reason"]
    [fired] = [event for event in journal["timeline"] if event["event"] == "stop_condition"]
    assert tripped and datetime.fromisoformat(fired["at"]).timestamp() >= tripped[0]  # not before the alarm did


def test_a_configured_endpoint_url_never_captures_the_monitoring_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # a shell set up for a gateway
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:9")
    client = monitoring_client(AlarmRef(name="a", region="eu-west-1"))
    assert client.meta.endpoint_url == "https://monitoring.eu-west-1.amazonaws.com"
    assert boto3.client("cloudwatch", region_name="eu-west-1").meta.endpoint_url == "http://127.0.0.1:9"
