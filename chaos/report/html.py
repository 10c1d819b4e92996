"""The HTML report: one self-contained file (no network, no script) with an inline SVG timeline."""

from __future__ import annotations

import json
from html import escape

from chaos.report.banners import banners
from chaos.report.chart import FAULT_COLOURS, timeline_svg
from chaos.report.explain import description, failure_moments, limit_text, measured_text, note
from chaos.report.trend import previous_runs_html
from chaos.report.view import PhaseLoad, ReportView

__all__ = ["html", "timeline_svg"]

_CSS = """
ol.runs { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem; }
.chip { border-radius: 1rem; padding: .1rem .6rem; font-size: .85rem; background: #eaeef2; }
.chip.passed { background: #dafbe1; } .chip.failed { background: #ffebe9; }

body{font:14px/1.45 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d2433;margin:2rem auto;max-width:960px;padding:0 1rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
.verdict{display:inline-block;padding:.2rem .7rem;border-radius:4px;color:#fff;font-weight:700;letter-spacing:.03em}
.passed{background:#1a7f37}.failed{background:#cf222e}.unverified{background:#6e7781}.aborted,.running{background:#9a6700}.error{background:#82071e}
.banner{border-left:6px solid #cf222e;background:#ffebe9;padding:.6rem 1rem;margin:1rem 0}.banner.caution{border-color:#9a6700;background:#fff8c5}
.banner strong{display:block;font-size:1.05rem;margin-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.8rem 0}th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
td.pass{color:#1a7f37;font-weight:700}td.fail{color:#cf222e;font-weight:700}td.num{text-align:right;white-space:nowrap}
.muted,.desc{color:#57606a}.desc{font-size:12px;margin-top:.15rem}.facts{font-size:15px}
table.checks th:nth-child(1){width:28%}table.checks th:nth-child(2){width:4.5rem}table.checks th:nth-child(3){width:16%}
table.checks th:nth-child(4){width:13%}
pre{background:#f6f8fa;padding:.8rem 1rem;overflow:auto;font-size:12px;white-space:pre-wrap;word-break:break-word;max-height:28rem}
details{margin:.8rem 0}summary{cursor:pointer;font-weight:600}
svg text{font-size:11px;fill:#57606a}svg text.lane{font-weight:600}svg text.panel-title{fill:#1d2433}
svg .check-label,svg text.check-label{font-weight:600}
.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;vertical-align:-1px;margin-right:.3rem}
"""


