"""Markdown (for a pull request or $GITHUB_STEP_SUMMARY) and JUnit XML (one test case per check)."""

from __future__ import annotations

from xml.etree import ElementTree

from chaos.report.view import ReportView

__all__ = ["junit", "markdown"]


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def markdown(view: ReportView) -> str:
    """A short summary: verdict, the checks table, the faults, where the journal is."""
    icon = {"passed": "✅", "failed": "❌"}.get(view.status, "⚠️")
    lines = [f"## {icon} {view.verdict}: {view.title}", "", view.reason, ""]
    if view.checks:
        lines += ["| check | result | measured | limit | why |", "|---|---|---|---|---|"]
        for check in view.checks:
            mark = "pass" if check.passed else "**FAIL**"
            lines.append(
                f"| {check.name} | {mark} | {_cell(check.measured)} | {_cell(check.limit)} | {_cell(check.reason)} |"
            )
        lines.append("")
    if view.faults:
        windows = ", ".join(f"{fault.label} ({fault.start:.0f}s-{fault.end:.0f}s)" for fault in view.faults)
        lines += [f"Faults: {windows}.", ""]
    rollback = {True: "complete", False: "**INCOMPLETE**", None: "unknown"}[view.rollback_complete]
    duration = f"{view.duration:.1f}s" if view.duration is not None else "?"
    lines.append(
        f"Injector {view.injector}, seed {view.seed}, {duration}, rollback {rollback}; experiment `{view.source}`."
    )
    return "\n".join(lines) + "\n"


def junit(view: ReportView) -> str:
    """JUnit XML: the run is a test suite, each check a test case; failures carry the reason."""
    failures = sum(1 for check in view.checks if not check.passed)
    errored = view.status in ("aborted", "error")
    suite = ElementTree.Element(
        "testsuite",
        name=f"outage: {view.title}",
        tests=str(len(view.checks) or 1),
        failures=str(failures),
        errors=str(1 if errored else 0),
        time=f"{view.duration or 0:.3f}",
        timestamp=view.started_at,
    )
    properties = ElementTree.SubElement(suite, "properties")
    for name, value in (
        ("injector", view.injector),
        ("seed", view.seed),
        ("status", view.status),
        ("source", view.source),
    ):
        ElementTree.SubElement(properties, "property", name=name, value=str(value))
    for check in view.checks:
        case = ElementTree.SubElement(suite, "testcase", classname="outage.checks", name=check.name, time="0")
        if not check.passed:
            failure = ElementTree.SubElement(case, "failure", message=check.reason, type="NotGraceful")
            failure.text = f"measured {check.measured}, limit {check.limit}: {check.reason}"
        else:
            ElementTree.SubElement(case, "system-out").text = check.reason
    if errored or not view.checks:
        case = ElementTree.SubElement(suite, "testcase", classname="outage.run", name="run")
        if errored:
            ElementTree.SubElement(case, "error", message=view.reason, type=view.status).text = view.reason
    ElementTree.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suite, encoding="unicode") + "\n"
