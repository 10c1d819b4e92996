"""The timeline of a run as inline SVG: phases, one lane per fault, the moments failed checks went wrong,
and three panels (request rate, share answered successfully, latency) with numbered axes.

No script and nothing loaded: the SVG is text in the HTML file. Labels are laid out in rows so that
none overlaps another or runs off the chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from chaos.report.explain import Moment, failure_moments, seconds_of, seconds_text
from chaos.report.view import ReportView, Second

__all__ = ["FAULT_COLOURS", "timeline_svg"]

_WIDTH, _LEFT, _RIGHT = 900, 86, 24
_PLOT = _WIDTH - _LEFT - _RIGHT
_PANEL, _PANEL_GAP, _ROW, _LANE = 96, 40, 15, 17
_CHAR = 6.2  # the width of one character of 11px sans-serif, near enough to lay labels out
#: Colours of the faults' lanes and shading, in order (the first is the one a single fault gets).
FAULT_COLOURS = ("#cf222e", "#bc4c00", "#bf3989", "#0a7b83", "#7d4e00", "#6e7781")
_CHECK_COLOUR = "#82071e"

Value = Callable[[Second], float | None]


def _text(x: float, y: float, text: str, anchor: str = "start", css: str = "", fill: str = "") -> str:
    attributes = f' text-anchor="{anchor}"' if anchor != "start" else ""
    attributes += f' class="{css}"' if css else ""
    attributes += f' style="fill:{fill}"' if fill else ""  # a style: the page's CSS would beat an attribute
    return f'<text x="{x:.1f}" y="{y:.1f}"{attributes}>{escape(text)}</text>'


def _width(text: str) -> float:
    return len(text) * _CHAR


def _step(maximum: float, count: int, multiples: Sequence[float] = (1, 2, 2.5, 5, 10)) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that divides ``maximum`` into about ``count`` parts."""
    raw = max(maximum, 1e-9) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in multiples if m * magnitude >= raw))


def _axis(maximum: float, count: int = 4) -> tuple[float, list[float]]:
    """The top of an axis just above ``maximum``, and its ticks."""
    step = _step(maximum, count)
    top = step * max(1, math.ceil(maximum / step - 1e-9))
    return top, [i * step for i in range(round(top / step) + 1)]


