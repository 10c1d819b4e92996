"""What runs beside a run: the progress ticker and the health poller (plain HTTP, never through an injector)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chaos.verify.probes import http_get
from chaos.verify.progress import Progress, Snapshot

__all__ = ["HealthPoller", "Ticker"]


class Ticker:
    """Sends a :class:`Snapshot` to the progress display a few times a second until stopped."""

    def __init__(self, progress: Progress, snapshot: Callable[[], Snapshot], every: float = 0.25) -> None:
        self.progress, self.snapshot, self.every = progress, snapshot, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-ticker", daemon=True)

    def start(self) -> Ticker:
        """Start ticking."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop ticking (waits for the last tick)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.progress.update(self.snapshot())
            self._stop.wait(self.every)


class HealthPoller:
    """Polls the application's health endpoint twice a second, recording (status, body) of each poll."""

    def __init__(self, url: str, every: float = 0.5, timeout: float = 2.0) -> None:
        self.url, self.every, self.timeout = url, every, timeout
        self.polls: list[tuple[int | None, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-health", daemon=True)

    def start(self) -> HealthPoller:
        """Start polling."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling (waits for a poll under way, at most its timeout)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.timeout + 1)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.polls.append(http_get(self.url, timeout=self.timeout))
            self._stop.wait(max(self.every - (time.monotonic() - started), 0.0))
