"""Mutating a parsed document in place, for the fuzz suites of experiment and suite files."""

from __future__ import annotations

from typing import Any


def set_path(data: Any, path: list[int], value: Any, delete: bool) -> Any:
    """``data`` with the leaf that ``path`` steers to (each step taken modulo the keys or items there)
    replaced by ``value``, or deleted."""
    node = data
    for step in path:
        if not isinstance(node, (dict, list)) or not node:
            break
        key = sorted(node, key=str)[step % len(node)] if isinstance(node, dict) else step % len(node)
        child = node[key]
        if not isinstance(child, (dict, list)) or not child:
            if delete:
                del node[key]
            else:
                node[key] = value
            return data
        node = child
    return data
