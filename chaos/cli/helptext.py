"""How the ``outage`` command's help reads: conventional metavars, ``-h``, sentences never hard-wrapped.

typer prints Python types (``<list[str]>``, ``<bool>`` even on ``--help``) and braces around required
arguments (``{file}``), and lists commands by a summary cut at 45 characters. The command and group
classes here fix that for every command, once, instead of in each command module.

The help is click's plain format (``rich_markup_mode=None`` on the app): no rich markup to swallow
``[tool.chaos]``, and no rich import (markdown, tracebacks, pretty-printing) to make ``outage --help``
slow. Paragraphs are kept on one line here so that the terminal, not the source, decides where a
sentence wraps (also in the generated reference, ``chaos/reference.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

__all__ = ["CONTEXT", "OutageCommand", "OutageGroup", "unwrap"]

#: Every command answers ``-h`` as well as ``--help`` (subcommands inherit it from the root context).
CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"]}

#: The metavar of an option that does not name its own, by the type of its value.
_METAVARS: tuple[tuple[type, str], ...] = ((bool, ""), (Path, "PATH"), (int, "N"), (float, "NUMBER"))


def unwrap(text: str | None) -> str | None:
    """``text`` with each paragraph on one line: the terminal wraps sentences, the source does not."""
    if not text:
        return text
    paragraphs = [" ".join(line.strip() for line in part.splitlines()) for part in text.strip().split("\n\n")]
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def _metavar(option: TyperOption) -> str:
    annotation: Any = option.type_descriptor.annotation
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    for kind, metavar in _METAVARS:
        if isinstance(annotation, type) and issubclass(annotation, kind):
            return metavar
    return "TEXT"


class _Argument(TyperArgument):
    """An argument shown by its metavar (``FILE``, ``FILE...``), without its Python type."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.metavar or (self.name or "").upper()
        if self.nargs != 1 and not name.endswith("..."):
            name += "..."
        return name if self.required else f"[{name}]"


class _Option(TyperOption):
    """An option shown with a conventional metavar (``TEXT``, ``N``, ``PATH``), and none on a flag."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        return self.metavar if self.metavar is not None else _metavar(self)


def _conventional(params: list[Any]) -> list[Any]:
    """Give typer's parameters the display above, and help text that is not hard-wrapped.

    The classes are swapped on the objects typer built (same fields, different display methods), once
    each: typer offers no hook to choose the parameter class, and adds some parameters (``--help``,
    the completion options) after the command is built.
    """
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option
            if param.is_flag and param.default is None:
                # typer's completion flags default to None, which typer coerces through pydantic on every
                # invocation (even `outage demo --help`); False means the same to their callbacks.
                param.default = False
        else:
            continue
        param.help = unwrap(getattr(param, "help", None))
    return params


def _help(attrs: dict[str, Any]) -> dict[str, Any]:
    """The command's help on unwrapped lines, and its first paragraph as the summary in ``outage --help``."""
    text = unwrap(attrs.pop("help", None))
    short = attrs.pop("short_help", None) or (text.split("\n\n", 1)[0] if text else None)
    return {**attrs, "help": text, "short_help": short}


class OutageCommand(TyperCommand):
    """A command of ``outage``: pass as ``cls=`` to ``@app.command``."""

    def __init__(self, name: str | None, **attrs: Any) -> None:
        super().__init__(name, **_help(attrs))

    def get_params(self, ctx: Any) -> list[Any]:
        return _conventional(super().get_params(ctx))


class OutageGroup(TyperGroup):
    """The ``outage`` group: its own options (``--version``, ``-h``) read like its commands'."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**_help(attrs))

    def get_params(self, ctx: Any) -> list[Any]:
        return _conventional(super().get_params(ctx))
