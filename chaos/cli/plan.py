"""``outage plan FILE``: what a run would inject, when and where; changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from chaos import exits
from chaos.cli.helptext import OutageCommand

__all__ = ["app"]

app = typer.Typer()


@app.command("plan", cls=OutageCommand)
def plan(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The experiment file.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    injector: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option(
            metavar="NAME",
            help="hook, gateway or iam (default: the experiment's, else gateway with an app, hook without).",
        ),
    ] = None,
) -> None:
    """Show the resolved timeline, the injector and the guardrails; change nothing.

    Exit 0; 2 if the file is invalid; 3 if a guardrail refuses the plan.
    """
    from chaos.cli.common import load_or_exit
    from chaos.errors import ConfigError
    from chaos.plan import make_plan  # the model, botocore's data, the IAM policies: only when it runs

    if injector is not None and injector not in ("hook", "gateway", "iam"):
        typer.echo(f"--injector: {injector!r} is not one of hook, gateway, iam", err=True)
        raise typer.Exit(exits.INVALID)
    experiment = load_or_exit(file)
    try:
        result = make_plan(experiment, source=str(file), injector=injector)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exits.INVALID) from None
    typer.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.render())
    if result.problems:
        for reason in result.problems:
            typer.echo(f"{file}: {reason}", err=True)
        raise typer.Exit(exits.INVALID)
    if not result.within_guardrails:
        for violation in result.guardrails.violations:
            typer.echo(f"refused by guardrail {violation}", err=True)
        raise typer.Exit(exits.REFUSED)
