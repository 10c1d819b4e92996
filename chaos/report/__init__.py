"""Reports of a run, rendered from its journal: HTML, Markdown, JUnit XML and JSON."""

from chaos.report.render import FORMATS, render_report, write_reports

__all__ = ["FORMATS", "render_report", "write_reports"]
