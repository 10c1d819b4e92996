"""A WSGI application for the monitoring-isolation test: the resilient demo service, plus a CloudWatch
alarm created in the in-process AWS it runs on (the alarm a stop condition watches)."""

from __future__ import annotations

from typing import Any

import boto3

from chaos.demo.wsgi import resilient
from chaos.injectors.exempt import exempt


def application() -> Any:
    """The resilient demo, after creating the alarm ``api-5xx`` in us-east-1 (OK)."""
    cloudwatch = exempt(boto3.client("cloudwatch", region_name="us-east-1"))
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
    return resilient()
