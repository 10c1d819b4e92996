"""``outage inject``: a one-off fault into a running gateway, removed when it ends or on Ctrl-C."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Annotated, Any, Optional

import typer
import yaml
from pydantic import ValidationError

from chaos import exits
from chaos.cli.signals import stop_on_signals
from chaos.engine.durations import format_duration, parse_duration
from chaos.engine.fault import Fault
from chaos.loading import dotted, explain_validation

__all__ = ["app"]

app = typer.Typer()


def _call(endpoint: str, method: str, path: str, token: str | None, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{endpoint.rstrip('/')}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def _fault(text: str) -> Fault:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not YAML or JSON: {exc}") from None
    try:
        return Fault.model_validate(value)
    except ValidationError as exc:
        raise ValueError(
            "; ".join(f"{dotted(path) or 'fault'}: {msg}" for path, msg in explain_validation(exc, value, Fault))
        ) from None


@app.command("inject")
def inject(
    endpoint: Annotated[str, typer.Option(help="The gateway, e.g. http://127.0.0.1:4566.")],
    fault: Annotated[
        list[str],
        typer.Option(help="A fault as YAML or JSON, e.g. '{kind: unavailable, service: s3, region: us-east-1}'."),
    ],
    for_: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option("--for", help="How long to keep it (e.g. 30s); default: until Ctrl-C."),
    ] = None,
    token: Annotated[Optional[str], typer.Option(envvar="OUTAGE_TOKEN", help="The gateway's bearer token.")] = None,  # noqa: UP045
) -> None:
    """Arm faults in a running gateway, hold them for --for (or until Ctrl-C), then remove them."""
    try:
        faults = [_fault(text) for text in fault]
        seconds = parse_duration(for_) if for_ is not None else None
    except ValueError as exc:
        typer.echo(f"--fault: {exc}", err=True)
        raise typer.Exit(exits.INVALID) from None
    stop = stop_on_signals()
    body = [item.model_dump(mode="json", by_alias=True, exclude_defaults=True) for item in faults]
    try:
        ids = _call(endpoint, "POST", "/_chaos/faults", token, body)["ids"]
    except urllib.error.HTTPError as exc:
        typer.echo(f"{endpoint} refused the faults ({exc.code}): {exc.read().decode(errors='replace')}", err=True)
        raise typer.Exit(exits.INVALID) from None
    except OSError as exc:
        typer.echo(f"cannot reach the gateway at {endpoint}: {exc}", err=True)
        raise typer.Exit(exits.INVALID) from None
    held = f"for {format_duration(seconds)}" if seconds is not None else "until Ctrl-C"
    typer.echo(f"injected {', '.join(item.label for item in faults)} (ids {ids}) into {endpoint}, {held}")
    try:
        stop.wait(seconds)
    finally:
        removed = []
        for ident in ids:
            try:
                removed += _call(endpoint, "DELETE", f"/_chaos/faults/{ident}", token)["removed"]
            except urllib.error.HTTPError as exc:
                if exc.code != 404:  # 404: the gateway was reset meanwhile, nothing left to remove
                    raise
        typer.echo(f"removed fault ids {removed}")
