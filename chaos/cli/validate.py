"""``outage validate FILE...``: check experiment and suite files, report every error with its location."""

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
        list[Path],
        typer.Argument(
            metavar="FILE...", help="Experiment or game-day suite files (YAML or JSON).", show_default=False
        ),
    ],
) -> None:
    """Check experiment files and report every error as FILE:LINE:COLUMN: field.path: message.

    A game-day suite (a file with experiments: and no faults:) is checked as outage gameday run
    checks it: the suite, and every experiment it names. Exit 0 when every file is valid, 2 otherwise.
    """
    from chaos.cli.common import echo_problems
    from chaos.loading import ExperimentError, load_experiment  # pydantic, PyYAML: only when it runs

    failed = 0
    for file in files:
        try:
            if _is_suite(file):
                from chaos.gameday.suite import load_suite

                loaded = load_suite(file)
                count = len(loaded.experiments)
                typer.echo(
                    f"{file}: ok (game-day suite, {count} experiment{'s' if count != 1 else ''}: {loaded.suite.title})"
                )
                continue
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


def _is_suite(file: Path) -> bool:
    """Whether ``file`` reads as a game-day suite; anything unreadable is left to the experiment loader to report."""
    from chaos.documents import DocumentError, parse_document
    from chaos.loading import MAX_FILE_BYTES, FileReadError, read_regular_file

    try:
        raw = read_regular_file(file, MAX_FILE_BYTES, what="experiment files")
        value, _ = parse_document(raw, json_only=str(file).lower().endswith(".json"))
    except (FileReadError, DocumentError):
        return False
    return isinstance(value, dict) and "experiments" in value and "faults" not in value
