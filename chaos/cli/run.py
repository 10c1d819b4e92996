"""``outage run FILE``: run an experiment end to end and judge whether the application degraded gracefully."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chaos import exits
from chaos.cli.helptext import OutageCommand

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
) -> None:
    """Run FILE: start the application, drive it through the outage, check it degraded gracefully.

    Exit 0 graceful; 1 not graceful; 2 invalid input; 3 refused or aborted (rolled back); 4 rollback incomplete;
    5 unverified (an IAM run without a probe: nothing proved the denial).
    """
    from chaos.cli.common import load_or_exit
    from chaos.errors import ConfigError
    from chaos.journal import JournalBusy
    from chaos.runner import Runner
    from chaos.verify.progress import for_terminal

    if injector is not None and injector not in INJECTORS:
        typer.echo(f"--injector: {injector!r} is not one of {', '.join(INJECTORS)}", err=True)
        raise typer.Exit(exits.INVALID)
    experiment = load_or_exit(file)
    progress = for_terminal()
    try:
        try:
            runner = Runner(
                experiment, source=str(file), injector=injector, journal_path=journal, seed=seed, progress=progress
            )
            result = runner.run()
        finally:
            progress.close()  # before anything else is printed, and also when the run raised
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exits.INVALID) from None
    except JournalBusy as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exits.REFUSED) from None
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
    if report is not None:
        from chaos.journal import read_journal
        from chaos.report import write_reports

        for path in write_reports(read_journal(result.journal_path), report):
            typer.echo(f"report: {path}")
    raise typer.Exit(result.exit_code)
