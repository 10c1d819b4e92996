"""``outage audit -- COMMAND...`` and ``outage audit --endpoint URL``: the AWS dependencies a program has."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from chaos import exits
from chaos.cli.helptext import OutageCommand

__all__ = ["app"]

app = typer.Typer()


def _child_stdout(as_json: bool, output: Path | None) -> int | None:
    """Where the command's standard output goes: ours, except that a JSON report on stdout stays alone there."""
    if not as_json or output is not None:
        return None
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None  # no real stderr (a test runner): the command writes to the real stdout, the report to ours


@app.command("audit", cls=OutageCommand)
def audit(
    command: Annotated[
        Optional[list[str]],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Argument(
            help="The command to run, after '--' (a program, a test suite, a service).",
            show_default=False,
            metavar="COMMAND...",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    suggest: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Write the experiment files that would hurt most into this directory.", metavar="DIR"),
    ] = None,
    endpoint: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Instead of a command: audit what a running gateway has seen (its ledger).", metavar="URL"),
    ] = None,
    token: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(envvar="OUTAGE_TOKEN", metavar="TOKEN", help="The gateway's bearer token."),
    ] = None,
    for_: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--for", help="Stop the command after this long (SIGINT), e.g. 30s for a service.", metavar="DURATION"
        ),
    ] = None,
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write the report to this file instead of standard output."
        ),
    ] = None,
) -> None:
    """Report the AWS services, regions and resources a program calls, and its single-region dependencies.

    Runs COMMAND with the in-process hook recording every AWS call (no fault, nothing changed), in its Python
    subprocesses too, and reports each service, region, bucket, table, queue and endpoint it called, with the
    single-region dependencies, global endpoints, default timeouts, legacy retries and shared-fate monitoring
    that shows.

    Exits with the command's exit code; 2 for invalid input.
    """
    from chaos.audit import audit as run_audit
    from chaos.audit import audit_gateway, render_text, write_suggestions
    from chaos.engine.durations import parse_duration
    from chaos.errors import ConfigError

    if (endpoint is None) == (not command):
        typer.echo("give exactly one of a command after '--' or --endpoint URL", err=True)
        raise typer.Exit(exits.INVALID)
    try:
        duration = parse_duration(for_) if for_ is not None else None
    except ValueError as exc:
        typer.echo(f"--for: {exc}", err=True)
        raise typer.Exit(exits.INVALID) from None
    code = exits.OK
    try:
        if endpoint is not None:
            report = audit_gateway(endpoint, token)
        else:
            assert command is not None
            code, report = run_audit(command, duration=duration, stdout=_child_stdout(as_json, output))
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exits.INVALID) from None
    text = json.dumps(report.to_dict(), indent=2) + "\n" if as_json else render_text(report)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)
    if suggest is not None:
        written = write_suggestions(report, suggest)
        typer.echo(
            f"wrote {len(written)} experiment files into {suggest}: {', '.join(p.name for p in written)}", err=True
        )
    raise typer.Exit(code)