def _rows(labels: Sequence[tuple[float, str]]) -> list[tuple[float, int, str]]:
    """Place labels (x, text) in the fewest rows where none overlaps another or leaves the chart."""
    ends: list[float] = []
    placed = []
    for wanted, text in sorted(labels):
        x = max(_LEFT, min(wanted, _WIDTH - 2 - _width(text)))
        row = next((i for i, end in enumerate(ends) if x > end + 6), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = x + _width(text)
        placed.append((x, row, text))
    return placed


def _latency_tick(seconds: float) -> str:
    return "0" if seconds == 0 else seconds_text(seconds)


class _Chart:
    def __init__(self, view: ReportView) -> None:
        self.view = view
        seconds = view.seconds
        self.end = max(
            [view.duration or 0.0, 1.0]
            + [s.t + 1.0 for s in seconds]
            + [f.end for f in view.faults]
            + [t for _, t in view.phases]
        )
        self.moments, _ = failure_moments(view)
        self.parts: list[str] = []

    def x(self, t: float) -> float:
        return _LEFT + _PLOT * min(max(t, 0.0), self.end) / self.end

    def render(self) -> str:
        y = 8.0
        y = self._phase_lane(y)
        y = self._fault_lanes(y + 4)
        y = self._check_lane(y + 4)
        top = y + 26
        bottom = self._panels(top)
        self._overlays(top, bottom)
        self._x_axis(bottom)
        height = bottom + 40
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Timeline of the run" '
            f'width="{_WIDTH}" height="{height:.0f}" viewBox="0 0 {_WIDTH} {height:.0f}">'
        )
        return head + "".join(self.parts) + "</svg>"

    def _margin(self, y: float, text: str) -> None:
        self.parts.append(_text(_LEFT - 8, y, text, "end", "lane"))

    def _phase_lane(self, y: float) -> float:
        phases = self.view.phases
        if not phases:
            return y
        placed = _rows([(self.x(t) + 3, name) for name, t in phases])
        rows = 1 + max(row for _, row, _ in placed)
        self._margin(y + 11, "phases")
        for index, (name, t) in enumerate(phases):
            until = phases[index + 1][1] if index + 1 < len(phases) else self.end
            x0, x1 = self.x(t), self.x(until)
            shade = "#eef1f4" if index % 2 == 0 else "#f6f8fa"
            self.parts.append(
                f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 1):.1f}" height="{rows * _ROW + 2}" '
                f'fill="{shade}">'
                f"<title>{escape(name)}: {t:.1f}\N{EN DASH}{until:.1f} s</title></rect>"
            )
        for x, row, text in placed:
            self.parts.append(_text(x, y + 11 + row * _ROW, text, css="phase-label"))
        return y + rows * _ROW + 2

    def _fault_lanes(self, y: float) -> float:
        never = {fault.id for fault in self.view.never_fired}
        for index, fault in enumerate(self.view.faults):
            colour = FAULT_COLOURS[index % len(FAULT_COLOURS)]
            x0, x1 = self.x(fault.start), self.x(fault.end)
            label = f"{fault.label} ({fault.start:.1f}\N{EN DASH}{fault.end:.1f} s)"
            self._margin(y + 12, f"fault {index + 1}")
            if fault.id in never:  # an outline only: it was armed, and nothing met it
                label += ": never fired"
                paint = f'fill="#ffffff" stroke="{colour}" stroke-width="1.5" stroke-dasharray="4 2"'
            else:
                paint = f'fill="{colour}"'
            self.parts.append(
                f'<rect class="fault-lane" x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 2):.1f}" height="{_LANE - 3}" '
                f'{paint} rx="2"><title>{escape(label)}</title></rect>'
            )
            if _width(label) + 8 <= x1 - x0:
                inside = colour if fault.id in never else "#ffffff"
                self.parts.append(_text(x0 + 4, y + 11, label, fill=inside, css="in-bar"))
            elif x1 + 4 + _width(label) <= _WIDTH:
                self.parts.append(_text(x1 + 4, y + 11, label, fill=colour))
            else:
                self.parts.append(_text(x0 - 4, y + 11, label, "end", fill=colour))
            y += _LANE
        return y

    def _check_lane(self, y: float) -> float:
        if not self.moments:
            return y
        labels = [(self.x(m.t) - 4, f"▼ {m.check} {m.t:.1f} s") for m in self.moments]
        placed = _rows(labels)
        self._margin(y + 11, "failed checks")
        for x, row, text in placed:
            self.parts.append(_text(x, y + 11 + row * _ROW, text, css="check-label", fill=_CHECK_COLOUR))
        return y + (1 + max(row for _, row, _ in placed)) * _ROW

    def _panels(self, top: float) -> float:
        seconds = self.view.seconds
        rate_top, rate_ticks = _axis(max([s.requests for s in seconds] + [1]) * 1.05)
        latency_top, latency_ticks = _axis(max([s.latency_max for s in seconds] + [0.001]) * 1.05)
        availability = next((c for c in self.view.checks if c.name == "availability"), None)
        latency = next((c for c in self.view.checks if c.name.startswith("latency_p")), None)
        panels: list[tuple[str, float, list[float], Callable[[float], str], list[tuple[Value, str, bool]]]] = [
            (
                "Requests per second: all (blue), ungraceful failures (red), graceful refusals (orange, dashed)",
                rate_top,
                rate_ticks,
                lambda v: f"{v:g}/s",
                [
                    (lambda s: s.requests, "#0969da", False),
                    (lambda s: s.failures, "#cf222e", False),
                    (lambda s: s.graceful, "#bc4c00", True),
                ],
            ),
            (
                "Share of requests answered successfully, per second",
                100.0,
                [0.0, 25.0, 50.0, 75.0, 100.0],
                lambda v: f"{v:g} %",
                [(lambda s: 100.0 * s.successes / s.requests if s.requests else None, "#1a7f37", False)],
            ),
            (
                "Latency per second: mean (solid), slowest (dashed)",
                latency_top,
                latency_ticks,
                _latency_tick,
                [(lambda s: s.latency_mean, "#8250df", False), (lambda s: s.latency_max, "#8250df", True)],
            ),
        ]
        y = top
        for index, (title, axis_top, ticks, tick_text, lines) in enumerate(panels):
            self.parts.append(_text(_LEFT, y - 6, title, css="panel-title"))
            self.parts.append(
                f'<rect x="{_LEFT}" y="{y:.1f}" width="{_PLOT}" height="{_PANEL}" fill="none" stroke="#d0d7de"/>'
            )
            for tick in ticks:
                ty = y + _PANEL - _PANEL * tick / axis_top
                self.parts.append(
                    f'<line x1="{_LEFT}" y1="{ty:.1f}" x2="{_LEFT + _PLOT}" y2="{ty:.1f}" stroke="#eaeef2"/>'
                    f'<line x1="{_LEFT - 4}" y1="{ty:.1f}" x2="{_LEFT}" y2="{ty:.1f}" stroke="#8c959f"/>'
                )
                self.parts.append(_text(_LEFT - 7, ty + 4, tick_text(tick), "end", "tick"))
            for value, colour, dashed in lines:
                self.parts.append(self._polyline(value, y, axis_top, colour, dashed))
            if index == 1 and availability is not None and isinstance(availability.limit, (int, float)):
                self._limit(
                    y, 100.0 * float(availability.limit), 100.0, f"availability limit {100 * availability.limit:g} %"
                )
            if index == 2 and latency is not None:
                limit = seconds_of(latency.limit)
                if limit is not None and limit <= axis_top:
                    self._limit(y, limit, axis_top, f"{latency.name} limit {seconds_text(limit)}")
            y += _PANEL + _PANEL_GAP
        return y - _PANEL_GAP

    def _limit(self, y: float, value: float, top: float, label: str) -> None:
        ly = y + _PANEL - _PANEL * value / top
        self.parts.append(
            f'<line class="limit" x1="{_LEFT}" y1="{ly:.1f}" x2="{_LEFT + _PLOT}" y2="{ly:.1f}" '
            f'stroke="#57606a" stroke-dasharray="6 4"/>'
        )
        self.parts.append(_text(_LEFT + _PLOT - 4, ly - 3, label, "end", "tick"))

    def _polyline(self, value: Value, y: float, top: float, colour: str, dashed: bool) -> str:
        points = []
        for second in self.view.seconds:
            number = value(second)
            if number is None:
                continue
            py = y + _PANEL - _PANEL * (min(float(number), top) / top if top else 0)
            points.append(f"{self.x(second.t + 0.5):.1f},{py:.1f}")
        if not points:
            return ""
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        return f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="1.6"{dash}/>'

    def _overlays(self, top: float, bottom: float) -> None:
        for index, fault in enumerate(self.view.faults):
            colour = FAULT_COLOURS[index % len(FAULT_COLOURS)]
            x0, x1 = self.x(fault.start), self.x(fault.end)
            self.parts.append(
                f'<rect class="fault" x="{x0:.1f}" y="{top:.1f}" width="{max(x1 - x0, 1):.1f}" '
                f'height="{bottom - top:.1f}" fill="{colour}" fill-opacity="0.10">'
                f"<title>{escape(fault.label)}</title></rect>"
            )
        for name, t in self.view.phases:
            x = self.x(t)
            self.parts.append(
                f'<line class="phase" x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
                f'stroke="#57606a" stroke-dasharray="2 3"><title>{escape(name)}</title></line>'
            )
        for moment in self.moments:
            self._moment(moment, top, bottom)

    def _moment(self, moment: Moment, top: float, bottom: float) -> None:
        x = self.x(moment.t)
        self.parts.append(
            f'<line class="check-marker" x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
            f'stroke="{_CHECK_COLOUR}" stroke-width="1.4" stroke-dasharray="5 3">'
            f"<title>{escape(moment.check)}: {escape(moment.what)} at {moment.t:.1f} s</title></line>"
        )

    def _x_axis(self, bottom: float) -> None:
        step = max(1.0, _step(self.end, 10, (1, 2, 5, 10)))
        tick = 0.0
        while tick <= self.end + 1e-9:
            x = self.x(tick)
            self.parts.append(
                f'<line x1="{x:.1f}" y1="{bottom:.1f}" x2="{x:.1f}" y2="{bottom + 4:.1f}" stroke="#8c959f"/>'
            )
            self.parts.append(_text(x, bottom + 16, f"{tick:g} s", "middle", "tick"))
            tick += step
        self.parts.append(_text(_LEFT + _PLOT / 2, bottom + 32, "seconds since the run started", "middle", "tick"))


def timeline_svg(view: ReportView) -> str:
    """The whole chart: phases, fault lanes, failed checks, and the load's three panels."""
    return _Chart(view).render()
