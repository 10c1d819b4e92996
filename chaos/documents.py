"""YAML and JSON text into plain values, with the (line, column) of every path in the document.

Defensive: both parsers count the values a document expands to (a YAML alias bomb is refused, not
expanded), limit nesting, refuse duplicate keys, numbers too long to convert or beyond
``MAX_INTEGER``, and strings with control characters or lone surrogates, each with the place where
it was found. JSON files are read by a JSON parser (its errors say JSON), YAML files by libyaml.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import Any

import yaml

__all__ = ["MAX_DEPTH", "MAX_INTEGER", "MAX_VALUES", "DocumentError", "Positions", "parse_document"]

MAX_VALUES = 200_000
MAX_DEPTH = 64
#: No number in an experiment means anything beyond 2**53 - 1 (the largest integer exact in a double).
MAX_INTEGER = 2**53 - 1
# Longer integer literals are refused unread: converting digits to an int costs time, and Python
# refuses more than 4,300 digits anyway (with a ValueError that would escape as a traceback).
_MAX_NUMBER_CHARS = 64

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Path_ = tuple[str | int, ...]
Positions = dict[Path_, tuple[int, int]]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_CONTROL_NAMES = {"\x00": "a NUL character (\\0)", "\x1b": "an escape character (\\e)", "\x7f": "a DEL character"}


class DocumentError(Exception):
    """Text that is not a usable document, and where."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line, self.column = line, column


def _check_string(text: str, line: int, column: int) -> None:
    found = _CONTROL.search(text)
    if found is None:
        return
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        message = f"a string contains a lone surrogate (\\u{ord(char):04x}), which is not Unicode text"
    else:
        what = _CONTROL_NAMES.get(char, f"a control character (\\x{ord(char):02x})")
        message = f"a string contains {what}; only tabs and line breaks are allowed"
    raise DocumentError(message, line, column)


_BOUND = f"integers in experiment files lie within ±{MAX_INTEGER:,} (2**53 - 1)"


def _check_integer(value: int, line: int, column: int) -> None:
    if abs(value) > MAX_INTEGER:
        raise DocumentError(f"this number is too large: {_BOUND}", line, column)


def _too_long(text: str, line: int, column: int) -> DocumentError:
    return DocumentError(f"this number is {len(text):,} characters long: {_BOUND}", line, column)


# -- YAML -------------------------------------------------------------------------------------------
def _mark(node: Any) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [value for _, value in node.value]
    return []


#: How deep the alias-bomb scan looks: deeper than the builder allows (merge keys lift deep content up),
#: within Python's recursion limit.
_MAX_SCAN_DEPTH = 300


