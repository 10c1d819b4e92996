"""The dependency audit: which AWS services, regions, buckets, tables, queues and endpoints a program
calls, and the single-region dependencies and fragile clients that shows.

Three ways in::

    with Recorder() as recorder:          # this process: the record-only hook
        ...
    report = report_of(recorder)

    code, report = audit(["python", "app.py"])           # a command and its Python subprocesses
    report = audit_gateway("http://127.0.0.1:4566")       # a running gateway's ledger (any language)

Then :func:`~chaos.audit.render.render_text`, ``report.to_dict()`` and
:func:`~chaos.audit.suggest.write_suggestions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO, Any

from chaos.audit.command import audit_command
from chaos.audit.findings import FINDING_KINDS, AuditReport, Dependency, Finding, analyse
from chaos.audit.gateway import audit_gateway
from chaos.audit.observe import ClientSettings, Observation, ProcessRecord, Site
from chaos.audit.recorder import Recorder
from chaos.audit.render import render_text
from chaos.audit.suggest import Suggestion, suggest, write_suggestions

__all__ = [
    "FINDING_KINDS",
    "AuditReport",
    "ClientSettings",
    "Dependency",
    "Finding",
    "Observation",
    "ProcessRecord",
    "Recorder",
    "Site",
    "Suggestion",
    "analyse",
    "audit",
    "audit_gateway",
    "render_text",
    "report_of",
    "suggest",
    "write_suggestions",
]


def report_of(recorder: Recorder, source: str = "this process") -> AuditReport:
    """The audit report of what ``recorder`` has seen so far."""
    return analyse(recorder.observations(), source=source)


def audit(
    argv: Sequence[str],
    *,
    duration: float | None = None,
    stdout: IO[Any] | int | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[int, AuditReport]:
    """Run ``argv`` under audit (its Python subprocesses too); its exit code and the report."""
    result = audit_command(argv, duration=duration, stdout=stdout, environ=environ)
    observations = [item for record in result.processes for item in record.observations]
    notes = []
    if not result.processes:
        notes.append(
            "no Python process reported: none loaded botocore, or each ended without running its exit "
            "handlers (os._exit, SIGKILL) before its first write"
        )
    report = analyse(observations, source=" ".join(argv), processes=result.processes, notes=notes)
    return result.exit_code, report
