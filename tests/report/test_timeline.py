"""The timeline chart: failed checks at their moments, one lane and colour per fault, numbered axes, labels
that neither overlap nor leave the chart."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos.report import render_report
from chaos.report.chart import FAULT_COLOURS, timeline_svg
from chaos.report.explain import failure_moments
from chaos.report.view import ReportView
from chaos.verify import checks
from chaos.verify.log import PhaseStats
from tests.report.conftest import Shot, has_colour

Journal = Callable[..., dict[str, Any]]
CHAR = 6.2  # the chart's estimate of one character's width


def _labels(svg: str) -> list[tuple[float, str, str]]:
    """(x, anchor, text) of every label."""
    found = []
    for attributes, text in re.findall(r"<text ([^>]*)>([^<]*)</text>", svg):
        x = float(re.search(r'x="([\d.-]+)"', attributes).group(1))  # type: ignore[union-attr]
        anchor = re.search(r'text-anchor="(\w+)"', attributes)
        found.append((x, anchor.group(1) if anchor else "start", text))
    return found


def test_failed_checks_are_marked_at_their_moments(journal: Journal) -> None:
    view = ReportView.from_journal(journal())
    moments, unplaced = failure_moments(view)
    assert [(m.check, m.t, m.what) for m in moments] == [
        ("availability", 5.0, "first failed request"),  # the first second of the faults with a failure
        ("latency_p99", 9.0, "first request over the limit"),  # the slowest request of second 9 took 2.5 s > 2 s
        ("durability", 7.25, "first lost write acknowledged"),  # recorded by the check
        ("recovery", 19.4, "still failing"),
    ]
    assert unplaced == []
    svg = timeline_svg(view)
    assert svg.count('class="check-marker"') == 4
    for moment in moments:
        assert f"▼ {moment.check} {moment.t:.1f} s" in svg


def test_checks_record_their_moment() -> None:
    acknowledged = {"a": b"1", "b": b"2", "c": b"3"}
    read_back = {"a": (200, b"1"), "b": (404, b""), "c": (200, b"other")}
    lost = checks.durability(acknowledged, read_back, {"a": 1.0, "b": 9.5, "c": 4.25})
    assert lost.at == 4.25 and lost.to_dict()["at"] == 4.25
    still = PhaseStats(count=10, successes=5, last_failure_end=14.9)
    failing = checks.recovery(still, 9.0, 15.0, 4.0)
    assert failing.at == 14.9 and failing.measured is None
    assert failing.reason == "never recovered within the 6 s recovery phase: requests were still failing when it ended"
    fine = checks.durability(acknowledged, {k: (200, v) for k, v in acknowledged.items()})
    assert "at" not in fine.to_dict()  # the journal's check entries keep their shape when there is no moment


def test_overlapping_faults_get_their_own_lanes_and_colours(journal: Journal) -> None:
    data = journal()
    data["faults"][1]["start"] = 9.0  # overlaps the first
    svg = timeline_svg(ReportView.from_journal(data))
    lanes = re.findall(r'<rect class="fault-lane" x="[\d.]+" y="([\d.]+)"[^>]*fill="(#\w+)"', svg)
    assert len(lanes) == 2 and lanes[0][0] != lanes[1][0] and lanes[0][1] != lanes[1][1]
    assert [colour for _, colour in lanes] == list(FAULT_COLOURS[:2])
    assert "S3 down (5.0–13.0 s)" in svg and "writes down (9.0–17.0 s)" in svg  # noqa: RUF001
    assert "fault 1" in svg and "fault 2" in svg


def test_axes_carry_values_with_units(journal: Journal) -> None:
    svg = timeline_svg(ReportView.from_journal(journal()))
    texts = [text for _, _, text in _labels(svg)]
    assert {"0/s", "10/s", "20/s"} <= set(texts)
    assert {"0 %", "50 %", "100 %"} <= set(texts)
    assert "0" in texts and any(re.fullmatch(r"\d+(\.\d+)? s", t) or t.endswith(" ms") for t in texts)
    assert {"0 s", "2 s", "10 s", "20 s"} <= set(texts) and "seconds since the run started" in texts
    assert "max " not in svg
    assert "availability limit 95 %" in texts


def test_no_label_is_cut_off_or_overlaps_another(journal: Journal) -> None:
    data = journal()
    data["timeline"] += [{"event": "phase", "phase": "a_very_long_phase_name_at_the_end", "run_t": 19.9}]
    svg = timeline_svg(ReportView.from_journal(data))
    width = float(re.search(r'width="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    rows: dict[float, list[tuple[float, float]]] = {}
    for attributes, text in re.findall(r'<text ([^>]*class="(?:phase-label|check-label)"[^>]*)>([^<]*)</text>', svg):
        x = float(re.search(r'x="([\d.]+)"', attributes).group(1))  # type: ignore[union-attr]
        y = float(re.search(r'y="([\d.]+)"', attributes).group(1))  # type: ignore[union-attr]
        assert x >= 0 and x + len(text) * CHAR <= width, text
        rows.setdefault(y, []).append((x, x + len(text) * CHAR))
    assert any("a_very_long_phase_name_at_the_end" in text for _, _, text in _labels(svg))
    for spans in rows.values():
        spans.sort()
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans)), spans


def test_the_chart_renders_with_its_marks(journal: Journal, shot: Shot, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report(journal(), "html"))
    image = shot(page, 1000, 2600)
    assert has_colour(image, (130, 7, 30)), "no failed check is marked"  # #82071e
    assert has_colour(image, (188, 76, 0)), "the second fault's lane is missing"  # #bc4c00
    assert has_colour(image, (207, 34, 46)), "the first fault's lane is missing"  # #cf222e
