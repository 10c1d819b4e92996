"""mkdocs hook: the reference pages are generated from the code when the manual is built."""

from __future__ import annotations

from typing import Any

from chaos.reference import cli_reference, schema_reference

MARKERS = {"<!-- generated: cli -->": cli_reference, "<!-- generated: schema -->": schema_reference}


def on_page_markdown(markdown: str, **_: Any) -> str:
    for marker, generate in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown
