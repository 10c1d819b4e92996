"""Compressed time: retry backoff and injected delays take no wall-clock time.

Inside :func:`compressed_time`, botocore's retry sleeps and the hook injector's latency and timeout
waits return at once; the number of attempts and the order of events stay exactly as they would be.
The virtual seconds that were skipped are counted, so a test can still assert on them.
"""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.endpoint

__all__ = ["compressed_time", "is_compressed", "skipped_seconds", "sleep"]


class _Warp:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.skipped = 0.0


_WARP = _Warp()


def sleep(seconds: float) -> None:
    """``time.sleep``, unless time is compressed: then it returns at once and counts the seconds."""
    if _WARP.depth:
        with _WARP.lock:
            _WARP.skipped += max(seconds, 0.0)
        return
    time.sleep(seconds)


class _WarpedTime(types.ModuleType):
    """Stands in for the ``time`` module inside botocore.endpoint: the same, but ``sleep`` is ours."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


_warped = _WarpedTime("time")
_warped.sleep = sleep  # type: ignore[attr-defined]


def is_compressed() -> bool:
    """Whether time is compressed now."""
    return _WARP.depth > 0


def skipped_seconds() -> float:
    """Virtual seconds skipped since the outermost :func:`compressed_time` began."""
    return _WARP.skipped


@contextmanager
def compressed_time() -> Iterator[None]:
    """Make botocore's retry backoff and injected waits instantaneous (process-wide, nests)."""
    with _WARP.lock:
        if _WARP.depth == 0:
            _WARP.skipped = 0.0
            botocore.endpoint.time = _warped  # type: ignore[attr-defined]
        _WARP.depth += 1
    try:
        yield
    finally:
        with _WARP.lock:
            _WARP.depth -= 1
            if _WARP.depth == 0:
                botocore.endpoint.time = time  # type: ignore[attr-defined]
