"""``outage demo``: the bundled outage, on embedded moto."""

from __future__ import annotations

import typer

from chaos import exits

__all__ = ["app"]

app = typer.Typer()


@app.command("demo")
def demo() -> None:
    """Show an S3 us-east-1 outage as boto3 sees it (retries, the error) while eu-west-1 keeps working."""
    from chaos.demo.sdk import run_sdk_demo  # moto is heavy: import it only for the demo

    if not run_sdk_demo():
        raise typer.Exit(exits.NOT_GRACEFUL)
