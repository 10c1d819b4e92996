"""Exit codes of the ``outage`` command and of runs (the contract in DESIGN.md)."""

from __future__ import annotations

__all__ = ["GRACEFUL", "INVALID", "NOT_GRACEFUL", "OK", "REFUSED", "ROLLBACK_INCOMPLETE"]

OK = 0
GRACEFUL = 0
NOT_GRACEFUL = 1
INVALID = 2
REFUSED = 3
ROLLBACK_INCOMPLETE = 4
