"""The HTML report: one self-contained file (no network, no script) with an inline SVG timeline."""

from __future__ import annotations

import json
from html import escape

from chaos.report.view import ReportView, Second

__all__ = ["html", "timeline_svg"]

_WIDTH, _PANEL, _GAP, _LEFT, _RIGHT, _TOP = 900, 120, 28, 64, 16, 24
_CSS = """
body{font:14px/1.45 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d2433;margin:2rem auto;max-width:960px;padding:0 1rem}
h1{font-size:1.5rem;margin:.2rem 0}.verdict{display:inline-block;padding:.2rem .7rem;border-radius:4px;color:#fff;font-weight:700}
.passed{background:#1a7f37}.failed{background:#cf222e}.aborted,.error{background:#9a6700}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
td.pass{color:#1a7f37;font-weight:700}td.fail{color:#cf222e;font-weight:700}.muted{color:#57606a}
pre{background:#f6f8fa;padding:1rem;overflow:auto;font-size:12px}svg text{font-size:11px;fill:#57606a}
"""


def _x(t: float, end: float) -> float:
    return _LEFT + (_WIDTH - _LEFT - _RIGHT) * (t / end if end else 0)


def _panel(index: int) -> float:
    return _TOP + index * (_PANEL + _GAP)


def _polyline(points: list[tuple[float, float]], colour: str, dashed: bool = False) -> str:
    if not points:
        return ""
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="1.6"{dash}/>'


def _series(seconds: list[Second], end: float, panel: int, value: object, top: float) -> list[tuple[float, float]]:
    base = _panel(panel) + _PANEL
    points = []
    for second in seconds:
        number = value(second)  # type: ignore[operator]
        if number is None:
            continue
        y = base - _PANEL * (min(float(number), top) / top if top else 0)
        points.append((_x(second.t + 0.5, end), y))
    return points


def timeline_svg(view: ReportView) -> str:
    """Request rate, success ratio and latency over time; fault windows shaded; phases marked."""
    seconds = view.seconds
    end = max([view.duration or 0.0] + [s.t + 1.0 for s in seconds] + [f.end for f in view.faults] + [1.0])
    height = _TOP + 3 * (_PANEL + _GAP)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Timeline of the run" width="{_WIDTH}" height="{height}" viewBox="0 0 {_WIDTH} {height}">'
    ]
    for fault in view.faults:
        x0, x1 = _x(fault.start, end), _x(fault.end, end)
        parts.append(
            f'<rect class="fault" x="{x0:.1f}" y="{_TOP - 6}" width="{max(x1 - x0, 1):.1f}" height="{height - _TOP}" fill="#cf222e" fill-opacity="0.10"><title>{escape(fault.label)}</title></rect>'
        )
        parts.append(f'<text x="{x0 + 3:.1f}" y="{_TOP - 10}">{escape(fault.label)}</text>')
    rate_top = max([s.requests for s in seconds] + [1]) * 1.15
    latency_top = max([s.latency_max for s in seconds] + [0.001]) * 1.15
    panels = [
        ("requests/s", rate_top, [(lambda s: s.requests, "#0969da", False), (lambda s: s.failures, "#cf222e", False)]),
        ("success %", 100.0, [(lambda s: 100.0 * s.successes / s.requests if s.requests else None, "#1a7f37", False)]),
        (
            "latency s",
            latency_top,
            [(lambda s: s.latency_mean, "#8250df", False), (lambda s: s.latency_max, "#8250df", True)],
        ),
    ]
    for index, (label, top, lines) in enumerate(panels):
        y = _panel(index)
        parts.append(
            f'<rect x="{_LEFT}" y="{y}" width="{_WIDTH - _LEFT - _RIGHT}" height="{_PANEL}" fill="none" stroke="#d0d7de"/>'
        )
        parts.append(
            f'<text x="4" y="{y + 12}">{label}</text><text x="4" y="{y + 26}">max {top / 1.15 if index != 1 else 100:.3g}</text>'
        )
        for value, colour, dashed in lines:
            parts.append(_polyline(_series(seconds, end, index, value, top), colour, dashed))
    for index, (name, t) in enumerate(view.phases):
        x = _x(t, end)
        label_y = _panel(index % 3) + 12 + 14 * (index // 3 % 2)  # staggered: phases can start close together
        parts.append(
            f'<line class="phase" x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{height - _GAP}" stroke="#57606a" stroke-dasharray="2 3"/>'
        )
        parts.append(f'<text x="{x + 3:.1f}" y="{label_y}">{escape(name)}</text>')
    for tick in range(0, int(end) + 1, max(1, int(end // 10) or 1)):
        parts.append(f'<text x="{_x(tick, end) - 4:.1f}" y="{height - 2}">{tick}s</text>')
    parts.append("</svg>")
    return "".join(parts)


def html(view: ReportView) -> str:
    """The whole report."""
    rows = []
    for check in view.checks:
        mark = '<td class="pass">PASS</td>' if check.passed else '<td class="fail">FAIL</td>'
        rows.append(
            f"<tr><td>{escape(check.name)}</td>{mark}<td>{escape(str(check.measured))}</td>"
            f"<td>{escape(str(check.limit))}</td><td>{escape(check.reason)}</td></tr>"
        )
    checks = "".join(rows) or '<tr><td colspan="5" class="muted">no checks ran</td></tr>'
    rollback = {True: "complete", False: "INCOMPLETE", None: "unknown"}[view.rollback_complete]
    duration = f"{view.duration:.1f} s" if view.duration is not None else "?"
    experiment = escape(json.dumps(view.experiment, indent=2))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(view.verdict)}: {escape(view.title)}</title>
<style>{_CSS}</style></head><body>
<p><span class="verdict {escape(view.status)}">{escape(view.verdict)}</span></p>
<h1>{escape(view.title)}</h1>
<p>{escape(view.reason)}</p>
<p class="muted">{escape(view.source)} · injector {escape(view.injector)} · seed {escape(str(view.seed))} · started {escape(view.started_at)} · {duration} · rollback {rollback} · chaos-outage {escape(view.tool_version)}</p>
<h2>Checks</h2>
<table><thead><tr><th>check</th><th>result</th><th>measured</th><th>limit</th><th>why</th></tr></thead><tbody>{checks}</tbody></table>
<h2>Timeline</h2>
<p class="muted">Requests per second (blue, failures red), share answered successfully, latency (mean, max dashed); faults shaded; phases marked.</p>
{timeline_svg(view)}
<h2>The experiment as run</h2>
<pre>{experiment}</pre>
</body></html>
"""
