"""Choosing and writing report formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaos.report.html import html
from chaos.report.text import junit, markdown
from chaos.report.view import ReportView

__all__ = ["FORMATS", "render_report", "write_reports"]

FORMATS = {"html": "report.html", "md": "report.md", "junit": "junit.xml", "json": "report.json"}


def render_report(journal: dict[str, Any], format: str) -> str:
    """The report of a journal in one format: html, md, junit or json."""
    if format == "json":
        return json.dumps(journal, indent=2, default=str) + "\n"
    view = ReportView.from_journal(journal)
    if format == "html":
        return html(view)
    if format == "md":
        return markdown(view)
    if format == "junit":
        return junit(view)
    raise ValueError(f"unknown report format {format!r}; formats: {', '.join(FORMATS)}")


def write_reports(journal: dict[str, Any], directory: Path) -> list[Path]:
    """Every format into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for format, name in FORMATS.items():
        path = directory / name
        path.write_text(render_report(journal, format))
        written.append(path)
    return written
