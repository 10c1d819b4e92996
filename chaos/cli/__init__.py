"""The ``outage`` command line: one typer sub-app per module, joined here.

Building the application and printing its help imports no AWS SDK, pydantic or PyYAML: each command
imports what it needs when it runs (``tests/cli/test_help.py`` holds it to that).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import Annotated, NoReturn

import typer

from chaos._version import __version__
from chaos.cli import (
    audit,
    demo,
    export,
    gameday,
    history,
    inject,
    plan,
    report,
    rollback,
    run,
    schema,
    serve,
    validate,
)
from chaos.cli.helptext import CONTEXT, OutageGroup

__all__ = ["app", "main"]

app = typer.Typer(
    name="outage",
    cls=OutageGroup,
    context_settings=CONTEXT,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no rich import behind --help, no markup to swallow [tool.chaos]
    help="Rehearse S3 and whole-region AWS outages: inject them, drive your application, judge the result.",
)
for _module in (validate, plan, run, report, serve, inject, rollback, gameday, history, schema, demo, audit, export):
    app.add_typer(_module.app)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"outage (chaos-outage) {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Rehearse S3 and whole-region AWS outages before the next real one."""


def main() -> NoReturn:
    """Entry point of the ``outage`` console script and of ``python -m chaos``: runs the command, then ends
    the process (:func:`_exit`)."""
    try:
        app()
    except SystemExit as exc:
        _exit(exc.code)
    _exit(0)


def _exit(code: object) -> NoReturn:
    """End the process as any exit does, except for tearing the interpreter down.

    Threads are joined, exit handlers run and output is flushed, as at any exit; what is skipped is
    freeing every object one by one, which for a process holding moto and botocore's models took
    0.2 s at the end of each ``outage run``. Everything a command must leave behind (journal, reports,
    rollback) is written, synced and closed before it returns.
    """
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)
