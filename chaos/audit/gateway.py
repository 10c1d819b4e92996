"""An audit from a running gateway's ledger (``GET /_chaos/ledger``): for applications in any language.

The gateway sees every call its clients send, whatever their SDK, but less about each than the
in-process hook: the region is the one the request is signed for (global services such as IAM
count as ``aws-global``, as in-process), there is no client configuration (no ``no_timeout`` or ``no_retry_budget``
finding) and no code location (no ``monitoring_shares_fate``). Calls of global services (IAM,
Route 53, CloudFront...) are counted as calls to a global endpoint. Counts per service, region
and operation are exact; buckets and retries come from the ledger's events, which keep the most
recent calls only: when there were more calls than events, the report says so.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import defaultdict
from typing import Any

from chaos.audit.findings import AuditReport, analyse
from chaos.audit.observe import Observation
from chaos.engine.botodata import global_services
from chaos.errors import ConfigError

__all__ = ["audit_gateway", "observations_from_ledger", "read_ledger"]


def read_ledger(endpoint: str, token: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """The gateway's ledger as JSON; ConfigError when it cannot be read."""
    url = f"{endpoint.rstrip('/')}/_chaos/ledger"
    request = urllib.request.Request(url, method="GET")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            detail = exc.read().decode(errors="replace")[:200]
        raise ConfigError(f"the gateway at {endpoint} answered {exc.code} to GET /_chaos/ledger: {detail}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the ledger of the gateway at {endpoint}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("counts"), list):
        raise ConfigError(f"{url} did not answer with a ledger (no 'counts')")
    return data


def _observation(
    service: str, region: str, operation: str, bucket: str | None, calls: int, retries: int
) -> Observation:
    return Observation(
        service,
        region,
        operation,
        None if bucket is None else "bucket",
        bucket,
        "",
        service in global_services(),
        None,
        None,
        calls,
        retries,
        0.0,
        None,
    )


def observations_from_ledger(ledger: dict[str, Any]) -> tuple[list[Observation], list[str]]:
    """Observations from a ledger's JSON, and notes on what they cannot say."""
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in ledger.get("counts", []):
        counts[(str(row["service"]), str(row["region"]), str(row["operation"]))] += int(row["count"])
    events = [event for event in ledger.get("events", []) if isinstance(event, dict)]
    total = sum(counts.values())
    notes = [
        "from a gateway's ledger: no client settings (timeouts, retry mode) and no code locations are known, "
        "and the region is the one each request was signed for"
    ]
    if events and len(events) >= total:  # every call is in the events: buckets and retries are exact
        per: dict[tuple[str, str, str, str | None], list[int]] = defaultdict(lambda: [0, 0])
        for event in events:
            key = (str(event["service"]), str(event["region"]), str(event["operation"]), event.get("bucket"))
            per[key][0] += 1
            per[key][1] += int(event.get("attempt") or 1) > 1
        return [_observation(*key, calls, retries) for key, (calls, retries) in per.items()], notes
    buckets = sorted({str(event["bucket"]) for event in events if event.get("bucket")})
    if buckets:
        notes.append(
            f"the ledger keeps the last {len(events)} of {total} calls, so calls are not counted per bucket; "
            f"buckets seen in those: {', '.join(buckets)}"
        )
    found = [
        _observation(service, region, operation, None, calls, 0)
        for (service, region, operation), calls in counts.items()
    ]
    return found, notes


def audit_gateway(endpoint: str, token: str | None = None) -> AuditReport:
    """The audit report of what a running gateway has seen so far."""
    observations, notes = observations_from_ledger(read_ledger(endpoint, token))
    return analyse(observations, source=f"the gateway at {endpoint}", notes=notes)
