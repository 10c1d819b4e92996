"""What several commands share: loading an experiment file or saying, located, why not."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from chaos import exits

if TYPE_CHECKING:
    from chaos.loading import ExperimentError
    from chaos.model import Experiment

__all__ = ["echo_problems", "load_or_exit"]


def echo_problems(error: ExperimentError) -> None:
    """Every problem of an invalid file on standard error, one FILE:LINE:COLUMN: line each."""
    for problem in error.problems:
        typer.echo(str(problem), err=True)


def load_or_exit(path: Path) -> Experiment:
    """The experiment in ``path``; an invalid file ends the command with its problems and exit code 2."""
    from chaos.loading import ExperimentError, load_experiment  # pydantic, PyYAML: only when a command runs

    try:
        return load_experiment(path)
    except ExperimentError as exc:
        echo_problems(exc)
        raise typer.Exit(exits.INVALID) from None
