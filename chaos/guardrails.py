"""Guardrails: the limits a run refuses to exceed, from the experiment and from pyproject.toml.

Limits come from the experiment's ``guardrails:`` and from ``[tool.chaos]`` in the pyproject.toml
of the current project; where both set a limit, the stricter wins. A plan that exceeds any limit is
refused before anything is injected, with the limit named.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chaos.errors import ConfigError
from chaos.model import Experiment, Guardrails

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]

__all__ = [
    "GuardrailCheck",
    "Limits",
    "Violation",
    "check_guardrails",
    "find_pyproject",
    "limits_for",
    "merge",
    "project_guardrails",
    "project_history",
    "project_limits",
]


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


#: Keys of ``[tool.chaos]`` that are settings, not limits.
SETTINGS = ("history",)


def _table(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}:1:1: cannot read [tool.chaos]: {exc}") from None
    tool = data.get("tool", {})
    return tool.get("chaos") if isinstance(tool, dict) else None


def project_history(start: str | os.PathLike[str] | None = None) -> Path | None:
    """``[tool.chaos] history``: where the run history is kept (relative to the pyproject.toml), if set."""
    path = find_pyproject(start)
    if path is None:
        return None
    table = _table(path)
    value = table.get("history") if isinstance(table, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not value or "\0" in value:
        raise ConfigError(f"{path}:{_line_of(path, 'history')}:1: tool.chaos.history: a path to a SQLite file")
    return path.parent / value


def project_guardrails(start: str | os.PathLike[str] | None = None) -> tuple[Guardrails | None, Path | None]:
    """The guardrails in ``[tool.chaos]`` of the current project's pyproject.toml, if any."""
    path = find_pyproject(start)
    if path is None:
        return None, None
    table = _table(path)
    if table is None:
        return None, path
    if isinstance(table, dict):
        table = {key: value for key, value in table.items() if key not in SETTINGS}
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


@dataclass(frozen=True)
class Limits:
    """The limits in force for one arming path: its own and the project's, merged (the stricter wins).

    Made by :func:`limits_for`, which always reads the project's ``[tool.chaos]``: a caller can add
    limits of its own, never remove the project's.
    """

    guardrails: Guardrails
    sources: tuple[str, ...]


_CACHE: dict[tuple[Path, int, int], Guardrails | None] = {}


def _pyprojects(start: str | os.PathLike[str] | None) -> list[Path]:
    """Every pyproject.toml from ``start`` (default: the current directory) up to the root, nearest first."""
    here = Path(start or Path.cwd()).resolve()
    return [folder / "pyproject.toml" for folder in (here, *here.parents) if (folder / "pyproject.toml").is_file()]


def _cached(path: Path) -> Guardrails | None:
    """``[tool.chaos]`` of one pyproject.toml, read once per version of the file (arming is frequent)."""
    try:
        stat = path.stat()
    except OSError:
        return project_guardrails(path.parent)[0]
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        _CACHE[key] = project_guardrails(path.parent)[0]
    return _CACHE[key]


def project_limits(start: str | os.PathLike[str] | None = None) -> list[tuple[Guardrails, Path]]:
    """The limits of every enclosing project that sets ``[tool.chaos]`` (a monorepo's and its package's):
    a nested pyproject.toml without limits never hides its parent's."""
    found = []
    for path in _pyprojects(start):
        limits = _cached(path)
        if limits is not None:
            found.append((limits, path))
    return found


def limits_for(
    own: Guardrails | None = None,
    *,
    source: str = "experiment",
    project_dir: str | os.PathLike[str] | None = None,
) -> Limits:
    """``own`` limits merged with ``[tool.chaos]`` of every project containing ``project_dir`` (default: cwd)."""
    merged = own or Guardrails()
    sources = [source] if own is not None else []
    for limits, path in project_limits(project_dir):
        merged = merge(merged, limits)
        sources.append(f"{path} [tool.chaos]")
    return Limits(merged, tuple(sources))


def check_guardrails(experiment: Experiment, project_dir: str | os.PathLike[str] | None = None) -> GuardrailCheck:
    """The limits in force for ``experiment`` (its own and its project's) and what it exceeds."""
    from chaos.gate import experiment_violations  # noqa: PLC0415 - the gate builds on this module

    limits = limits_for(experiment.guardrails, project_dir=project_dir)
    return GuardrailCheck(limits.guardrails, list(limits.sources), experiment_violations(experiment, limits.guardrails))
