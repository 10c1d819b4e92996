"""Loading experiment files (YAML or JSON) into models, with file, line and column in every error.

The loader is defensive: it reads at most ``MAX_FILE_BYTES``, refuses YAML alias bombs (by counting
the values a document expands to), deep nesting, duplicate keys, non-UTF-8 bytes and multiple
documents, each with a location and a message that says what to do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from chaos.engine import botodata
from chaos.errors import ConfigError
from chaos.model import Experiment

__all__ = [
    "MAX_FILE_BYTES",
    "ExperimentError",
    "Problem",
    "dotted",
    "explain_validation",
    "load_experiment",
    "parse_experiment",
]

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_VALUES = 200_000
MAX_DEPTH = 64

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Path_ = tuple[str | int, ...]
Positions = dict[Path_, tuple[int, int]]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an experiment file, and where."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ExperimentError(ConfigError):
    """An experiment file that cannot be used; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class _Invalid(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line, self.column = line, column


def _mark(node: Any) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Builds plain Python values from a YAML node tree, recording where each value came from."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.positions: Positions = {}
        self.values = 0

    def build(self, node: Any, path: Path_ = (), depth: int = 0) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise _Invalid(
                f"the document expands to more than {MAX_VALUES:,} values (a YAML alias bomb?)", *_mark(node)
            )
        if depth > MAX_DEPTH:
            raise _Invalid(f"the document is nested more than {MAX_DEPTH} levels deep", *_mark(node))
        self.positions.setdefault(path, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.positions.setdefault((*path, index), _mark(item))
                items.append(self.build(item, (*path, index), depth + 1))
            return items
        return self._mapping(node, path, depth)

    def _mapping(self, node: Any, path: Path_, depth: int) -> dict[Any, Any]:
        seen: dict[Any, tuple[int, int]] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Invalid("mapping keys must be plain names", *_mark(key_node))
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.loader.construct_object(key_node)
            if key in seen:
                line, _ = seen[key]
                raise _Invalid(f"duplicate key {key!r} (first given at line {line})", *_mark(key_node))
            seen[key] = _mark(key_node)
        self.loader.flatten_mapping(node)  # YAML merge keys (<<: *defaults), later keys win
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise _Invalid("mapping keys must be plain names", *_mark(key_node))
            if isinstance(key, str):
                self.positions[(*path, key)] = _mark(key_node)
            result[key] = self.build(value_node, (*path, key) if isinstance(key, str) else path, depth + 1)
        return result


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _Invalid(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}): is this an experiment file?", line, column
        ) from exc
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        raise _Invalid("the file contains NUL bytes: is this an experiment file?", line, 1)
    return text


