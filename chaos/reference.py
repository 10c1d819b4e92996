"""Reference pages generated from the code itself, so the manual cannot drift from it.

``cli_reference()`` walks the typer application; ``schema_reference()`` walks the JSON Schema of
experiment files. The manual's build (``docs/hooks.py``) puts them into the reference pages.
"""

from __future__ import annotations

import html
from typing import Any

import typer.main

from chaos.cli import app
from chaos.engine.durations import format_duration
from chaos.schema import experiment_schema

__all__ = ["cli_reference", "schema_reference"]


def _name(text: str) -> str:
    """A field, flag or argument for a table's first column: never broken across lines (docs/stylesheets)."""
    return f'<code class="name">{html.escape(text)}</code>'


def _cell(text: object) -> str:
    """Text for a Markdown table cell: one line, no column breaks, no stray HTML (``<time>``)."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ").strip()


def cli_reference() -> str:
    """Every ``outage`` command: usage, description, arguments and options."""
    group: Any = typer.main.get_command(app)
    context_class = type(group.make_context("outage", [], resilient_parsing=True))
    context = context_class(group, info_name="outage")
    sections = []
    for name, command in group.commands.items():
        sub = context_class(command, info_name=name, parent=context)
        usage = command.get_usage(sub)
        lines = [f"## `outage {name}`", "", f"```text\n{usage}\n```", ""]
        lines += [(command.help or "").strip(), ""]
        rows = []
        for param in command.get_params(sub):
            if param.name == "help":
                continue
            if param.param_type_name == "option":
                metavar = param.display_type_rich(sub)
                flags = ", ".join(_name(f"{flag} {metavar}" if metavar else flag) for flag in param.opts)
                flags += "".join(f", {_name(flag)}" for flag in param.secondary_opts)
                default = (
                    "required"
                    if param.required
                    else ""
                    if param.default in (None, False) or (param.is_flag and not param.default)
                    else f"`{param.default}`"
                )
                rows.append(f"| {flags} | {_cell(param.help or '')} | {default} |")
            else:
                label = param.metavar or (param.name or "").upper()
                rows.append(f"| {_name(label)} | {_cell(getattr(param, 'help', '') or '')} | required |")
        if rows:
            lines += ["| argument or option | meaning | default |", "|---|---|---|", *rows, ""]
        sections.append("\n".join(lines))
    return "\n".join(sections)


def _is_duration(spec: dict[str, Any]) -> bool:
    return spec.get("type") == "string" and str(spec.get("pattern", "")).endswith("(ms|s|m|h)?\\s*$")


def _type(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in spec:
        members = spec["anyOf"]
        if any(_is_duration(item) for item in members):  # a duration is text or seconds: one type, not two
            members = [item for item in members if item.get("type") not in ("number", "integer")]
        kinds = [_type(item) for item in members]
        return " or ".join(dict.fromkeys(kinds))
    if "enum" in spec:
        return "one of " + ", ".join(f"`{value}`" for value in spec["enum"])
    if "const" in spec:
        return f"`{spec['const']}`"
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if kind == "object":
        return "mapping"
    if _is_duration(spec):
        return "duration"
    return str(kind)


def _default(spec: dict[str, Any]) -> str:
    """The default as a reader writes it: ``30s``, not ``30.0``."""
    value = spec.get("default")
    if value is None:
        return ""
    durations = [spec, *spec.get("anyOf", [])]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and any(map(_is_duration, durations)):
        value = format_duration(float(value))
    return f"`{value}`"


def _fields(definition: dict[str, Any]) -> list[str]:
    required = set(definition.get("required", []))
    rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for name, spec in definition.get("properties", {}).items():
        default = "required" if name in required else _default(spec)
        rows.append(f"| {_name(name)} | {_type(spec)} | {default} | {_cell(spec.get('description', ''))} |")
    return rows


def schema_reference() -> str:
    """Every section and field of experiment files, from the JSON Schema."""
    schema = experiment_schema()
    parts = ["## Experiment", "", _cell(schema.get("description", "")), "", *_fields(schema), ""]
    for name, definition in schema.get("$defs", {}).items():
        parts += [f"## {name}", "", _cell(definition.get("description", "")), ""]
        if "properties" in definition:
            parts += [*_fields(definition), ""]
        elif "enum" in definition:
            parts += ["One of: " + ", ".join(f"`{value}`" for value in definition["enum"]), ""]
    return "\n".join(parts)
