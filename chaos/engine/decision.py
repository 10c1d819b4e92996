"""What the engine decided for one call, and why."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["PASS", "Action", "Decision", "ErrorSpec"]


class Action(str, enum.Enum):
    """What an injector does with a call."""

    PASS = "pass"
    """Make the call untouched."""
    ERROR = "error"
    """Answer with an AWS error response; the backend never sees the call."""
    DELAY = "delay"
    """Wait, then make the call."""
    CONNECTION_ERROR = "connection_error"
    """Fail as if the endpoint could not be reached; the backend never sees the call."""
    TIMEOUT = "timeout"
    """Wait, then fail with a read timeout; the backend never sees the call."""
    LOST_RESPONSE = "lost_response"
    """Make the call, drop its answer, fail with a read timeout."""


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """An AWS error as the service would send it."""

    status: int
    code: str
    """The ``Error.Code`` an SDK reports."""
    message: str
    sender_fault: bool = False
    shape: str | None = None
    """The modeled error shape, where it differs from the code (the JSON ``__type``)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's answer for one call: the action, the fault that fired (if any) and why."""

    action: Action
    reason: str
    fault_index: int | None = None
    fault_label: str | None = None
    error: ErrorSpec | None = None
    delay: float | None = None
    """Seconds to wait: the latency of ``DELAY``, or the wait before ``TIMEOUT`` (None: the client's)."""

    @property
    def fired(self) -> bool:
        """Whether a fault fired."""
        return self.action is not Action.PASS

    @property
    def outcome(self) -> str:
        """A short outcome for counting: ``pass``, an error code, ``connection_error``, ``latency``..."""
        if self.error is not None:
            return self.error.code
        if self.action is Action.DELAY:
            return "latency"
        return str(self.action.value)


#: The decision when no armed fault targets a call.
PASS = Decision(Action.PASS, "no armed fault matches this call")
