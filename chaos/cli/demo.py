"""``outage demo``: the bundled outage, on embedded moto."""

from __future__ import annotations

from typing import Annotated

import typer

from chaos import exits
from chaos.cli.helptext import OutageCommand

__all__ = ["app"]

app = typer.Typer()


@app.command("demo", cls=OutageCommand)
def demo(
    sdk: Annotated[
        bool, typer.Option("--sdk", help="Instead: the outage as boto3 sees it, call by call (2 s).")
    ] = False,
) -> None:
    """The 2017 S3 outage replayed against a naive and a resilient demo service, on embedded moto."""
    if sdk:
        from chaos.demo.sdk import run_sdk_demo  # moto is heavy: import it only for the demo

        ok = run_sdk_demo()
    else:
        from chaos.demo.replay import run_replay_demo

        ok = run_replay_demo()
    if not ok:
        raise typer.Exit(exits.NOT_GRACEFUL)
