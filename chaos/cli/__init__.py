"""The ``outage`` command line: one typer sub-app per module, joined here."""

from __future__ import annotations

import typer

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

__all__ = ["app", "main"]

app = typer.Typer(
    name="outage",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Rehearse S3 and whole-region AWS outages: inject them, drive your application, judge the result.",
)
for _module in (validate, plan, run, report, serve, inject, rollback, gameday, history, schema, demo, audit, export):
    app.add_typer(_module.app)


@app.callback()
def _root() -> None:
    """Rehearse S3 and whole-region AWS outages before the next real one."""


def main() -> None:
    """Entry point of the ``outage`` console script and of ``python -m chaos``."""
    app()
