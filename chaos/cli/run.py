"""``outage run FILE``: run an experiment end to end and judge whether the application degraded gracefully."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from chaos import exits
from chaos.cli.helptext import OutageCommand

if TYPE_CHECKING:
    from chaos.runner import RunResult

__all__ = ["app"]

app = typer.Typer()
INJECTORS = ("hook", "gateway", "iam")


@app.command("run", cls=OutageCommand)
def run(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The experiment file.", show_default=False)],
    injector: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option(
            metavar="NAME", help="gateway (default with an app); hook and iam cannot drive an application command."
        ),
    ] = None,
    journal: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(metavar="PATH", help="Where to write the journal (default: .chaos/runs/<time>-<title>.json)."),
    ] = None,
    seed: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(metavar="N", help="Seed of probability sampling and of the load."),
    ] = None,
    report: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(metavar="DIR", help="Write every report (HTML, Markdown, JUnit XML, JSON) into this directory."),
    ] = None,
    db: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            metavar="FILE", help="The history database (default: [tool.chaos] history, else .chaos/history.db)."
        ),
    ] = None,
) -> None:
    """Run FILE: start the application, drive it through the outage, check it degraded gracefully.

    Exit 0 graceful; 1 not graceful; 2 invalid input; 3 refused or aborted (rolled back); 4 rollback incomplete;
    5 unverified (an IAM run without a probe: nothing proved the denial).
    """
    from chaos.cli.common import load_or_exit
    from chaos.cli.signals import stop_on_signals
    from chaos.errors import ConfigError
    from chaos.journal import JournalBusy
    from chaos.runner import Runner
    from chaos.verify.progress import for_terminal

    if injector is not None and injector not in INJECTORS:
        typer.echo(f"--injector: {injector!r} is not one of {', '.join(INJECTORS)}", err=True)
        raise typer.Exit(exits.INVALID)
    experiment = load_or_exit(file)
    # Ctrl-C and SIGTERM stay caught until the command ends: the run handles them itself while it lasts,
    # and one that comes after the run is final cannot cut the report short (the result stands).
    late = stop_on_signals()
    progress = for_terminal()
    try:
        try:
            runner = Runner(
                experiment, source=str(file), injector=injector, journal_path=journal, seed=seed, progress=progress
            )
            if late:
                typer.echo(f"stopped by {late.signal} before anything started", err=True)
                raise typer.Exit(exits.REFUSED)
            result = runner.run()
        finally:
            progress.close()  # before anything else is printed, and also when the run raised
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exits.INVALID) from None
    except JournalBusy as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exits.REFUSED) from None
    _print_result(result)
    data = _record(result.journal_path, db)
    if report is not None:
        from chaos.report import write_reports

        for path in write_reports(data, report):
            typer.echo(f"report: {path}")
    if late:
        typer.echo(f"{late.signal} came after the run had finished and rolled back; its result stands", err=True)
    _ignore_signals()  # Python restores the default handlers while it exits: one more SIGTERM would kill it (143)
    raise typer.Exit(result.exit_code)


def _ignore_signals() -> None:
    """The run is final: Ctrl-C and SIGTERM change nothing any more, not even the exit code."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _print_result(result: RunResult) -> None:
    """Each check, the verdict in the one vocabulary, and where the journal is."""
    typer.echo("")
    width = max((len(check.name) for check in result.checks), default=10)
    for check in result.checks:
        mark = typer.style("PASS", fg="green") if check.passed else typer.style("FAIL", fg="red", bold=True)
        typer.echo(f"  {mark}  {check.name:<{width}}  {check.reason}")
    colour = {"passed": "green", "failed": "red"}.get(result.status, "yellow")
    verdict = typer.style(exits.VERDICTS.get(result.status, result.status.upper()), fg=colour, bold=True)
    if result.status == "passed":
        reason = f"all {len(result.checks)} checks passed"
    elif result.status == "failed":
        failed = result.failed_checks
        reason = f"{', '.join(failed)} failed ({len(failed)} of {len(result.checks)} checks)"
    else:
        reason = result.reason
    typer.echo(f"\n{verdict}: {reason}")
    if not result.rollback_complete:
        typer.echo(typer.style("ROLLBACK INCOMPLETE: see the journal", fg="red", bold=True), err=True)
    typer.echo(f"journal: {result.journal_path}")


def _record(journal: Path, db: Path | None) -> dict[str, object]:
    """Keep the run in the history; the journal with the experiment's previous runs, for the reports."""
    import sqlite3

    from chaos.errors import ConfigError
    from chaos.guardrails import project_history
    from chaos.history import DEFAULT_PATH, History
    from chaos.journal import read_journal

    data = read_journal(journal)
    try:
        with History(db or project_history() or DEFAULT_PATH) as history:
            history.record(data, journal)
            runs = history.runs(str(data.get("title", "")), limit=11)
    except (OSError, ConfigError, sqlite3.Error) as exc:
        typer.echo(f"the run could not be recorded in the history: {exc}", err=True)
        return data
    data["history"] = [run.to_dict() for run in runs[:-1]]  # the runs before this one
    return data
