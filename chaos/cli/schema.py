"""``outage schema``: the JSON Schema of the experiment format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chaos.cli.helptext import OutageCommand

__all__ = ["app"]

app = typer.Typer()


@app.command("schema", cls=OutageCommand)
def schema(
    output: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option("--output", "-o", metavar="FILE", help="Write to this file instead of standard output."),
    ] = None,
    suite: Annotated[bool, typer.Option("--suite", help="The schema of game-day suite files instead.")] = False,
) -> None:
    """Print the JSON Schema (draft 2020-12) of experiment files (or suite files), for editors and CI."""
    from chaos.schema import schema_text  # pydantic: only when it runs

    text = schema_text(suite)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
