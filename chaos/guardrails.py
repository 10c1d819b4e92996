"""Guardrails: the limits a run refuses to exceed, from the experiment and from pyproject.toml.

Limits come from the experiment's ``guardrails:`` and from ``[tool.chaos]`` in the pyproject.toml
of the current project; where both set a limit, the stricter wins. A plan that exceeds any limit is
refused before anything is injected, with the limit named.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chaos.engine.durations import format_duration
from chaos.errors import ConfigError
from chaos.model import Experiment, Guardrails

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]

__all__ = ["GuardrailCheck", "Violation", "check_guardrails", "find_pyproject", "merge", "project_guardrails"]


@dataclass(frozen=True)
class Violation:
    """One limit a plan exceeds."""

    limit: str
    message: str

    def __str__(self) -> str:
        return f"{self.limit}: {self.message}"


@dataclass(frozen=True)
class GuardrailCheck:
    """The limits in force, where they came from, and what the plan exceeds."""

    limits: Guardrails
    sources: list[str]
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the plan is within every limit."""
        return not self.violations


def find_pyproject(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The pyproject.toml of the project containing ``start`` (default: the current directory)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _line_of(path: Path, key: str) -> int:
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if line.strip().startswith(key):
            return number
    return 1


def project_guardrails(start: str | os.PathLike[str] | None = None) -> tuple[Guardrails | None, Path | None]:
    """The guardrails in ``[tool.chaos]`` of the current project's pyproject.toml, if any."""
    path = find_pyproject(start)
    if path is None:
        return None, None
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}:1:1: cannot read [tool.chaos]: {exc}") from None
    table: Any = data.get("tool", {}).get("chaos")
    if table is None:
        return None, path
    try:
        return Guardrails.model_validate(table), path
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            key = ".".join(str(part) for part in error["loc"])
            first = str(error["loc"][0]) if error["loc"] else ""
            message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            lines.append(f"{path}:{_line_of(path, first)}:1: tool.chaos.{key}: {message}")
        raise ConfigError("\n".join(lines)) from None


def _stricter_set(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if a is None:
        return b
    if b is None:
        return a
    return tuple(item for item in a if item in b)


def _stricter_max(a: Any, b: Any) -> Any:
    present = [value for value in (a, b) if value is not None]
    return min(present) if present else None


def merge(first: Guardrails, second: Guardrails | None) -> Guardrails:
    """Both sets of limits at once: where both set a limit, the stricter wins."""
    if second is None:
        return first
    return Guardrails(
        regions=_stricter_set(first.regions, second.regions),
        services=_stricter_set(first.services, second.services),
        max_duration=_stricter_max(first.max_duration, second.max_duration),
        max_probability=_stricter_max(first.max_probability, second.max_probability),
        max_concurrent_faults=_stricter_max(first.max_concurrent_faults, second.max_concurrent_faults),
        accounts=_stricter_set(first.accounts, second.accounts),
        protected_principals=tuple(dict.fromkeys(first.protected_principals + second.protected_principals)),
    )


_NONE = "none (the sources of limits have none in common)"


def max_concurrent(experiment: Experiment) -> int:
    """The most faults active at the same moment of the fault phase."""
    edges = []
    for fault in experiment.faults:
        edges.append((fault.after, 1))
        edges.append((math.inf if fault.end is None else fault.end, -1))
    active = peak = 0
    for _, change in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        active += change
        peak = max(peak, active)
    return peak


def _violations(experiment: Experiment, limits: Guardrails) -> list[Violation]:
    found = []
    for index, fault in enumerate(experiment.faults):
        regions = set(fault.region)
        if fault.include_global:
            regions.add("us-east-1")  # the global endpoints live there
        if limits.regions is not None and not regions <= set(limits.regions):
            outside = "every region" if "*" in regions else ", ".join(sorted(regions - set(limits.regions)))
            found.append(
                Violation(
                    "regions",
                    f"fault {index} ({fault.label}) targets {outside}; allowed: {', '.join(limits.regions) or _NONE}",
                )
            )
        if limits.services is not None and not set(fault.service) <= set(limits.services):
            outside = (
                "every service"
                if "*" in fault.service
                else ", ".join(sorted(set(fault.service) - set(limits.services)))
            )
            found.append(
                Violation(
                    "services",
                    f"fault {index} ({fault.label}) targets {outside}; allowed: {', '.join(limits.services) or _NONE}",
                )
            )
        if limits.max_probability is not None and fault.probability > limits.max_probability:
            found.append(
                Violation(
                    "max_probability",
                    f"fault {index} ({fault.label}) has probability {fault.probability:g} > {limits.max_probability:g}",
                )
            )
    if limits.max_duration is not None:
        total = experiment.total_duration
        if total is None:
            found.append(
                Violation("max_duration", "a fault has no 'for' and phases.faults is unset, so the run has no end")
            )
        elif total > limits.max_duration:
            found.append(
                Violation(
                    "max_duration",
                    f"the run lasts {format_duration(total)} (baseline + faults + recovery)"
                    f" > {format_duration(limits.max_duration)}",
                )
            )
    if limits.max_concurrent_faults is not None:
        peak = max_concurrent(experiment)
        if peak > limits.max_concurrent_faults:
            found.append(
                Violation("max_concurrent_faults", f"{peak} faults are active at once > {limits.max_concurrent_faults}")
            )
    return found


def check_guardrails(experiment: Experiment, project_dir: str | os.PathLike[str] | None = None) -> GuardrailCheck:
    """The limits in force for ``experiment`` (its own and its project's) and what it exceeds."""
    project, path = project_guardrails(project_dir)
    sources = ["experiment"] + ([f"{path} [tool.chaos]"] if project is not None else [])
    limits = merge(experiment.guardrails, project)
    return GuardrailCheck(limits, sources, _violations(experiment, limits))
