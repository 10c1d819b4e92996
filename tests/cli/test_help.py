"""The ``outage`` help reads like a conventional command line, and printing it stays cheap."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from chaos import __version__
from chaos.cli import app

runner = CliRunner()
COMMANDS = sorted(getattr(typer.main.get_command(app), "commands", {}))


def _help(*args: str, width: int = 80) -> str:
    result = runner.invoke(app, [*args, "--help"], terminal_width=width, max_content_width=width)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_covered() -> None:
    assert set(COMMANDS) >= {"validate", "plan", "run", "report", "serve", "inject", "rollback", "schema", "demo"}


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_shows_conventional_metavars_and_no_python_types(command: str) -> None:
    text = _help(*filter(None, [command]))
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage, usage
    for python_type in ("<bool>", "<str>", "<int>", "<path>", "<list[", "<float>"):
        assert python_type not in text, f"{python_type} in outage {command} --help:\n{text}"
    assert re.search(r"^  -h, --help\s+Show this message and exit\.$", text, re.MULTILINE), text


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_dash_h_is_help_everywhere(command: str) -> None:
    args = list(filter(None, [command]))
    short = runner.invoke(app, [*args, "-h"], terminal_width=80)
    assert short.exit_code == 0, short.output
    assert short.output == _help(*args)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_sentences_are_not_hard_wrapped(command: str) -> None:
    """A line break inside a paragraph is the source's, not the terminal's: there must be none."""
    group: Any = typer.main.get_command(app)
    cli = group.commands[command]
    context = typer.Context(cli, info_name=command)
    texts = [cli.help or "", *(getattr(param, "help", None) or "" for param in cli.get_params(context))]
    for text in texts:
        assert "\n" not in text.replace("\n\n", ""), f"hard line break in outage {command}: {text!r}"
    # and as printed, wide enough for any of our paragraphs: every line of the description ends a sentence
    text = _help(command, width=1000)
    description = re.split(r"\n(?:Arguments|Options):\n", text.split("Usage:", 1)[1].split("\n", 1)[1])[0]
    for line in filter(None, (line.strip() for line in description.splitlines())):
        assert line.endswith((".", ")", ":")), f"hard-wrapped in outage {command} --help: {line!r}"


def test_the_root_help_lists_each_command_by_its_whole_first_paragraph() -> None:
    text = _help(width=1000)
    inject = next(line for line in text.splitlines() if line.startswith("  inject "))
    assert inject.endswith("hold them for --for (or until Ctrl-C), then remove them."), inject
    assert "..." not in text.split("Commands:", 1)[1]


def test_square_brackets_in_help_survive() -> None:
    assert "(required; merged with [tool.chaos])." in _help("inject", width=1000)


def test_usage_lines_name_arguments_by_their_metavar() -> None:
    assert "validate [OPTIONS] FILE..." in _help("validate")
    assert "run [OPTIONS] FILE" in _help("run")
    assert "report [OPTIONS] JOURNAL" in _help("report")
    inject = _help("inject")
    assert "  --for DURATION " in inject and "  --fault SPEC " in inject
    assert "  --access-log / --no-access-log " in _help("serve")


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"outage (chaos-outage) {__version__}\n"


@pytest.mark.parametrize("command", ["plan", "run"])
def test_an_unknown_injector_exits_2_naming_the_choices(command: str) -> None:
    result = runner.invoke(app, [command, "--injector", "foo", "no-such-file.yaml"])
    assert result.exit_code == 2
    assert "--injector: 'foo' is not one of hook, gateway, iam" in result.stderr


HEAVY = ("boto3", "botocore", "moto", "pydantic", "yaml", "rich")  # rich: the live panel and the demo only


def test_building_the_help_imports_no_aws_sdk_pydantic_or_yaml() -> None:
    """Every command's help, in a fresh interpreter: the heavy libraries load only when a command runs."""
    code = textwrap.dedent(
        f"""
        import sys
        from typer.testing import CliRunner
        from chaos.cli import app
        runner = CliRunner()
        for args in ([], *[[name] for name in {COMMANDS!r}]):
            assert runner.invoke(app, [*args, "--help"]).exit_code == 0, args
        print(sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r})))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"imported while building the help: {result.stdout}"


def test_import_chaos_is_lazy_but_complete() -> None:
    """``import chaos`` loads nothing heavy; every public name is still there when asked for."""
    code = textwrap.dedent(
        f"""
        import json, sys
        import chaos
        heavy = sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))
        from chaos import Fault, inject, load_experiment
        missing = [name for name in chaos.__all__ if getattr(chaos, name, None) is None]
        print(json.dumps([heavy, missing, chaos.Fault is Fault]))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [[], [], True]


def test_validate_imports_no_aws_sdk(tmp_path: Path) -> None:
    """``outage validate`` checks operation names against botocore's data files without importing botocore."""
    experiment = tmp_path / "one.yaml"
    experiment.write_text(
        "version: 1\ntitle: t\nfaults:\n  - kind: throttle\n    service: [s3, dynamodb]\n"
        "    region: us-east-1\n    operations: [GetObject, PutItem]\n"
    )
    code = textwrap.dedent(
        f"""
        import sys
        from typer.testing import CliRunner
        from chaos.cli import app
        result = CliRunner().invoke(app, ["validate", {str(experiment)!r}])
        assert result.exit_code == 2 and "'PutItem' is not an operation of s3" in result.output, result.output
        print(sorted({{name.split(".")[0] for name in sys.modules}} & {{"boto3", "botocore", "moto", "urllib3"}}))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"imported by validate: {result.stdout}"
