"""``outage gameday run|schedule``: a suite of experiments run in its window, and its schedule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from chaos import exits
from chaos.cli.helptext import CONTEXT, OutageCommand, OutageGroup

if TYPE_CHECKING:
    from chaos.history import History

__all__ = ["app"]

app = typer.Typer()
gameday = typer.Typer(
    cls=OutageGroup,
    context_settings=CONTEXT,
    help="Game days: a suite of experiments in a window, on a schedule, with a history.",
)
app.add_typer(gameday, name="gameday")


def _load(suite: Path) -> object:
    from chaos.cli.common import echo_problems
    from chaos.gameday.suite import load_suite
    from chaos.loading import ExperimentError

    try:
        return load_suite(suite)
    except ExperimentError as exc:
        echo_problems(exc)
        raise typer.Exit(exits.INVALID) from None


@gameday.command("run", cls=OutageCommand)
def run(
    suite: Annotated[Path, typer.Argument(help="The suite file.", metavar="SUITE", show_default=False)],
    report: Annotated[
        Path, typer.Option(metavar="DIR", help="Where the day's reports go (each experiment's in a subdirectory).")
    ] = Path("gameday-report"),
    ignore_window: Annotated[bool, typer.Option("--ignore-window", help="Run even outside the window.")] = False,
    skip_outside_window: Annotated[
        bool,
        typer.Option("--skip-outside-window", help="Outside the window, do nothing and exit 0 (for schedulers)."),
    ] = False,
    db: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option(
            metavar="FILE", help="The history database (default: [tool.chaos] history, else .chaos/history.db)."
        ),
    ] = None,
) -> None:
    """Run the suite's experiments in order and write one combined report.

    Exit 0 when every experiment was graceful, 1 when one was not, 3 when the day was refused (outside its
    window, its report directory held by another day) or stopped, 4 when a rollback was incomplete, 2 when
    the suite, an experiment, the history database or the report directory is invalid. With
    --skip-outside-window, a day that already ran in this opening of its window is not run again (exit 0).
    """
    from chaos.cli.signals import stop_on_signals
    from chaos.errors import ConfigError
    from chaos.gameday.day import ReportBusy, already_ran, outside_window, run_day
    from chaos.gameday.suite import LoadedSuite
    from chaos.verify.progress import for_terminal

    loaded = _load(suite)
    assert isinstance(loaded, LoadedSuite)
    refusal = outside_window(loaded)
    if refusal is not None and not ignore_window:
        if skip_outside_window:
            typer.echo(f"{suite}: {refusal}: nothing run")
            return
        typer.echo(f"{suite}: refused: {refusal} (--ignore-window to run anyway)", err=True)
        raise typer.Exit(exits.REFUSED)
    history = _open_history(db)
    with history:
        if skip_outside_window and not ignore_window:
            try:
                done = already_ran(loaded, history)
            except ConfigError as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(exits.INVALID) from None
            if done is not None:
                typer.echo(f"{suite}: {done}: nothing run")
                return
        # Ctrl-C and SIGTERM stay caught until the command ends: the day stops at the next experiment, and
        # one that comes once the day is over cannot cut its report short.
        signals = stop_on_signals()
        progress = for_terminal()
        try:
            try:
                result = run_day(loaded, report, history=history, progress=progress, signals=signals)
            finally:
                progress.close()
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(exits.INVALID) from None
        except ReportBusy as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(exits.REFUSED) from None
    typer.echo("")
    for played in result.played:
        typer.echo(f"  {played.status.upper():<10} {played.title}  ({played.file})")
        if played.error:
            typer.echo(f"             {played.error}")
    typer.echo(f"\n{result.verdict}: {result.reason}")
    for path in result.reports:
        typer.echo(f"report: {path}")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    raise typer.Exit(result.exit_code)


def _open_history(db: Path | None) -> History:
    """The history database (``--db``, else ``[tool.chaos] history``, else the default), or exit 2 saying why not."""
    from chaos.errors import ConfigError
    from chaos.guardrails import project_history
    from chaos.history import DEFAULT_PATH, History

    try:
        return History(db or project_history() or DEFAULT_PATH)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exits.INVALID) from None


@gameday.command("schedule", cls=OutageCommand)
def schedule(
    suite: Annotated[Path, typer.Argument(help="The suite file.", metavar="SUITE", show_default=False)],
    print_: Annotated[str, typer.Option("--print", help="cron, github or eventbridge.", metavar="FORMAT")] = "cron",
    report: Annotated[
        str, typer.Option(metavar="DIR", help="The report directory the scheduled run writes.")
    ] = "gameday-report",
    target_arn: Annotated[
        str, typer.Option(help="eventbridge: what runs the day (an ECS task, a Lambda...).", metavar="ARN")
    ] = "arn:aws:ecs:us-east-1:123456789012:cluster/gameday",
    role_arn: Annotated[
        str, typer.Option(help="eventbridge: the role the scheduler assumes to start it.", metavar="ARN")
    ] = "arn:aws:iam::123456789012:role/gameday-scheduler",
) -> None:
    """Print the suite's schedule, derived from its window: a crontab entry, a GitHub Actions workflow,
    or the input of EventBridge Scheduler's CreateSchedule."""
    from chaos.errors import ConfigError
    from chaos.gameday import schedule as schedules
    from chaos.gameday.suite import LoadedSuite

    if print_ not in schedules.FORMATS:
        typer.echo(f"--print: {print_!r} is not one of {', '.join(schedules.FORMATS)}", err=True)
        raise typer.Exit(exits.INVALID)
    loaded = _load(suite)
    assert isinstance(loaded, LoadedSuite)
    window = loaded.suite.window
    if window is None:
        typer.echo(f"{suite}: the suite has no window to derive a schedule from: add 'window:'", err=True)
        raise typer.Exit(exits.INVALID)
    title = loaded.suite.title
    if print_ == "cron":
        try:
            typer.echo(schedules.cron(window, str(suite), report, str(Path.cwd())), nl=False)
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(exits.INVALID) from None
    elif print_ == "github":
        typer.echo(schedules.github(window, str(suite), title, report), nl=False)
    else:
        typer.echo(json.dumps(schedules.eventbridge(window, str(suite), title, target_arn, role_arn, report), indent=2))