def _refuse_alias_bombs(root: Any) -> None:
    """Refuse a document whose aliases expand past MAX_VALUES before building any of it.

    Each distinct node's expanded size is counted once, so a billion laughs is refused in
    microseconds instead of after building 200,000 values; the error points where building would
    have stopped (the value that crosses the limit, in document order). Cycles and deep nesting are
    left to the builder, which refuses them with their own located messages."""
    sizes: dict[int, int] = {}

    def size(node: Any, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > _MAX_SCAN_DEPTH:
            return 1
        sizes[id(node)] = 1  # in progress: a recursive alias counts once here
        total = 1 + sum(size(child, depth + 1) for child in _children(node))
        sizes[id(node)] = total = min(total, MAX_VALUES + 1)
        return total

    if size(root, 0) <= MAX_VALUES:
        return
    node, wanted = root, MAX_VALUES + 1  # the value, in pre-order, at which the count passes the limit
    while wanted > 1:
        wanted -= 1
        for child in _children(node):
            if wanted <= sizes[id(child)]:
                node = child
                break
            wanted -= sizes[id(child)]
        else:
            break
    raise DocumentError(f"the document expands to more than {MAX_VALUES:,} values (a YAML alias bomb?)", *_mark(node))


_UNSEEN = object()


class _YamlBuilder:
    """Builds plain Python values from a YAML node tree, recording where each value came from."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.positions: Positions = {}
        self.values = 0
        self._scalars: dict[int, Any] = {}

    def build(self, node: Any, path: Path_ = (), depth: int = 0) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise DocumentError(
                f"the document expands to more than {MAX_VALUES:,} values (a YAML alias bomb?)", *_mark(node)
            )
        if depth > MAX_DEPTH:
            raise DocumentError(f"the document is nested more than {MAX_DEPTH} levels deep", *_mark(node))
        self.positions.setdefault(path, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.positions.setdefault((*path, index), _mark(item))
                items.append(self.build(item, (*path, index), depth + 1))
            return items
        return self._mapping(node, path, depth)

    def scalar(self, node: Any) -> Any:
        """The value of a scalar node, refused (located) when it is too long a number, binary or not text;
        checked once per node (an alias to a long string is not checked again each time it is used)."""
        known = self._scalars.get(id(node), _UNSEEN)
        if known is not _UNSEEN:
            return known
        value = self._scalar(node)
        self._scalars[id(node)] = value
        return value

    def _scalar(self, node: Any) -> Any:
        if node.tag == "tag:yaml.org,2002:int" and len(node.value) > _MAX_NUMBER_CHARS:
            raise _too_long(node.value, *_mark(node))
        value = self.loader.construct_object(node)
        if isinstance(value, bytes):
            raise DocumentError("binary values (!!binary) have no place in an experiment file", *_mark(node))
        if isinstance(value, str):
            _check_string(value, *_mark(node))
        elif isinstance(value, int) and not isinstance(value, bool):
            _check_integer(value, *_mark(node))
        return value

    def _mapping(self, node: Any, path: Path_, depth: int) -> dict[Any, Any]:
        seen: dict[Any, tuple[int, int]] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise DocumentError("mapping keys must be plain names", *_mark(key_node))
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.scalar(key_node)
            if key in seen:
                line, _ = seen[key]
                raise DocumentError(f"duplicate key {key!r} (first given at line {line})", *_mark(key_node))
            seen[key] = _mark(key_node)
        self.loader.flatten_mapping(node)  # YAML merge keys (<<: *defaults), later keys win
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise DocumentError("mapping keys must be plain names", *_mark(key_node))
            if isinstance(key, str):
                self.positions[(*path, key)] = _mark(key_node)
            result[key] = self.build(value_node, (*path, key) if isinstance(key, str) else path, depth + 1)
        return result


def _parse_yaml(text: str) -> tuple[Any, Positions]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise DocumentError("the file has no document: an experiment needs at least version, title and faults")
        _refuse_alias_bombs(node)
        builder = _YamlBuilder(loader)
        value = builder.build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise DocumentError(f"invalid YAML: {exc.problem or exc.context}", line, column) from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids: located, on one line
        before = text[: exc.position]
        line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        character = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise DocumentError(f"invalid YAML: the character {character} is not allowed here", line, column) from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise DocumentError(f"the document is nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
    return value, builder.positions


# -- JSON -------------------------------------------------------------------------------------------
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}
# A string: the longest valid prefix matches, so where it stops says what is wrong.
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]+|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"?')


class _JsonParser:
    """A strict JSON parser (RFC 8259: no NaN, no Infinity) that records where every value starts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.positions: Positions = {}
        self.values = 0
        self._lines = [match.start() for match in re.finditer("\n", text)]

    def where(self, offset: int) -> tuple[int, int]:
        """(line, column), both from 1, of a character offset."""
        line = bisect.bisect_left(self._lines, offset)
        start = self._lines[line - 1] + 1 if line else 0
        return line + 1, offset - start + 1

    def fail(self, message: str, offset: int) -> DocumentError:
        return DocumentError(f"invalid JSON: {message}", *self.where(offset))

    def skip(self, offset: int) -> int:
        match = _WHITESPACE.match(self.text, offset)
        return match.end() if match else offset

    def parse(self) -> Any:
        offset = self.skip(0)
        value, offset = self.value(offset, (), 0)
        offset = self.skip(offset)
        if offset != len(self.text):
            raise self.fail("extra data after the document", offset)
        return value

    def value(self, offset: int, path: Path_, depth: int) -> tuple[Any, int]:
        self.values += 1
        if self.values > MAX_VALUES:
            raise DocumentError(f"the document has more than {MAX_VALUES:,} values", *self.where(offset))
        if depth > MAX_DEPTH:
            raise DocumentError(f"the document is nested more than {MAX_DEPTH} levels deep", *self.where(offset))
        self.positions.setdefault(path, self.where(offset))
        char = self.text[offset : offset + 1]
        if char == "{":
            return self.object(offset, path, depth)
        if char == "[":
            return self.array(offset, path, depth)
        if char == '"':
            return self.string(offset)
        for word, literal in _LITERALS.items():
            if self.text.startswith(word, offset):
                return literal, offset + len(word)
        match = _NUMBER.match(self.text, offset)
        if match is None:
            raise self.fail("expecting a value", offset)
        whole, fraction, exponent = match.groups()
        if fraction or exponent:
            return float(match.group()), match.end()
        if len(whole) > _MAX_NUMBER_CHARS:
            raise _too_long(whole, *self.where(offset))
        number = int(whole)
        _check_integer(number, *self.where(offset))
        return number, match.end()

    def string(self, offset: int) -> tuple[str, int]:
        match = _STRING.match(self.text, offset)
        if match is None or not match.group().endswith('"') or match.end() == offset + 1:
            end = match.end() if match else offset + 1
            char = self.text[end : end + 1]
            problem = {"": "unterminated string", "\\": "invalid escape in a string"}.get(char, "")
            raise self.fail(problem or "control character in a string (write it as an escape)", end)
        text = json.loads(match.group())  # the escapes, surrogate pairs included, as json decodes them
        _check_string(text, *self.where(offset))
        return text, match.end()

    def object(self, offset: int, path: Path_, depth: int) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        offset = self.skip(offset + 1)
        if self.text.startswith("}", offset):
            return result, offset + 1
        while True:
            if not self.text.startswith('"', offset):
                raise self.fail("expecting a property name in double quotes", offset)
            key_at = offset
            key, offset = self.string(offset)
            if key in seen:
                raise DocumentError(f"duplicate key {key!r} (first given at line {seen[key]})", *self.where(key_at))
            seen[key] = self.where(key_at)[0]
            self.positions[(*path, key)] = self.where(key_at)
            offset = self.skip(offset)
            if not self.text.startswith(":", offset):
                raise self.fail("expecting ':' after the property name", offset)
            offset = self.skip(offset + 1)
            result[key], offset = self.value(offset, (*path, key), depth + 1)
            offset = self.skip(offset)
            if self.text.startswith("}", offset):
                return result, offset + 1
            if not self.text.startswith(",", offset):
                raise self.fail("expecting ',' or '}'", offset)
            offset = self.skip(offset + 1)

    def array(self, offset: int, path: Path_, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        offset = self.skip(offset + 1)
        if self.text.startswith("]", offset):
            return items, offset + 1
        while True:
            item, offset = self.value(offset, (*path, len(items)), depth + 1)
            items.append(item)
            offset = self.skip(offset)
            if self.text.startswith("]", offset):
                return items, offset + 1
            if not self.text.startswith(",", offset):
                raise self.fail("expecting ',' or ']'", offset)
            offset = self.skip(offset + 1)


# -- both -------------------------------------------------------------------------------------------
def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DocumentError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}): is this an experiment file?", line, column
        ) from None
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        raise DocumentError("the file contains NUL bytes: is this an experiment file?", line, 1)
    return text


def parse_document(data: bytes, json_only: bool = False) -> tuple[Any, Positions]:
    """The document's value and the (line, column) of every path in it; JSON only when ``json_only``.

    Raises :class:`DocumentError` with the line and column of the first problem.
    """
    text = _decode(data)
    if not text.strip():
        raise DocumentError("the file is empty: an experiment needs at least version, title and faults")
    if json_only:
        parser = _JsonParser(text)
        return parser.parse(), parser.positions
    return _parse_yaml(text)
