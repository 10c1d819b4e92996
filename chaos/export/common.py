"""What every export returns: the document, and each part of the experiment it could not carry over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Exported", "Untranslated"]


@dataclass(frozen=True)
class Untranslated:
    """A part of the experiment the target cannot express as written.

    ``dropped``: it is not in the export at all; otherwise it is there, changed (``why`` says how).
    """

    where: str
    """Where it is in the experiment: ``faults[1]``, ``stop_when[0]``, ``load``..."""
    what: str
    why: str
    dropped: bool = True

    def __str__(self) -> str:
        return f"{self.where}: {self.what}: {'not exported' if self.dropped else 'changed'}: {self.why}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"where": self.where, "what": self.what, "why": self.why, "dropped": self.dropped}


@dataclass(frozen=True)
class Exported:
    """An export: the target's document (a dict, ready to be written as JSON) and what did not carry over."""

    target: Literal["fis", "chaostoolkit"]
    document: dict[str, Any]
    untranslated: tuple[Untranslated, ...]
    faults_exported: int
    """How many of the experiment's faults are in the document (whole or changed)."""

    @property
    def complete(self) -> bool:
        """Whether everything was carried over unchanged."""
        return not self.untranslated
