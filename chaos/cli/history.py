"""``outage history [EXPERIMENT]``: each experiment's runs over time, and whether it improves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from chaos import exits
from chaos.cli.helptext import OutageCommand

__all__ = ["app"]

app = typer.Typer()


@app.command("history", cls=OutageCommand)
def history(
    experiment: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Argument(help="An experiment's title or file (default: every experiment).", metavar="EXPERIMENT"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            metavar="FILE", help="The history database (default: [tool.chaos] history, else .chaos/history.db)."
        ),
    ] = None,
    last: Annotated[int, typer.Option(help="How many runs per experiment.", metavar="N", min=1)] = 10,
) -> None:
    """Show each experiment's runs (date, verdict, every check's measured value) and whether it is
    improving or regressing, naming the checks that newly fail.

    Exit 0; 2 when the database cannot be read, or EXPERIMENT has no run in it."""
    from chaos.errors import ConfigError
    from chaos.guardrails import project_history
    from chaos.history import DEFAULT_PATH, History, trend

    try:
        path = db or project_history() or DEFAULT_PATH
        if path.exists() and not path.is_file():
            raise ConfigError(f"{path}: the history database is not a file; give a file (--db FILE)")
        if not path.exists():
            typer.echo(
                f"no history yet at {path}: runs of outage run and outage gameday run are recorded there", err=True
            )
            raise typer.Exit(exits.INVALID if experiment else exits.OK)
        with History(path) as store:
            names = [experiment] if experiment else store.experiments()
            report = []
            for name in names:
                runs = store.runs(name, limit=max(last, 2))
                if not runs:
                    typer.echo(f"no run of {name!r} in {path}", err=True)
                    raise typer.Exit(exits.INVALID)
                report.append((runs[-1].experiment, runs, trend(runs)))
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exits.INVALID) from None
    if as_json:
        data = [
            {
                "experiment": title,
                "trend": {"direction": t.direction, "newly_failing": t.newly_failing, "newly_passing": t.newly_passing},
                "runs": [run.to_dict() for run in runs[-last:]],
            }
            for title, runs, t in report
        ]
        typer.echo(json.dumps(data, indent=2))
        return
    for title, runs, t in report:
        typer.echo(f"{title}: {t.summary}")
        for run in runs[-last:]:
            measured = ", ".join(
                f"{name} {'ok' if passed else 'FAIL'} {shown if shown is not None else ''}".rstrip()
                for name, (passed, _, shown) in sorted(run.checks.items())
            )
            typer.echo(f"  {run.started_at or '?':<29} {run.status.upper():<11} {measured}")
        typer.echo("")
