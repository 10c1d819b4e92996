"""Ctrl-C and SIGTERM as a flag the long-running commands wait on (see :mod:`chaos.signals`)."""

from __future__ import annotations

import signal

from chaos.signals import SignalFlag

__all__ = ["stop_on_signals"]


def stop_on_signals() -> SignalFlag:
    """A flag set by SIGINT or SIGTERM (the handlers are installed now, in the main thread, for good)."""
    flag = SignalFlag()
    signal.signal(signal.SIGINT, flag.handler)
    signal.signal(signal.SIGTERM, flag.handler)
    return flag
