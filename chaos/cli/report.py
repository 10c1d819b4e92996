"""``outage report JOURNAL --format html|md|junit|json [-o PATH]``: render a run's journal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chaos import exits
from chaos.cli.helptext import OutageCommand

__all__ = ["app"]

app = typer.Typer()


@app.command("report", cls=OutageCommand)
def report(
    journal: Annotated[
        Path, typer.Argument(metavar="JOURNAL", help="A journal written by outage run.", show_default=False)
    ],
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="html, md, junit or json.")] = "md",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="PATH", help="Write here instead of standard output.")
    ] = None,
) -> None:
    """Render a journal: HTML (self-contained, with a timeline chart), Markdown, JUnit XML or JSON."""
    import json

    from chaos.journal import read_journal
    from chaos.report import FORMATS, render_report

    if format not in FORMATS:
        typer.echo(f"--format: {format!r} is not one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(exits.INVALID)
    try:
        data = read_journal(journal)
    except (OSError, json.JSONDecodeError) as exc:
        typer.echo(f"{journal}: not a readable journal: {exc}", err=True)
        raise typer.Exit(exits.INVALID) from None
    text = render_report(data, format)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"wrote {output}")
