"""``outage inject``: a one-off fault into a running gateway, removed when it ends or on Ctrl-C."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from chaos import exits
from chaos.cli.helptext import OutageCommand
from chaos.cli.signals import stop_on_signals
from chaos.errors import ConfigError

if TYPE_CHECKING:
    from chaos.engine.fault import Fault

__all__ = ["app"]

app = typer.Typer()


def _call(endpoint: str, method: str, path: str, token: str | None, body: Any = None) -> Any:
    import json
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{endpoint.rstrip('/')}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def _fault(text: str) -> Fault:
    import yaml
    from pydantic import ValidationError

    from chaos.engine.fault import Fault
    from chaos.loading import dotted, explain_validation

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not YAML or JSON: {exc}") from None
    try:
        return Fault.model_validate(value)
    except ValidationError as exc:
        raise ValueError(
            "; ".join(f"{dotted(path) or 'fault'}: {msg}" for path, msg in explain_validation(exc, value, Fault))
        ) from None


@app.command("inject", cls=OutageCommand)
def inject(
    fault: Annotated[
        list[str],
        typer.Option(
            metavar="SPEC",
            help="A fault as YAML or JSON, e.g. '{kind: unavailable, service: s3, region: us-east-1}'; repeatable.",
        ),
    ],
    endpoint: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option(metavar="URL", help="A running gateway, e.g. http://127.0.0.1:4566."),
    ] = None,
    iam_target: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            metavar="PRINCIPAL",
            help="Instead of a gateway, real AWS: deny this principal (role/NAME, user/NAME or group/NAME).",
        ),
    ] = None,
    account: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            metavar="ID", help="With --iam-target: the account ids allowed (required; merged with [tool.chaos])."
        ),
    ] = None,
    for_: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--for", metavar="DURATION", help="How long to keep it (e.g. 30s); default: until Ctrl-C (IAM: at most 1h)."
        ),
    ] = None,
    token: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(envvar="OUTAGE_TOKEN", metavar="TOKEN", help="The gateway's bearer token."),
    ] = None,
    propagation: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            metavar="DURATION",
            help="With --iam-target: how long a denial may take to be in effect, waited out (default 15s, AWS's "
            "bound; 0s on moto or LocalStack, where a policy is in effect at once).",
        ),
    ] = None,
) -> None:
    """Arm faults in a running gateway, or as deny policies on real AWS, hold them for --for (or until Ctrl-C),
    then remove them."""
    from chaos.engine.durations import parse_duration

    try:
        faults = [_fault(text) for text in fault]
        seconds = parse_duration(for_) if for_ is not None else None
    except ValueError as exc:
        typer.echo(f"--fault: {exc}", err=True)
        raise typer.Exit(exits.INVALID) from None
    if (endpoint is None) == (not iam_target):
        typer.echo("give exactly one of --endpoint (a gateway) or --iam-target (real AWS)", err=True)
        raise typer.Exit(exits.INVALID)
    if iam_target:
        _inject_iam(faults, iam_target, account or [], seconds, propagation)
        return
    assert endpoint is not None
    _inject_gateway(faults, endpoint, token, seconds)


def _refuse(exc: Exception, hint: str = "") -> typer.Exit:
    typer.echo(f"{exc}{hint}", err=True)
    return typer.Exit(exits.REFUSED)


def _held(faults: list[Fault], seconds: float | None) -> list[Fault]:
    """Each fault ends when --for does, so the gateway removes it by itself even if this command dies."""
    from chaos.engine.durations import format_duration

    if seconds is None:
        return faults
    held = []
    for index, fault in enumerate(faults):
        if fault.after >= seconds:
            typer.echo(f"--fault {index}: it starts {format_duration(fault.after)} in, after --for ends", err=True)
            raise typer.Exit(exits.INVALID)
        ends_later = fault.end is None or fault.end > seconds
        held.append(fault.model_copy(update={"for_": seconds - fault.after}) if ends_later else fault)
    return held


def _inject_gateway(faults: list[Fault], endpoint: str, token: str | None, seconds: float | None) -> None:
    """POST the faults to a gateway (its own gate decides too), hold them, DELETE them."""
    import urllib.error

    from chaos.engine.durations import format_duration
    from chaos.gate import Refused, admit
    from chaos.guardrails import limits_for

    try:
        listing = _call(endpoint, "GET", "/_chaos/faults", token).get("faults", [])
        armed = sum(1 for item in listing if item.get("ends_in") is None or item["ends_in"] > 0)
    except (urllib.error.HTTPError, OSError, ValueError, AttributeError, TypeError) as exc:
        typer.echo(f"cannot read the faults armed at the gateway {endpoint}: {exc}", err=True)
        raise typer.Exit(exits.INVALID) from None
    try:
        # this project's limits, counting what the gateway has armed already, before anything is sent
        admit(faults, limits_for(None), hold=seconds, already_active=armed)
    except Refused as exc:
        raise _refuse(exc) from None
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exits.INVALID) from None
    faults = _held(faults, seconds)
    stop = stop_on_signals()
    body = [item.to_json() for item in faults]
    try:
        ids = _call(endpoint, "POST", "/_chaos/faults", token, body)["ids"]
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        typer.echo(f"{endpoint} refused the faults ({exc.code}): {text}", err=True)
        raise typer.Exit(exits.REFUSED if exc.code in (401, 403) else exits.INVALID) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        typer.echo(f"cannot arm faults at the gateway {endpoint}: {exc}", err=True)
        raise typer.Exit(exits.INVALID) from None
    held = f"for {format_duration(seconds)}" if seconds is not None else "until Ctrl-C"
    typer.echo(f"injected {', '.join(item.label for item in faults)} (ids {ids}) into {endpoint}, {held}")
    try:
        stop.wait(seconds)
    finally:
        _remove(endpoint, token, ids, seconds)


def _remove(endpoint: str, token: str | None, ids: list[int], seconds: float | None) -> None:
    """DELETE each fault; one that cannot be removed is exit 4 (it ends by itself after --for)."""
    import urllib.error

    removed, failed = [], []
    for ident in ids:
        try:
            removed += _call(endpoint, "DELETE", f"/_chaos/faults/{int(ident)}", token)["removed"]
        except urllib.error.HTTPError as exc:
            if exc.code != 404:  # 404: expired or reset meanwhile, nothing left to remove
                failed.append(f"{ident} ({exc.code})")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            failed.append(f"{ident} ({exc})")
    if failed:
        expiry = " (they end by themselves when --for is over)" if seconds is not None else ""
        typer.echo(f"could not remove fault ids {', '.join(failed)} from {endpoint}{expiry}", err=True)
        raise typer.Exit(exits.ROLLBACK_INCOMPLETE)
    typer.echo(f"removed fault ids {removed}")


def _echo_event(event: str, **fields: object) -> None:
    """Each step on the terminal as it is taken: the intent before the change."""
    where = " -> ".join(str(fields[name]) for name in ("policy", "target") if name in fields)
    if not where and isinstance(fields.get("seconds"), (int, float)):
        where = f"{fields['seconds']:g}s"  # the propagation waited out
    typer.echo(f"  {event}{': ' + where if where else ''}")


#: Without --for, IAM faults are held at most this long (their policies expire by themselves after it).
IAM_LONGEST_HOLD = 3600.0


def _inject_iam(
    faults: list[Fault], targets: list[str], accounts: list[str], seconds: float | None, propagation: str | None
) -> None:
    """The same faults as self-expiring deny policies on the targets; removed at the end, verified."""
    import boto3
    from pydantic import ValidationError

    from chaos.engine.durations import format_duration
    from chaos.errors import InjectionError
    from chaos.gate import Refused
    from chaos.guardrails import limits_for
    from chaos.injectors.iam import IamInjector
    from chaos.model import Guardrails, IamSettings

    specs = []
    for target in targets:
        kind, _, name = target.partition("/")
        if kind not in ("role", "user", "group") or not name:
            typer.echo(f"--iam-target: {target!r} is not role/NAME, user/NAME or group/NAME", err=True)
            raise typer.Exit(exits.INVALID)
        specs.append({kind: name})
    hold = seconds if seconds is not None else IAM_LONGEST_HOLD
    try:
        limits = limits_for(Guardrails.model_validate({"accounts": accounts or None}), source="--account")
        injector = IamInjector(
            faults,
            settings=IamSettings.model_validate(
                {"targets": specs, **({"propagation": propagation} if propagation is not None else {})}
            ),
            experiment="outage inject",
            session=boto3.Session(),
            duration=hold,
            journal=_echo_event,
        )
    except (ConfigError, ValidationError) as exc:
        typer.echo(f"invalid: {exc}", err=True)
        raise typer.Exit(exits.INVALID) from None
    stop = stop_on_signals()
    try:
        injector.arm(limits=limits, hold=hold)
    except Refused as exc:
        hint = "" if seconds is not None else " (without --for, IAM faults are held up to 1h: give --for)"
        raise _refuse(exc, hint) from None
    except ConfigError as exc:
        typer.echo(f"invalid: {exc}", err=True)
        raise typer.Exit(exits.INVALID) from None
    except InjectionError as exc:
        typer.echo(str(exc), err=True)
        incomplete = injector.removal is not None and not injector.removal.clean
        raise typer.Exit(exits.ROLLBACK_INCOMPLETE if incomplete else exits.REFUSED) from None
    held = f"for {format_duration(seconds)}" if seconds is not None else "until Ctrl-C (at most 1h)"
    typer.echo(f"denied {', '.join(f.label for f in faults)} to {', '.join(targets)} (run {injector.run_id}), {held}")
    try:
        stop.wait(hold)
    finally:
        try:
            injector.disarm()
        except InjectionError as exc:
            typer.echo(f"{exc}\nrun 'outage rollback --iam --run {injector.run_id}' once the cause is fixed", err=True)
            raise typer.Exit(exits.ROLLBACK_INCOMPLETE) from None
        typer.echo(f"removed the deny policies of run {injector.run_id}; none left (checked)")
