"""A WSGI application for the monitoring-isolation test: the resilient demo service, run in-process on
moto, while the alarm a stop condition watches lives in a CloudWatch of its own (a moto server whose URL
is in CHAOS_TEST_CLOUDWATCH), as a real alarm lives outside the application's AWS."""

from __future__ import annotations

from typing import Any

from chaos.demo.wsgi import resilient


def application() -> Any:
    """The resilient demo service."""
    return resilient()
