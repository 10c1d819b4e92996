"""``outage validate FILE...``: check experiment files, report every error with its location."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chaos import exits
from chaos.cli.helptext import OutageCommand

__all__ = ["app"]

app = typer.Typer()


@app.command("validate", cls=OutageCommand)
def validate(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE...", help="Experiment files (YAML or JSON).", show_default=False)
    ],
) -> None:
    """Check experiment files and report every error as FILE:LINE:COLUMN: field.path: message.

    Exit 0 when every file is valid, 2 otherwise.
    """
    from chaos.cli.common import echo_problems
    from chaos.loading import ExperimentError, load_experiment  # pydantic, PyYAML: only when it runs

    failed = 0
    for file in files:
        try:
            experiment = load_experiment(file)
        except ExperimentError as exc:
            failed += 1
            echo_problems(exc)
            continue
        count = len(experiment.faults)
        typer.echo(f"{file}: ok ({count} fault{'s' if count != 1 else ''}: {experiment.title})")
    if failed:
        typer.echo(f"{failed} of {len(files)} file{'s' if len(files) != 1 else ''} invalid", err=True)
        raise typer.Exit(exits.INVALID)
