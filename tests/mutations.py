"""Mutating a parsed document in place, for the fuzz suites of experiment and suite files."""

from __future__ import annotations

from typing import Any


def set_path(data: Any, path: list[int], value: Any, delete: bool) -> Any:
    """``data`` with the leaf that ``path`` steers to (each step taken modulo the keys or items there)
    replaced by ``value``, or deleted."""
    node = data
    for step in path:
        if isinstance(node, dict) and node:
            key = sorted(node, key=str)[step % len(node)]
            if not isinstance(node[key], (dict, list)) or not node[key]:
                if delete:
                    del node[key]
                else:
                    node[key] = value
                return data
            node = node[key]
        elif isinstance(node, list) and node:
            index = step % len(node)
            if not isinstance(node[index], (dict, list)) or not node[index]:
                if delete:
                    del node[index]
                else:
                    node[index] = value
                return data
            node = node[index]
    return data
