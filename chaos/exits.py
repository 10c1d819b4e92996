"""Exit codes of the ``outage`` command and of runs (the contract in DESIGN.md and docs/running.md)."""

from __future__ import annotations

__all__ = ["GRACEFUL", "INVALID", "NOT_GRACEFUL", "OK", "REFUSED", "ROLLBACK_INCOMPLETE", "UNVERIFIED", "VERDICTS"]

OK = 0
GRACEFUL = 0
NOT_GRACEFUL = 1
INVALID = 2
REFUSED = 3
"""Refused by a guardrail, aborted (signal, stop condition), or the runner's own error; rolled back."""
ROLLBACK_INCOMPLETE = 4
UNVERIFIED = 5
"""The faults were injected and removed, but nothing proved they took effect (an IAM run without a probe)."""

#: The word a person reads for each run status (the journal's ``status`` values stay as they are).
VERDICTS = {
    "passed": "GRACEFUL",
    "failed": "NOT GRACEFUL",
    "unverified": "UNVERIFIED",
    "aborted": "ABORTED",
    "error": "ERROR",
}
