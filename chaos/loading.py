"""Loading experiment files (YAML or JSON) into models, with file, line and column in every error.

The loader is defensive: it reads only regular files (:func:`read_regular_file`: no FIFO, device
or directory is ever opened) of at most ``MAX_FILE_BYTES``; :mod:`chaos.documents` refuses YAML
alias bombs, deep nesting, duplicate keys, huge numbers, control characters, non-UTF-8 bytes and
multiple documents, each with a location and a message that says what to do.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from chaos.documents import DocumentError, Positions, parse_document
from chaos.engine import botodata
from chaos.errors import ConfigError
from chaos.model import Experiment

__all__ = [
    "MAX_FILE_BYTES",
    "ExperimentError",
    "FileReadError",
    "Problem",
    "dotted",
    "explain_validation",
    "load_experiment",
    "locate",
    "parse_experiment",
    "read_regular_file",
]

MAX_FILE_BYTES = 5 * 1024 * 1024

Path_ = tuple[str | int, ...]

_FILE_TYPES = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


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


class FileReadError(ConfigError):
    """A file that cannot be read as given (missing, unreadable, too large, not a regular file).

    ``str()`` is ``FILE:1:1: reason``; ``path`` and ``reason`` are the parts.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"{path}:1:1: {reason}")


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def _size_limit(max_bytes: int) -> str:
    mib = 1024 * 1024
    return f"{max_bytes // mib} MiB" if max_bytes % mib == 0 else f"{max_bytes:,} bytes"


def _unreadable(name: str, exc: OSError | ValueError) -> FileReadError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return FileReadError(name, f"cannot read the file: {reason}")


def _check_file(name: str, status: os.stat_result, max_bytes: int, what: str) -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = _FILE_TYPES.get(stat.S_IFMT(status.st_mode), "not a regular file")
        raise FileReadError(name, f"this is {kind}, not a regular file: nothing was read from it")
    if status.st_size > max_bytes:
        raise FileReadError(
            name, f"the file is {_size(status.st_size)}; {what} are limited to {_size_limit(max_bytes)}"
        )


def read_regular_file(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES, *, what: str = "files") -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes`` of them.

    Directories, FIFOs, sockets and devices are refused without being opened or read (a FIFO
    would block, a device never end); the file is opened non-blocking and checked again once
    open, so a path swapped in between is refused too. ``what`` names the files in messages
    (``"experiment files"``, ``"journals"``). Raises :class:`FileReadError` (a
    :class:`~chaos.ConfigError`, exit code 2) whose message is ``FILE:1:1: reason``.
    """
    name = str(path)
    try:
        status = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise _unreadable(name, exc) from None
    _check_file(name, status, max_bytes, what)  # before opening: a FIFO would block, a device never end
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError) as exc:
        raise _unreadable(name, exc) from None
    try:
        _check_file(name, os.fstat(handle), max_bytes, what)  # again: the path may have been swapped meanwhile
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:  # the file may have grown since fstat: read one byte past the limit at most
            chunk = os.read(handle, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _unreadable(name, exc) from None
    finally:
        os.close(handle)
    if size > max_bytes:
        raise FileReadError(name, f"the file grew while it was read; {what} are limited to {_size_limit(max_bytes)}")
    return b"".join(chunks)


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        name = part if isinstance(part, int) or len(part) <= 40 else part[:37] + "..."
        out += f"[{name}]" if isinstance(name, int) else (f".{name}" if out else name)
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
        return f"unknown field {_shown(path[-1])}{hint}{valid}"
    if kind == "missing":
        return f"required field {path[-1]!r} is missing" if path else "required field is missing"
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "literal_error":
        value = error.get("input")
        if not isinstance(value, (dict, list)):
            message += f" (got {_shown(value)})"
    return str(message)


def _shown(value: Any) -> str:
    """A short repr: a huge int is described, not converted (Python refuses repr of 4,300+ digits)."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"an integer of {value.bit_length():,} bits"
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


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
    for index, (error, path) in enumerate(zip(errors, located, strict=True)):
        if error["type"] == "too_short" and any(
            other[: len(path)] == path and (len(other) > len(path) or errors[number]["type"] != "too_short")
            for number, other in enumerate(located)
            if number != index
        ):
            continue  # a list whose items all failed (or a single value that failed): those errors say why
        found.append((path, _message(error, path, root)))
    return found


def dotted(path: Path_) -> str:
    """``faults[0].region`` from ``("faults", 0, "region")``."""
    return _dotted(path)


def locate(path: Path_, positions: Positions) -> tuple[int, int]:
    """(line, column) of ``path`` in a parsed document, or of the nearest place above it."""
    return _locate(path, positions)


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
    """An Experiment from YAML or JSON text (JSON when ``name`` ends in ``.json``); ``name`` is used in errors."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        value, positions = parse_document(raw, json_only=name.lower().endswith(".json"))
    except DocumentError as exc:
        raise ExperimentError([Problem(name, exc.line, exc.column, "", str(exc))]) from None
    return validate_document(value, positions, name)


def load_experiment(path: str | os.PathLike[str]) -> Experiment:
    """Load and validate an experiment file (YAML, or JSON for a ``.json`` name).

    Raises :class:`ExperimentError` (a :class:`~chaos.ConfigError`) naming file, line, column and field
    of every problem. Nothing but a regular file is opened (see :func:`read_regular_file`).
    """
    try:
        data = read_regular_file(path, MAX_FILE_BYTES, what="experiment files")
    except FileReadError as exc:
        raise ExperimentError([Problem(exc.path, 1, 1, "", exc.reason)]) from None
    return parse_experiment(data, str(path))
