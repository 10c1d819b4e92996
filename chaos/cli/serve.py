"""``outage serve``: the outage gateway (moto + fault middleware + control API)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from chaos import exits
from chaos.cli.helptext import OutageCommand
from chaos.cli.signals import stop_on_signals

if TYPE_CHECKING:
    from chaos.engine.fault import Fault
    from chaos.guardrails import Limits
    from chaos.injectors.backend import Backend

__all__ = ["app"]

app = typer.Typer()


def _backend(
    upstream: str | None, profile: str | None, resign: bool, fips: bool, dualstack: bool, limits: Limits
) -> Backend | None:
    """The upstream the gateway forwards to (None: its embedded moto)."""
    if upstream is None:
        return None
    from chaos.injectors.upstream import connect

    return connect(upstream, profile=profile, resign=resign, fips=fips, dualstack=dualstack, limits=limits)


@app.command("serve", cls=OutageCommand)
def serve(
    host: Annotated[
        str, typer.Option(metavar="HOST", help="Address to bind; anything but loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on (0: any free port).")] = 4566,
    faults: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option(
            metavar="FILE", help="An experiment file whose faults are armed at start (their timeline starts then)."
        ),
    ] = None,
    token: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            envvar="OUTAGE_TOKEN", metavar="TOKEN", help="Bearer token every call to /_chaos/ and /moto-api/ must send."
        ),
    ] = None,
    seed: Annotated[Optional[int], typer.Option(metavar="N", help="Seed of probability sampling.")] = None,  # noqa: UP045
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    upstream: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="Forward the calls no fault stops to this URL (moto_server, LocalStack, MinIO...) or to 'aws' "
            "(each call's real AWS endpoint; [tool.chaos] accounts must name the credentials' account)."
        ),
    ] = None,
    upstream_profile: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="AWS profile whose credentials re-sign forwarded calls (default: the standard chain)."),
    ] = None,
    resign: Annotated[
        bool, typer.Option(help="Re-sign forwarded calls with the gateway's credentials (--no-resign: untouched).")
    ] = True,
    upstream_fips: Annotated[bool, typer.Option(help="With --upstream aws: use FIPS endpoints.")] = False,
    upstream_dualstack: Annotated[bool, typer.Option(help="With --upstream aws: use dual-stack endpoints.")] = False,
    warm: Annotated[
        bool,
        typer.Option(
            help="Prepare moto's S3 at start (otherwise its first S3 request takes about a second; idle memory +35 MB)."
        ),
    ] = False,
) -> None:
    """Serve moto behind a fault middleware: point any SDK's AWS_ENDPOINT_URL at it. Ctrl-C stops it."""
    from chaos.cli.common import load_or_exit
    from chaos.errors import ConfigError
    from chaos.gate import Refused, admit
    from chaos.guardrails import limits_for
    from chaos.injectors.gateway import GatewayInjector, GatewayServer

    armed: tuple[Fault, ...] = ()
    own = None
    if faults is not None:
        experiment = load_or_exit(faults)
        armed, own = experiment.faults, experiment.guardrails
        seed = seed if seed is not None else experiment.seed
    try:
        limits = limits_for(own, source=str(faults))  # kept for every fault the control API arms later
        admit(armed, limits)  # before anything listens
        backend = _backend(upstream, upstream_profile, resign, upstream_fips, upstream_dualstack, limits)
    except Refused as exc:
        typer.echo(f"{exc}; nothing is listening", err=True)
        raise typer.Exit(exits.REFUSED) from None
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exits.INVALID) from None
    injector = GatewayInjector(armed, seed=seed)
    try:
        server = GatewayServer(
            injector, host=host, port=port, token=token, access_log=access_log, limits=limits, backend=backend
        )
    except ConfigError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(exits.INVALID) from None
    except OSError as exc:
        typer.echo(f"cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(exits.INVALID) from None
    stop = stop_on_signals()
    injector.arm(limits=limits)
    server.start(warm=warm)  # idle, an unwarmed gateway holds 63 MiB, a warmed one 98 (moto's S3 and our routes)
    # The start-up heap (moto, botocore's models, this package) lives as long as the process: the collector
    # stops walking it. Each full collection walked it all; a PUT of 10,000 faults spent half its time there.
    gc.freeze()
    behind = "moto" if backend is None else f"{backend.label} (forwarded, {'re-signed' if resign else 'untouched'})"
    typer.echo(f"outage gateway: {behind} behind a fault middleware, listening on {server.url}")
    typer.echo(f"export AWS_ENDPOINT_URL={server.url}")
    typer.echo("export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1")
    typer.echo(f"control API: {server.url}/_chaos/faults, /_chaos/ledger, /_chaos/reset, /_chaos/health")
    if armed:
        typer.echo(f"armed {len(armed)} fault{'s' if len(armed) != 1 else ''} from {faults}")
    typer.echo("Ctrl-C or SIGTERM stops it.", err=False)
    stop.wait()
    server.stop()
    ledger = injector.ledger
    typer.echo(f"stopped: {ledger.total} AWS calls seen, faults fired on {ledger.fired}")
