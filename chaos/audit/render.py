"""An audit report as text for a terminal (the JSON form is :meth:`AuditReport.to_dict`)."""

from __future__ import annotations

import textwrap

from chaos.audit.findings import AuditReport, Dependency

__all__ = ["render_text"]

_WIDTH = 100


def _wrapped(text: str, indent: str) -> list[str]:
    wrapped = textwrap.wrap(text, _WIDTH, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)
    return wrapped or [indent]


def _dependency_lines(dependency: Dependency) -> list[str]:
    resource = f"{dependency.resource_kind} {dependency.resource}" if dependency.resource else "(no resource named)"
    retries = f", {dependency.retries} retries" if dependency.retries else ""
    monitoring = f", {dependency.monitoring_calls} from monitoring code" if dependency.monitoring_calls else ""
    where = f"{dependency.service:<10} {dependency.region:<15} {resource:<40}"
    head = f"  {where} {dependency.calls:>6} calls{retries}{monitoring}"
    operations = ", ".join(
        f"{name} {count}" for name, count in sorted(dependency.operations.items(), key=lambda item: (-item[1], item[0]))
    )
    lines = [head, *_wrapped(operations, " " * 6)]
    endpoints = ", ".join(dependency.endpoints)
    if endpoints:
        lines.append(
            f"      endpoint {endpoints}{' (global, served from us-east-1)' if dependency.global_endpoint else ''}"
        )
    if dependency.first_call is not None:
        lines.append(f"      first call {dependency.first_call}")
    return lines


def render_text(report: AuditReport) -> str:
    """The report for a person: what was audited, the dependencies, the findings with their evidence."""
    audited = [record for record in report.processes if record.error is None]
    calling = [record for record in audited if record.calls]
    lines = [f"Audit of {report.source}"]
    if report.processes:
        lines.append(
            f"{len(audited)} Python process{'es' if len(audited) != 1 else ''} loaded botocore and "
            f"{len(calling)} made AWS calls; {report.calls} AWS call attempts in all"
        )
    else:
        lines.append(f"{report.calls} AWS call attempts")
    lines += ["", f"Dependencies ({len(report.dependencies)})"]
    for dependency in report.dependencies:
        lines += _dependency_lines(dependency)
    if not report.dependencies:
        lines.append("  none: no AWS call was seen")
    lines += ["", f"Findings ({len(report.findings)})"]
    for finding in report.findings:
        where = f"{finding.service} {finding.region}" if finding.region else finding.service
        lines.append(f"  {finding.kind}: {where}")
        lines += _wrapped(finding.message, " " * 4)
        for place in finding.where:
            lines.append(f"    at {place}")
    if not report.findings:
        lines.append("  none")
    failed = [record for record in report.processes if record.error is not None]
    if failed:
        lines += ["", f"Not audited ({len(failed)})"]
        for record in failed:
            lines += _wrapped(f"pid {record.pid} {' '.join(record.argv)[:80]}: {record.error}", "  ")
    if report.notes:
        lines += ["", "Notes"]
        for note in report.notes:
            lines += _wrapped(note, "  ")
    return "\n".join(lines) + "\n"
