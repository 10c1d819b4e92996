"""The SDK demo: an S3 us-east-1 outage as boto3 sees it, while eu-west-1 keeps working.

Runs on moto's in-process AWS with fake credentials: nothing leaves the machine.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from moto import mock_aws
from rich.console import Console
from rich.table import Table

import chaos
from chaos.ledger import Ledger

__all__ = ["run_sdk_demo"]

_BUCKETS = {"us-east-1": "orders-us-east-1", "eu-west-1": "orders-eu-west-1"}


@contextmanager
def _fake_aws() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")}
    os.environ.update(AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _attempt(console: Console, label: str, call: Callable[[], Any]) -> bool:
    started = time.monotonic()
    try:
        call()
    except ClientError as exc:
        error, meta = exc.response["Error"], exc.response["ResponseMetadata"]
        console.print(
            f"  [red]✗[/] {label}: [bold]{type(exc).__name__}[/] {error['Code']} (HTTP {meta['HTTPStatusCode']}) "
            f"after {meta['RetryAttempts'] + 1} attempts, {time.monotonic() - started:.1f}s"
        )
        return False
    except BotoCoreError as exc:
        console.print(f"  [red]✗[/] {label}: [bold]{type(exc).__name__}[/] {exc}")
        return False
    console.print(f"  [green]✓[/] {label} ({time.monotonic() - started:.2f}s)")
    return True


def _attempts_table(ledger: Ledger) -> Table:
    table = Table(title="What botocore did, attempt by attempt (the injector's ledger)", title_justify="left")
    for column in ("t (s)", "region", "operation", "attempt", "outcome"):
        table.add_column(column)
    events = ledger.events()
    start = events[0].time if events else 0.0
    for event in events:
        style = "red" if event.fired else "green"
        table.add_row(
            f"{event.time - start:5.2f}",
            event.region,
            event.operation,
            str(event.attempt),
            f"[{style}]{event.outcome}[/]",
        )
    return table


def run_sdk_demo(console: Console | None = None) -> bool:
    """Run the demo; True when everything behaved as an outage should."""
    console = console or Console()
    config = Config(retries={"mode": "standard", "total_max_attempts": 3})
    with _fake_aws():
        clients: dict[str, Any] = {region: boto3.client("s3", region_name=region, config=config) for region in _BUCKETS}
        for region, bucket in _BUCKETS.items():
            extra: dict[str, Any] = {}
            if region != "us-east-1":
                extra["CreateBucketConfiguration"] = {"LocationConstraint": region}
            clients[region].create_bucket(Bucket=bucket, **extra)

        console.rule("[bold]S3 in us-east-1 goes dark (2017-02-28, rehearsed)")
        console.print("Fault: [bold]unavailable s3 us-east-1[/] — every S3 call to us-east-1 answers 503.")
        console.print("boto3 clients in [bold]standard[/] retry mode, 3 attempts, real backoff.\n")
        outcomes = []
        with chaos.inject(chaos.s3_outage("us-east-1"), seed=2017) as outage:
            for region, bucket in _BUCKETS.items():
                s3 = clients[region]
                works = region != "us-east-1"
                console.print(f"[bold]{region}[/]")
                put = functools.partial(s3.put_object, Bucket=bucket, Key="o-1", Body=b"x")
                outcomes.append(_attempt(console, "PutObject", put) == works)
                get = functools.partial(s3.get_object, Bucket=bucket, Key="o-1")
                outcomes.append(_attempt(console, "GetObject", get) == works)
        console.print()
        console.print(_attempts_table(outage.ledger))
        console.print()
        console.rule("[bold]The outage is over")
        east, east_bucket = clients["us-east-1"], _BUCKETS["us-east-1"]
        stored = east.list_objects_v2(Bucket=east_bucket).get("KeyCount", 0)
        console.print(
            f"Objects stored in us-east-1 by the failed writes: [bold]{stored}[/]"
            " (an injected error has no side effect)"
        )
        outcomes.append(stored == 0)
        put = functools.partial(east.put_object, Bucket=east_bucket, Key="o-1", Body=b"x")
        outcomes.append(_attempt(console, "us-east-1 PutObject", put))
        console.print(
            f"\nThe ledger saw {outage.ledger.total} attempts; the fault fired on {outage.ledger.fired} "
            f"({outage.ledger.calls(region='eu-west-1')} eu-west-1 attempts went through untouched)."
        )
    ok = all(outcomes)
    console.print("[bold green]Demo behaved as expected.[/]" if ok else "[bold red]Demo did not behave as expected.[/]")
    return ok
