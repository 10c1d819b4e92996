"""Markdown (for a pull request or $GITHUB_STEP_SUMMARY) and JUnit XML (one test case per check and
per fault). Both carry what the HTML report says: units, what each check means, the banners."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from chaos.report.banners import banners
from chaos.report.explain import description, limit_text, measured_text, note
from chaos.report.trend import previous_runs_markdown
from chaos.report.view import ReportView

__all__ = ["junit", "markdown", "xml_document"]

# What XML 1.0 forbids (control characters, lone surrogates, U+FFFE and U+FFFF): a title or a reason
# holding one would make the whole file unreadable to every JUnit consumer.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_document(root: ElementTree.Element) -> str:
    """``root`` as an XML 1.0 document, every character XML does not allow replaced by U+FFFD."""
    ElementTree.indent(root)
    text = ElementTree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + _NOT_XML.sub("\ufffd", text) + "\n"


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _markdown_checks(view: ReportView) -> list[str]:
    if not view.checks:
        return []
    lines = ["| check | result | measured | limit | why |", "|---|---|---|---|---|"]
    for check in view.checks:
        mark = "pass" if check.passed else "**FAIL**"
        why = " ".join(part for part in (check.reason, note(check)) if part)
        lines.append(
            f"| {check.name} | {mark} | {_cell(measured_text(check))} | {_cell(limit_text(check))} | {_cell(why)} |"
        )
    lines.append("")
    meanings = [f"- **{check.name}**: {description(check.name)}" for check in view.checks if description(check.name)]
    if meanings:
        lines += ["<details><summary>What the checks mean</summary>", "", *meanings, "", "</details>", ""]
    return lines


def _markdown_faults(view: ReportView) -> list[str]:
    if not view.faults:
        return []
    calls = {fault.id: fault for fault in view.calls.faults} if view.calls else {}
    lines = [
        "| fault | active | calls in its scope | fired on | by operation (fired/in scope) |",
        "|---|---|---|---|---|",
    ]
    for fault in view.faults:
        met = calls.get(fault.id)
        window = f"{fault.start:.1f}\N{EN DASH}{fault.end:.1f} s"
        if met is None:
            lines.append(f"| {_cell(fault.label)} | {window} | — | — | |")
            continue
        operations = ", ".join(f"{name} {fired}/{seen}" for name, seen, fired in met.operations) or "none"
        fired = f"{met.fired}" + (
            f" ({met.fired_by_other} failed by another fault first)" if met.fired_by_other else ""
        )
        lines.append(
            f"| {_cell(fault.label)} ({_cell(met.scope)}) | {window} | {met.seen} | {fired} | {_cell(operations)} |"
        )
    return [*lines, ""]


def markdown(view: ReportView) -> str:
    """A summary: verdict, banners, checks with units, faults and the AWS calls they met, the load per phase."""
    icon = {"passed": "✅", "failed": "❌"}.get(view.status, "⚠️")
    lines = [f"## {icon} {view.verdict}: {view.title}", ""]
    for banner in banners(view):
        lines += [f"> [!{'CAUTION' if banner.severe else 'WARNING'}]", f"> **{banner.title}.** {banner.text}", ""]
    lines += [view.reason, ""]
    lines += previous_runs_markdown(view)
    facts = []
    requests, failed = view.requests
    if requests:
        facts.append(f"{requests} requests through the application, {failed} not successful")
    if view.calls is not None:
        facts.append(f"AWS calls {view.calls.total} ({view.calls.fired} failed by faults)")
    if facts:
        lines += [" · ".join(facts) + ".", ""]
    lines += _markdown_checks(view)
    lines += _markdown_faults(view)
    if view.load:
        lines += ["| phase | requests | successes | statuses |", "|---|---|---|---|"]
        for phase in view.load:
            share = f" ({100 * phase.successes / phase.requests:.1f} %)" if phase.requests else ""
            statuses = ", ".join(f"{count}x {name}" for name, count in phase.statuses)
            lines.append(f"| {phase.phase} | {phase.requests} | {phase.successes}{share} | {_cell(statuses)} |")
        lines.append("")
    if view.app_output:
        lines += ["<details><summary>Application output (last lines)</summary>", "", "```text", view.app_output]
        lines += ["```", "", "</details>", ""]
    rollback = {True: "complete", False: "**INCOMPLETE**", None: "unknown"}[view.rollback_complete]
    if view.after_crash:
        rollback += ", after a crash"
    duration = f"{view.duration:.1f} s" if isinstance(view.duration, (int, float)) else "?"
    lines.append(
        f"Injector {view.injector}, seed {view.seed}, {duration}, rollback {rollback}; experiment `{view.source}`."
    )
    return "\n".join(lines) + "\n"


def junit(view: ReportView) -> str:
    """JUnit XML: the run is a test suite, each check a test case (failures carry the reason), each fault a
    test case that is skipped when it never fired; unverified, aborted and errored runs are errors."""
    failures = sum(1 for check in view.checks if not check.passed)
    errored = view.status in ("aborted", "error", "unverified", "running")
    faults = view.calls.faults if view.calls else []
    skipped = sum(1 for fault in faults if fault.fired == 0)
    suite = ElementTree.Element(
        "testsuite",
        name=f"outage: {view.title}",
        tests=str(len(view.checks) + len(faults) + (1 if errored or not view.checks else 0)),
        failures=str(failures),
        errors=str(1 if errored else 0),
        skipped=str(skipped),
        time=f"{view.duration or 0:.3f}",
        timestamp=view.started_at,
    )
    properties = ElementTree.SubElement(suite, "properties")
    values: list[tuple[str, object]] = [
        ("injector", view.injector),
        ("seed", view.seed),
        ("status", view.status),
        ("verdict", view.verdict),
        ("source", view.source),
    ]
    if view.calls is not None:
        values += [("aws_calls", view.calls.total), ("aws_calls_failed_by_faults", view.calls.fired)]
    for name, value in values:
        ElementTree.SubElement(properties, "property", name=name, value=str(value))
    for check in view.checks:
        case = ElementTree.SubElement(suite, "testcase", classname="outage.checks", name=check.name, time="0")
        detail = f"measured {measured_text(check)}, limit {limit_text(check)}: {check.reason}"
        extra = "\n".join(part for part in (note(check), description(check.name)) if part)
        if not check.passed:
            failure = ElementTree.SubElement(case, "failure", message=check.reason, type="NotGraceful")
            failure.text = f"{detail}\n{extra}".strip()
        else:
            ElementTree.SubElement(case, "system-out").text = f"{detail}\n{extra}".strip()
    for fault in faults:
        case = ElementTree.SubElement(suite, "testcase", classname="outage.faults", name=f"fired: {fault.label}")
        operations = ", ".join(f"{name} {fired}/{seen}" for name, seen, fired in fault.operations) or "none"
        summary = (
            f"fired on {fault.fired} of {fault.seen} calls in its scope ({fault.scope}); by operation: {operations}"
        )
        if fault.fired == 0:
            ElementTree.SubElement(case, "skipped", message="never fired: nothing proves this outage happened")
        ElementTree.SubElement(case, "system-out").text = summary
    if errored or not view.checks:
        case = ElementTree.SubElement(suite, "testcase", classname="outage.run", name="run")
        if errored:
            ElementTree.SubElement(case, "error", message=view.reason, type=view.status).text = view.reason
    found = banners(view)
    if found:
        ElementTree.SubElement(suite, "system-err").text = "\n".join(f"{b.title}. {b.text}" for b in found)
    return xml_document(suite)