def _checks(view: ReportView) -> str:
    rows = []
    for check in view.checks:
        mark = '<td class="pass">PASS</td>' if check.passed else '<td class="fail">FAIL</td>'
        meaning = description(check.name)
        extra = note(check)
        rows.append(
            f"<tr><td><code>{escape(check.name)}</code>"
            + (f'<div class="desc">{escape(meaning)}</div>' if meaning else "")
            + f"</td>{mark}"
            f"<td>{escape(measured_text(check))}</td><td>{escape(limit_text(check))}</td>"
            f"<td>{escape(check.reason)}" + (f'<div class="desc">{escape(extra)}</div>' if extra else "") + "</td></tr>"
        )
    if not rows:
        empty = {
            "unverified": "no check could run: nothing verified the faults (see above)",
            "running": "the run has not finished: no check ran",
        }.get(view.status, "no checks ran")
        rows.append(f'<tr><td colspan="5" class="muted">{escape(empty)}</td></tr>')
    return (
        '<table class="checks"><thead><tr><th>check</th><th>result</th><th>measured</th><th>limit</th><th>why</th>'
        "</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _banners(view: ReportView) -> str:
    return "".join(
        f'<div class="banner{"" if banner.severe else " caution"}" role="alert" data-kind="{banner.kind}">'
        f"<strong>{escape(banner.title)}</strong>{escape(banner.text)}</div>"
        for banner in banners(view)
    )


def _facts(view: ReportView) -> str:
    facts = []
    requests, failed = view.requests
    if requests:
        facts.append(f"{requests} requests through the application, {failed} not successful")
    if view.calls is not None:
        facts.append(f"AWS calls {view.calls.total} ({view.calls.fired} failed by faults)")
    return f'<p class="facts">{escape(" · ".join(facts))}</p>' if facts else ""


def _fault_calls(view: ReportView) -> str:
    if not view.faults and view.calls is None:
        return ""
    parts = ["<h2>Faults and the AWS calls they met</h2>"]
    if view.calls is None:
        why = (
            "The IAM injector sees no calls: AWS evaluates the denials itself (denial_in_effect is the proof)."
            if view.injector == "iam"
            else "This journal has no ledger of AWS calls: the run ended before it was judged, or an older "
            "version wrote it."
        )
        parts.append(f'<p class="muted">{escape(why)}</p>')
    calls = {fault.id: fault for fault in view.calls.faults} if view.calls else {}
    rows = []
    for index, fault in enumerate(view.faults):
        colour = FAULT_COLOURS[index % len(FAULT_COLOURS)]
        met = calls.get(fault.id)
        if met is None:
            numbers = '<td class="num">—</td><td class="num">—</td><td></td>'
        else:
            operations = ", ".join(f"{name} {fired}/{seen}" for name, seen, fired in met.operations) or "none"
            other = f" ({met.fired_by_other} failed by another fault first)" if met.fired_by_other else ""
            numbers = (
                f'<td class="num">{met.seen}</td><td class="num">{met.fired}{escape(other)}</td>'
                f"<td>{escape(operations)}</td>"
            )
        scope = met.scope if met is not None else fault.effect
        rows.append(
            f'<tr><td><span class="swatch" style="background:{colour}"></span>{escape(fault.label)}'
            f'<div class="desc">{escape(scope)}</div></td>'
            f'<td class="num">{fault.start:.1f}\N{EN DASH}{fault.end:.1f} s</td>{numbers}</tr>'
        )
    if rows:
        parts.append(
            "<table><thead><tr><th>fault</th><th>active</th><th>calls in its scope</th><th>fired on</th>"
            "<th>by operation (fired/in scope)</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )
    if view.calls is not None and view.calls.counts:
        counted = "".join(
            f"<tr><td>{escape(service)}</td><td>{escape(region)}</td><td>{escape(operation)}</td>"
            f'<td>{escape(outcome)}</td><td class="num">{count}</td></tr>'
            for service, region, operation, outcome, count in view.calls.counts
        )
        phases = ", ".join(f"{phase or 'setup'} {count}" for phase, count in view.calls.by_phase.items())
        parts.append(
            f"<details><summary>Every AWS call by service, region, operation and outcome ({view.calls.total})"
            f'</summary><p class="muted">Per phase: {escape(phases)}.</p>'
            "<table><thead><tr><th>service</th><th>region</th><th>operation</th><th>outcome</th><th>calls</th>"
            f"</tr></thead><tbody>{counted}</tbody></table></details>"
        )
    return "".join(parts)


def _statuses(phase: PhaseLoad) -> str:
    return ", ".join(f"{count}x {name}" for name, count in phase.statuses)  # as the checks' reasons write it


def _load(view: ReportView) -> str:
    if not view.load:
        return ""
    rows = "".join(
        f'<tr><td>{escape(phase.phase)}</td><td class="num">{phase.requests}</td>'
        f'<td class="num">{phase.successes}'
        + (f" ({100 * phase.successes / phase.requests:.1f} %)" if phase.requests else "")
        + f"</td><td>{escape(_statuses(phase))}</td></tr>"
        for phase in view.load
    )
    return (
        "<h2>The load, phase by phase</h2>"
        '<p class="muted">What came back to the requests the run sent through the application. A 404 for a '
        "document no acknowledged write had created is a correct answer and counts as a success; a 404 for a "
        "written document is a lost write.</p>"
        "<table><thead><tr><th>phase</th><th>requests</th><th>successes</th><th>statuses</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _rollback(view: ReportView) -> str:
    state = {True: "complete: every step verified", False: "INCOMPLETE", None: "unknown"}[view.rollback_complete]
    if view.after_crash:
        state += ", done by outage rollback after the runner crashed"
    rows = "".join(
        f"<tr><td>{escape(step.step)}</td>"
        + {True: '<td class="pass">ok</td>', False: '<td class="fail">FAILED</td>', None: "<td></td>"}[step.ok]
        + f"<td>{escape(step.details)}</td></tr>"
        for step in view.rollback_steps
    )
    table = f"<table><tbody>{rows}</tbody></table>" if rows else ""
    output = ""
    if view.app_output:
        output = (
            "<h2>Application output (last lines)</h2>"
            '<p class="muted">What the application printed last, kept by rollback when it stopped it.</p>'
            f"<pre>{escape(view.app_output)}</pre>"
        )
    return f"{output}<h2>Rollback</h2><p>Rollback {escape(state)}.</p>{table}"


def _timeline(view: ReportView) -> str:
    _, unplaced = failure_moments(view)
    after = ""
    if unplaced:
        names = ", ".join(
            check.name + (" (over the whole fault phase)" if check.name == "retry_amplification" else "")
            for check in unplaced
        )
        after = f'<p class="muted">Failed checks without a moment to mark: {escape(names)}.</p>'
    return (
        "<h2>Timeline</h2>"
        '<p class="muted">Seconds since the run started. Phases on top, each fault in its own lane and colour '
        "(shaded across the panels while it is active), each failed check at the moment it went wrong (dark red, "
        "dashed).</p>" + timeline_svg(view) + after
    )


def html(view: ReportView) -> str:
    """The whole report."""
    rollback = {True: "rollback complete", False: "ROLLBACK INCOMPLETE", None: "rollback unknown"}[
        view.rollback_complete
    ]
    duration = f"{view.duration:.1f} s" if isinstance(view.duration, (int, float)) else "duration unknown"
    experiment = escape(json.dumps(view.experiment, indent=2))
    about = f'<p class="muted">{escape(view.description)}</p>' if view.description else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(view.verdict)}: {escape(view.title)}</title>
<style>{_CSS}</style></head><body>
<p><span class="verdict {escape(view.status)}">{escape(view.verdict)}</span></p>
<h1>{escape(view.title)}</h1>
{about}<p>{escape(view.reason)}</p>
{_banners(view)}{_facts(view)}
<p class="muted">{escape(view.source)} · injector {escape(view.injector)} · seed {escape(str(view.seed))} · started {escape(view.started_at)} · {duration} · {rollback} · chaos-outage {escape(view.tool_version)}</p>
<h2>Checks</h2>
{_checks(view)}
{_timeline(view)}
{_fault_calls(view)}
{_load(view)}
{_rollback(view)}
{previous_runs_html(view)}
<details class="experiment"><summary>The experiment as run</summary>
<pre>{experiment}</pre>
</details>
</body></html>
"""
