"""``outage export FILE --to fis|chaostoolkit``: the experiment for AWS FIS or Chaos Toolkit."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from chaos import exits
from chaos.cli.common import load_or_exit
from chaos.cli.helptext import OutageCommand

__all__ = ["app"]

app = typer.Typer()


class Target(str, Enum):
    """What ``--to`` exports to."""

    fis = "fis"
    chaostoolkit = "chaostoolkit"


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    pairs = {}
    for value in values or ():
        key, sep, text = value.partition("=")
        if not sep or not key:
            typer.echo(f"{option}: {value!r} is not KEY=VALUE", err=True)
            raise typer.Exit(exits.INVALID)
        pairs[key] = text
    return pairs


@app.command("export", cls=OutageCommand)
def export(
    file: Annotated[Path, typer.Argument(help="The experiment file.", show_default=False, metavar="FILE")],
    to: Annotated[Target, typer.Option("--to", help="fis (an AWS FIS experiment template) or chaostoolkit.")],
    output: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option("--output", "-o", metavar="FILE", help="Write the JSON here instead of standard output."),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit 3 if any part cannot be exported as written.")] = False,
    role_arn: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="fis: the IAM role FIS runs the experiment with (required for fis)."),
    ] = None,
    region: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="fis: the region the application runs in and the template is created in (default: the first fault's)."
        ),
    ] = None,
    subnet_tag: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            help="fis: KEY=VALUE tag of the application's subnets (default chaos-outage=target).", metavar="KEY=VALUE"
        ),
    ] = None,
    app_role: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(help="fis: the application's IAM role ARN, for EC2 API faults (up to 5).", metavar="ARN"),
    ] = None,
    tag: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(help="fis: KEY=VALUE tag of the template.", metavar="KEY=VALUE"),
    ] = None,
) -> None:
    """Write the experiment as an AWS FIS experiment template or a Chaos Toolkit experiment.

    FIS: the input of CreateExperimentTemplate; Chaos Toolkit: an experiment that arms the faults with outage
    inject. Every part that cannot be exported as written is listed on standard error (and, for FIS, in the template's
    description). Exit 0; 2 if the file or an option is invalid; 3 if nothing of the experiment can be exported,
    or with --strict if anything cannot be exported as written.
    """
    from chaos.errors import ConfigError
    from chaos.export import FisOptions, to_chaostoolkit, to_fis
    from chaos.export.fis import DEFAULT_SUBNET_TAGS

    experiment = load_or_exit(file)
    try:
        if to is Target.fis:
            if not role_arn:
                typer.echo("--to fis needs --role-arn: the IAM role FIS runs the experiment with", err=True)
                raise typer.Exit(exits.INVALID)
            options = FisOptions(
                role_arn=role_arn,
                region=region,
                subnet_tags=_pairs(subnet_tag, "--subnet-tag") or dict(DEFAULT_SUBNET_TAGS),
                app_roles=tuple(app_role or ()),
                tags=_pairs(tag, "--tag"),
            )
            exported = to_fis(experiment, options, source=file.name)
        else:
            exported = to_chaostoolkit(experiment, source=file.name)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exits.INVALID) from None
    for item in exported.untranslated:
        typer.echo(f"{file}: {item}", err=True)
    if exported.faults_exported == 0:
        typer.echo(f"{file}: none of its faults can be expressed in {to.value}: nothing written", err=True)
        raise typer.Exit(exits.REFUSED)
    if strict and exported.untranslated:
        typer.echo(f"{file}: --strict: {len(exported.untranslated)} parts cannot be exported as written", err=True)
        raise typer.Exit(exits.REFUSED)
    text = json.dumps(exported.document, indent=2) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)
