"""``outage rollback``: remove what a crashed or interrupted run left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chaos import exits

__all__ = ["app"]

app = typer.Typer()


@app.command("rollback")
def rollback(
    journal: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option(help="The journal of the run to roll back (default: every run's leftovers)."),
    ] = None,
    run: Annotated[Optional[str], typer.Option(help="Only this run id's policies.")] = None,  # noqa: UP045
) -> None:
    """Remove every deny policy a run of this tool left on this AWS account (found by name prefix and tag,
    with or without the journal), and say what was removed. Exit 0 when nothing is left, 4 otherwise.

    Gateway and in-process faults die with the process that armed them; only the IAM injector leaves
    anything behind.
    """
    import boto3

    from chaos.injectors.iam import ours, sweep
    from chaos.journal import read_journal

    if journal is not None and run is None:
        data = read_journal(journal)
        run = next((e.get("run_id") for e in data.get("timeline", []) if e.get("run_id")), None)
        if run is None:
            typer.echo(f"{journal}: this run armed no deny policy; nothing to roll back")
            return
    session = boto3.Session()
    removed = sweep(session, run_id=run)
    for arn in removed:
        typer.echo(f"removed {arn}")
    left = ours(session.client("iam"), run)
    if left:
        typer.echo(f"still there: {', '.join(left)}", err=True)
        raise typer.Exit(exits.ROLLBACK_INCOMPLETE)
    typer.echo(f"clean: {len(removed)} polic{'y' if len(removed) == 1 else 'ies'} removed, none left")
