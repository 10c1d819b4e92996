"""``outage rollback``: finish runs that died, and sweep the account for the tool's deny policies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chaos import exits
from chaos.cli.helptext import OutageCommand

__all__ = ["app"]

app = typer.Typer()


@app.command("rollback", cls=OutageCommand)
def rollback(
    journal: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option(metavar="PATH", help="The journal of one run (default: every crashed run's journal under --dir)."),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", metavar="DIR", help="Where runs write their journals.", show_default=True)
    ] = Path(".chaos/runs"),
    iam: Annotated[
        bool,
        typer.Option("--iam", help="Also sweep this AWS account for every deny policy carrying the tool's signature."),
    ] = False,
    run: Annotated[Optional[str], typer.Option(metavar="ID", help="With --iam: only this run id's policies.")] = None,  # noqa: UP045
    gateway: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            help="A shared gateway off this machine that rollback may contact (and send OUTAGE_TOKEN to) to remove "
            "a run's faults; loopback gateways need no consent.",
            metavar="URL",
        ),
    ] = None,
) -> None:
    """Remove what a crashed or killed run left behind, check it is gone, and say so.

    From each journal whose run is gone and was not rolled back completely: its application's process
    group, its temporary files, its deny policies, its faults in a shared gateway. With --iam, also the
    tool's deny policies found in the account by their signature (name, run tag, expiry tag,
    statements). A policy without the whole signature is listed as not ours and left alone. Exit 0
    when everything was removed and checked, 3 when a run is still going, 4 when anything could not be
    removed or checked.
    """
    from chaos.errors import ConfigError
    from chaos.journal import JournalBusy
    from chaos.recovery import crashed_journals, recover

    clean = True
    paths = [journal] if journal is not None else crashed_journals(directory)
    if journal is None and not paths and not iam:
        typer.echo(f"no crashed run under {directory}: nothing to roll back")
    for path in paths:
        try:
            result = recover(path, gateways=gateway or ())
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(exits.INVALID) from None
        except JournalBusy as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(exits.REFUSED) from None
        if result.nothing_to_do:
            typer.echo(f"{path}: the run ended as {result.status_before}; nothing left to roll back")
            continue
        for step in result.steps:
            mark = "ok  " if step.ok else "FAIL"
            typer.echo(f"  {mark} {step.what}: {step.detail}", err=not step.ok)
        verdict = "rolled back after a crash" if result.complete else "INCOMPLETE rollback"
        typer.echo(f"{path}: {verdict} ({len(result.steps)} steps)")
        clean = clean and result.complete
    if iam:
        clean = _sweep(run) and clean
    if not clean:
        raise typer.Exit(exits.ROLLBACK_INCOMPLETE)


def _sweep(run: str | None) -> bool:
    """Every policy with the tool's signature in the account: removed and checked; the rest left alone."""
    import boto3

    from chaos.iam.ownership import find
    from chaos.injectors.iam import sweep

    session = boto3.Session()
    report = sweep(session, run_id=run)
    for arn in report.removed:
        typer.echo(f"removed {arn}")
    for candidate in report.not_ours:
        typer.echo(f"not ours, left alone: {candidate.arn} ({candidate.why_not})")
    for error in report.errors:
        typer.echo(f"FAILED {error}", err=True)
    if report.clean:
        left, errors = find(session.client("iam"), run)
        if errors or any(candidate.ours for candidate in left):
            for error in errors:
                typer.echo(f"FAILED to check: {error}", err=True)
            for candidate in left:
                if candidate.ours:
                    typer.echo(f"still there: {candidate.arn}", err=True)
            return False
        count = len(report.removed)
        typer.echo(f"clean: {count} polic{'y' if count == 1 else 'ies'} removed, none left (checked)")
        return True
    if report.unverified:
        typer.echo("not checked gone: " + ", ".join(report.unverified), err=True)
    return False