def _check_json(text: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from exc
    except RecursionError as exc:
        raise _Invalid(f"the document is nested more than {MAX_DEPTH} levels deep") from exc


def parse_document(data: bytes, json_only: bool = False) -> tuple[Any, Positions]:
    """The document's value and the (line, column) of every path in it."""
    text = _decode(data)
    if not text.strip():
        raise _Invalid("the file is empty: an experiment needs at least version, title and faults")
    if json_only:
        _check_json(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _Invalid("the file has no document: an experiment needs at least version, title and faults")
        builder = _Builder(loader)
        value = builder.build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise _Invalid(f"invalid YAML: {exc.problem or exc.context}", line, column) from exc
    except yaml.YAMLError as exc:
        raise _Invalid(f"invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise _Invalid(f"the document is nested more than {MAX_DEPTH} levels deep") from exc
    finally:
        loader.dispose()
    return value, builder.positions


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(path: Path_, root: type[BaseModel] = Experiment) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path`` under ``root``, if any."""
    model: type[BaseModel] = root
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) or next((f for f in model.model_fields.values() if f.alias == part), None)
        if field is None:
            return None
        found = _find_model(field.annotation)
        if found is None:
            return None
        model = found
    return model


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _find_model(arg)
        if found is not None:
            return found
    return None


def _message(error: Any, path: Path_, root: type[BaseModel] = Experiment) -> str:
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        model = _model_at(path[:-1], root)
        names = sorted(f.alias or name for name, f in model.model_fields.items()) if model else []
        hint = botodata.suggest(str(path[-1]), names)
        valid = f" (valid here: {', '.join(names)})" if names else ""
        return f"unknown field {path[-1]!r}{hint}{valid}"
    if kind == "missing":
        return f"required field {path[-1]!r} is missing" if path else "required field is missing"
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "literal_error":
        value = error.get("input")
        if not isinstance(value, (dict, list)):
            shown = repr(value)
            message += f" (got {shown if len(shown) <= 40 else shown[:37] + '...'})"
    return str(message)


def _locate(path: Path_, positions: Positions) -> tuple[int, int]:
    for end in range(len(path), -1, -1):
        if path[:end] in positions:
            return positions[path[:end]]
    return 1, 1


def _clean(loc: tuple[Any, ...], value: Any) -> Path_:
    """The part of a pydantic location that names places in the document."""
    path: list[str | int] = []
    for part in loc:
        in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        if (isinstance(value, dict) and part in value) or in_list:
            path.append(part)
            value = value[part]
        elif isinstance(value, dict) and isinstance(part, str) and not any(c in part for c in "[]-"):
            path.append(part)  # a missing field: name it
            value = None
    return tuple(path)


def explain_validation(exc: ValidationError, value: Any, root: type[BaseModel]) -> list[tuple[Path_, str]]:
    """(path in ``value``, message) for every error of validating ``value`` against ``root``."""
    errors = exc.errors(include_url=False)
    located = [_clean(error["loc"], value) for error in errors]
    found = []
    for error, path in zip(errors, located, strict=True):
        if error["type"] == "too_short" and any(
            len(other) > len(path) and other[: len(path)] == path for other in located
        ):
            continue  # a list whose items all failed: the item errors say why
        found.append((path, _message(error, path, root)))
    return found


def dotted(path: Path_) -> str:
    """``faults[0].region`` from ``("faults", 0, "region")``."""
    return _dotted(path)


def validate_document(value: Any, positions: Positions, name: str) -> Experiment:
    """An Experiment from a parsed document, or ExperimentError listing every problem."""
    if not isinstance(value, dict):
        kind = "a list" if isinstance(value, list) else f"a {type(value).__name__}"
        raise ExperimentError(
            [Problem(name, 1, 1, "", f"an experiment is a mapping with version, title and faults; this is {kind}")]
        )
    try:
        experiment = Experiment.model_validate(value)
    except ValidationError as exc:
        problems = [
            Problem(name, *_locate(path, positions), _dotted(path), message)
            for path, message in explain_validation(exc, value, Experiment)
        ]
        raise ExperimentError(problems) from None
    problems = [
        Problem(name, *_locate(path, positions), _dotted(path), message) for path, message in experiment.problems()
    ]
    if problems:
        raise ExperimentError(problems)
    return experiment


def parse_experiment(data: bytes | str, name: str = "<experiment>") -> Experiment:
    """An Experiment from YAML or JSON text; ``name`` is used in error locations."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        value, positions = parse_document(raw, json_only=name.endswith(".json"))
    except _Invalid as exc:
        raise ExperimentError([Problem(name, exc.line, exc.column, "", str(exc))]) from None
    return validate_document(value, positions, name)


def load_experiment(path: str | os.PathLike[str]) -> Experiment:
    """Load and validate an experiment file (YAML or JSON).

    Raises :class:`ExperimentError` (a :class:`~chaos.ConfigError`) naming file, line, column and field
    of every problem.
    """
    name = str(path)
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            limit = MAX_FILE_BYTES // (1024 * 1024)
            raise ExperimentError(
                [
                    Problem(
                        name, 1, 1, "", f"the file is {size / 1e6:.1f} MB; experiment files are limited to {limit} MiB"
                    )
                ]
            )
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ExperimentError([Problem(name, 1, 1, "", f"cannot read the file: {exc.strerror or exc}")]) from None
    return parse_experiment(data, name)
