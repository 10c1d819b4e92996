"""Ctrl-C and SIGTERM, caught without ever taking a lock inside the signal handler.

Python runs a signal handler in the main thread between two bytecodes, possibly while that thread
holds a lock (inside ``threading.Event.wait``, a logging call, a journal write). A handler that
takes the same lock (``Event.set`` does) deadlocks the process: a burst of SIGTERMs at the wrong
moment hung a run. So a handler here only assigns an attribute; whoever waits polls it in short
slices and does the rest from ordinary code.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["SignalFlag", "caught"]

_SLICE = 0.05


class SignalFlag:
    """Set by SIGINT or SIGTERM: the name of the first signal, or ''; waits poll it."""

    def __init__(self) -> None:
        self.signal = ""

    def handler(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: one attribute assignment, nothing that can block."""
        if not self.signal:
            self.signal = signal.Signals(signum).name

    def __bool__(self) -> bool:
        return bool(self.signal)

    def wait(self, seconds: float | None = None, also: threading.Event | None = None) -> bool:
        """Sleep until a signal (or ``also``) comes, at most ``seconds`` (None: for ever); whether one came."""
        deadline = None if seconds is None else time.monotonic() + max(seconds, 0.0)
        while not self.signal and not (also is not None and also.is_set()):
            remaining = _SLICE if deadline is None else min(_SLICE, deadline - time.monotonic())
            if remaining <= 0:
                return False
            time.sleep(remaining)
        return True


@contextmanager
def caught(flag: SignalFlag | None = None) -> Iterator[SignalFlag]:
    """SIGINT and SIGTERM set ``flag`` while the block runs (main thread only), then the old handlers
    are back."""
    flag = SignalFlag() if flag is None else flag  # not "or": an unset flag is falsy
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {sig: signal.signal(sig, flag.handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
