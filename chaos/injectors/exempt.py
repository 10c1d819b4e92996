"""Clients no injector touches: the runner's own monitoring (stop conditions, alarms).

The lesson of 2017's status page: the tool's monitoring must never share the outage it causes.
:func:`exempt` marks a botocore client; the hook injector passes its calls straight through, whatever
is armed (and its configured-endpoint settings keep it off the gateway).
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["EXEMPT_ATTRIBUTE", "exempt", "is_exempt"]

EXEMPT_ATTRIBUTE = "_chaos_exempt"
Client = TypeVar("Client")


def exempt(client: Client) -> Client:
    """Mark ``client`` (a boto3/botocore client) so that no injection applies to its calls; returns it."""
    endpoint: Any = getattr(client, "_endpoint", None)
    if endpoint is None:
        raise TypeError(f"{client!r} is not a botocore client")
    setattr(endpoint, EXEMPT_ATTRIBUTE, True)
    return client


def is_exempt(endpoint: Any) -> bool:
    """Whether calls through this botocore Endpoint are exempt from injection."""
    return bool(getattr(endpoint, EXEMPT_ATTRIBUTE, False))
