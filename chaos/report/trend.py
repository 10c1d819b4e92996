"""The experiment's previous runs in a report: verdicts and a small availability trend."""

from __future__ import annotations

from html import escape
from typing import Any

from chaos.report.view import ReportView

__all__ = ["previous_runs_html", "previous_runs_markdown"]

_WORDS = {"passed": "GRACEFUL", "failed": "NOT GRACEFUL", "unverified": "UNVERIFIED", "aborted": "ABORTED"}


def _availability(run: dict[str, Any]) -> float | None:
    check = (run.get("checks") or {}).get("availability")
    value = check.get("measured") if isinstance(check, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _runs(view: ReportView) -> list[tuple[str, str, float | None]]:
    """(when, status, availability) of the previous runs and of this one, oldest first."""
    rows = [
        (str(run.get("started_at") or "?"), str(run.get("status", "?")), _availability(run)) for run in view.history
    ]
    now = next((c.measured for c in view.checks if c.name == "availability"), None)
    current = float(now) if isinstance(now, (int, float)) and not isinstance(now, bool) else None
    return [*rows, (view.started_at or "this run", view.status, current)]


def _sparkline(values: list[float | None], width: int = 320, height: int = 60) -> str:
    points = [(index, value) for index, value in enumerate(values) if value is not None]
    if len(points) < 2:
        return ""
    step = width / max(len(values) - 1, 1)
    xy = [(index * step, height - 6 - value * (height - 12), value) for index, value in points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in xy)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{value:.1%}</title></circle>' for x, y, value in xy)
    return (
        f'<svg class="trend" width="{width + 40}" height="{height}" viewBox="-4 0 {width + 44} {height}" role="img" '
        'aria-label="availability during the faults, run by run">'
        f'<text x="{width + 8}" y="10" font-size="10">100 %</text>'
        f'<text x="{width + 8}" y="{height - 2}" font-size="10">0 %</text>'
        f'<polyline fill="none" stroke="#0969da" stroke-width="2" points="{path}"/>{dots}</svg>'
    )


def previous_runs_html(view: ReportView) -> str:
    """A section with the previous runs' verdicts and availability, or '' when there are none."""
    if not view.history:
        return ""
    runs = _runs(view)
    chips = "".join(
        f'<li class="chip {escape(status)}" title="{escape(when)}">{escape(_WORDS.get(status, status.upper()))}'
        f"{'' if value is None else f' · {value:.1%}'}</li>"
        for when, status, value in runs
    )
    return (
        "<h2>This experiment over time</h2>"
        f'<p class="muted">The last {len(runs)} runs, oldest first (outage history shows them all).</p>'
        f'<ol class="runs">{chips}</ol>{_sparkline([value for _, _, value in runs])}'
    )


def previous_runs_markdown(view: ReportView) -> list[str]:
    """Lines for the Markdown report (none when there is no history)."""
    if not view.history:
        return []
    shown = ", ".join(
        f"{_WORDS.get(status, status.upper())}{'' if value is None else f' ({value:.1%})'}"
        for _, status, value in _runs(view)
    )
    return [f"Previous runs, oldest first, then this one: {shown}.", ""]
