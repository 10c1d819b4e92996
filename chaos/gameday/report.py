"""The combined report of a game day: every experiment's verdict and checks in one HTML page, one
Markdown summary and one JUnit file (a test suite per experiment, a test case per check)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from chaos.report.text import xml_document

__all__ = ["DayReport", "Played", "write_day"]

VERDICTS = {
    "passed": "GRACEFUL",
    "failed": "NOT GRACEFUL",
    "unverified": "UNVERIFIED",
    "aborted": "ABORTED",
    "error": "ERROR",
    "skipped": "SKIPPED",
}
COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "skipped": "#6e7781"}


@dataclass(frozen=True)
class Played:
    """One experiment of the day: its file, its journal (None when it never started), its reports."""

    file: str
    title: str
    journal: dict[str, Any] | None
    reports: str | None
    """The experiment's own report directory, relative to the day's."""
    error: str | None = None
    """Why it could not start (its journal held by another run, a setting it cannot run with)."""

    @property
    def status(self) -> str:
        """passed, failed, unverified, aborted, error, or skipped (the day stopped before it)."""
        if self.journal is None:
            return "skipped" if self.error is None else "error"
        return str(self.journal.get("status", "error"))

    @property
    def reason(self) -> str:
        """Why it ended as it did."""
        if self.journal is None:
            return self.error or "the day stopped before this experiment"
        return str(self.journal.get("reason") or "")


@dataclass(frozen=True)
class DayReport:
    """What the day did."""

    title: str
    window: str | None
    notes: str | None
    started_at: str
    verdict: str
    reason: str
    played: list[Played]


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def markdown(day: DayReport) -> str:
    """The day as Markdown."""
    lines = [f"# {day.verdict}: {day.title}", "", day.reason, ""]
    if day.window:
        lines.append(f"Window: {day.window}. ")
    if day.notes:
        lines.append(f"Notes: {day.notes}")
    lines += ["", "| experiment | verdict | failed checks | report |", "|---|---|---|---|"]
    for played in day.played:
        failed = [c["name"] for c in (played.journal or {}).get("checks", []) if not c.get("passed")]
        link = f"[{played.reports}/report.html]({played.reports}/report.html)" if played.reports else ""
        lines.append(
            f"| {_cell(played.title)} (`{played.file}`) | {VERDICTS.get(played.status, played.status.upper())} | "
            f"{_cell(', '.join(failed))} | {link} |"
        )
    for played in day.played:
        if played.status == "skipped":
            continue
        lines += ["", f"## {played.title}", "", _cell(played.reason), ""]
        checks = (played.journal or {}).get("checks", [])
        if checks:
            lines += ["| check | result | measured | limit | why |", "|---|---|---|---|---|"]
            for check in checks:
                mark = "pass" if check.get("passed") else "**FAIL**"
                lines.append(
                    f"| {check.get('name')} | {mark} | {_cell(check.get('measured'))} | {_cell(check.get('limit'))} "
                    f"| {_cell(check.get('reason'))} |"
                )
    return "\n".join(lines) + "\n"


def junit(day: DayReport) -> str:
    """JUnit XML: a test suite per experiment, a test case per check; a skipped experiment is skipped."""
    root = ElementTree.Element("testsuites", name=f"game day: {day.title}")
    for played in day.played:
        journal = played.journal or {}
        checks = journal.get("checks", [])
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name=played.title,
            tests=str(len(checks) or 1),
            failures=str(sum(1 for check in checks if not check.get("passed"))),
            errors=str(1 if played.status in ("aborted", "error") else 0),
            skipped=str(1 if played.status == "skipped" else 0),
            timestamp=str(journal.get("started_at") or day.started_at),
            time=f"{float(journal.get('duration') or 0):.3f}",
        )
        properties = ElementTree.SubElement(suite, "properties")
        ElementTree.SubElement(properties, "property", name="file", value=played.file)
        ElementTree.SubElement(properties, "property", name="status", value=played.status)
        for check in checks:
            case = ElementTree.SubElement(suite, "testcase", classname=played.title, name=str(check.get("name")))
            reason = str(check.get("reason", ""))
            if not check.get("passed"):
                failure = ElementTree.SubElement(case, "failure", message=reason, type="NotGraceful")
                failure.text = f"measured {check.get('measured')}, limit {check.get('limit')}: {reason}"
        if played.status in ("skipped", "aborted", "error") or not checks:
            case = ElementTree.SubElement(suite, "testcase", classname=played.title, name="run")
            if played.status == "skipped":
                ElementTree.SubElement(case, "skipped", message=played.reason)
            elif played.status in ("aborted", "error"):
                message = played.reason
                ElementTree.SubElement(case, "error", message=message, type=played.status).text = message
    return xml_document(root)


def page(day: DayReport) -> str:
    """The day as one self-contained HTML page (no script, nothing loaded from anywhere)."""
    e = html.escape
    rows = []
    for played in day.played:
        failed = [c["name"] for c in (played.journal or {}).get("checks", []) if not c.get("passed")]
        link = f'<a href="{e(played.reports)}/report.html">report</a>' if played.reports else ""
        colour = COLOURS.get(played.status, "#9a6700")
        why = e(played.reason)
        rows.append(
            f"<tr><td>{e(played.title)}<br><code>{e(played.file)}</code></td>"
            f'<td style="color:{colour};font-weight:bold">{e(VERDICTS.get(played.status, played.status.upper()))}</td>'
            f"<td>{e(', '.join(failed))}</td><td>{why}</td><td>{link}</td></tr>"
        )
    details = []
    for played in day.played:
        checks = (played.journal or {}).get("checks", [])
        if not checks:
            continue
        body = "".join(
            f"<tr><td>{e(str(c.get('name')))}</td><td>{'pass' if c.get('passed') else '<b>FAIL</b>'}</td>"
            f"<td>{e(str(c.get('measured')))}</td><td>{e(str(c.get('limit')))}</td><td>{e(str(c.get('reason')))}</td></tr>"
            for c in checks
        )
        details.append(
            f"<h3>{e(played.title)}</h3><table><tr><th>check</th><th>result</th><th>measured</th><th>limit</th>"
            f"<th>why</th></tr>{body}</table>"
        )
    colour = "#1a7f37" if day.verdict == "GRACEFUL" else "#cf222e"
    window = f"<p>Window: {e(day.window)}</p>" if day.window else ""
    notes = f"<p>Notes: {e(day.notes)}</p>" if day.notes else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(day.title)}: {e(day.verdict)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; max-width: 72rem; color: #1f2328; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; }}
th, td {{ border: 1px solid #d0d7de; padding: .4rem .6rem; text-align: left; vertical-align: top; }}
th {{ background: #f6f8fa; }}
.verdict {{ color: {colour}; }}
</style></head>
<body>
<h1><span class="verdict">{e(day.verdict)}</span>: {e(day.title)}</h1>
<p>{e(day.reason)}</p>{window}{notes}
<p>Started {e(day.started_at)}.</p>
<table><tr><th>experiment</th><th>verdict</th><th>failed checks</th><th>why</th><th></th></tr>{"".join(rows)}</table>
{"".join(details)}
</body></html>
"""


def write_day(day: DayReport, directory: Path) -> list[Path]:
    """report.html, report.md and junit.xml of the day into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("report.html", page(day)), ("report.md", markdown(day)), ("junit.xml", junit(day))):
        path = directory / name
        path.write_text(text, encoding="utf-8", errors="replace")  # a lone surrogate from a journal: "?"
        written.append(path)
    return written
