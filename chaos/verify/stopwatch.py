"""Watching the stop conditions: each in a thread of its own, so a slow check never blinds the others.

Every condition is checked twice a second; a check that has not come back within its bound (its
timeout, a few seconds at most) counts as a failed check, so a status page that answers one byte at
a time or a kill switch that hangs stops the run instead of silencing the watch. ``availability_below``
is judged on the answers that came in each whole second (a request counts in the second it was
answered or timed out): a hung application's requests count as failures as they time out, also when
the load falls behind its schedule (a request counted by the second it was due in would still be
waiting to be sent), and a slow success is not mistaken for a failure. It is judged on the latest
``for`` seconds that had answers, looking back as far as the load's timeout (requests that all time
out together answer in bursts that far apart): a second without any answer says nothing either way.
The first condition that fires calls ``on_stop`` once.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from chaos.verify.log import RequestLog
from chaos.verify.stop import StopCondition, StopHttp, Stopped, monitoring_client

__all__ = ["StopWatch"]

#: Consecutive failed checks of an alarm (or any check that raised) before the run stops.
_BLIND = 3


class StopWatch:
    """Checks every condition in a thread of its own; the first that fires calls ``on_stop`` once."""

    def __init__(
        self,
        conditions: Sequence[StopCondition],
        on_stop: Callable[[Stopped], None],
        *,
        log: RequestLog | None = None,
        settle: float = 0.5,
        window: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        origin: float | None = None,
        every: float = 0.5,
    ) -> None:
        self.conditions, self.on_stop, self.log, self.every = list(conditions), on_stop, log, every
        self.settle = settle
        """A margin for answers still being recorded: the seconds younger than this are not judged yet."""
        self.window = window
        """The shortest span availability is judged over (the load's timeout: a hung application's
        requests all time out together, so its answers come in bursts that far apart)."""
        self.clock = clock
        self.origin = clock() if origin is None else origin
        self.fired: Stopped | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failures: dict[str, int] = {}
        self._last: dict[str, float] = {}
        self._clients: dict[str, Any] = {}
        self._threads = [
            threading.Thread(target=self._watch, args=(condition,), name=f"stop-{index}", daemon=True)
            for index, condition in enumerate(self.conditions)
        ]
        self._supervisor = threading.Thread(target=self._supervise, name="stop-supervisor", daemon=True)

    def prepare(self, deadline: float = 15.0, stopped: Callable[[], bool] = lambda: False) -> None:
        """Before any fault: every alarm exists and answers (a typo must not leave the run unguarded).

        Bounded by ``deadline`` seconds, and given up when ``stopped()`` says so (a signal).
        """
        for condition in self.conditions:
            if condition.cloudwatch_alarm is None:
                continue
            alarm = condition.cloudwatch_alarm
            outcome: list[BaseException | bool] = []

            def look(condition: StopCondition = condition, outcome: list[BaseException | bool] = outcome) -> None:
                try:
                    outcome.append(self._alarm_exists(condition))
                except Exception as exc:  # reported by the caller's thread
                    outcome.append(exc)

            worker = threading.Thread(target=look, daemon=True)
            worker.start()
            ends = time.monotonic() + deadline
            while worker.is_alive() and time.monotonic() < ends and not stopped():
                worker.join(0.05)
            if not outcome:
                raise LookupError(
                    f"stop condition {condition.name!r}: the alarm {alarm.name!r} could not be read within "
                    f"{deadline:g} s{' (stopped)' if stopped() else ''}"
                )
            if isinstance(outcome[0], BaseException):
                raise LookupError(f"stop condition {condition.name!r}: {outcome[0]}") from outcome[0]
            if not outcome[0]:
                raise LookupError(f"stop condition {condition.name!r}: no alarm {alarm.name!r} in {alarm.region}")

    def _client(self, condition: StopCondition) -> Any:
        assert condition.cloudwatch_alarm is not None
        with self._lock:
            if condition.name not in self._clients:
                self._clients[condition.name] = monitoring_client(condition.cloudwatch_alarm)
            return self._clients[condition.name]

    def _alarm_exists(self, condition: StopCondition) -> bool:
        alarm = condition.cloudwatch_alarm
        assert alarm is not None
        answer = self._client(condition).describe_alarms(
            AlarmNames=[alarm.name], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
        return bool(answer.get("MetricAlarms") or answer.get("CompositeAlarms"))

    def start(self) -> StopWatch:
        """Start watching."""
        if self.conditions:
            now = self.clock()
            for condition in self.conditions:
                self._last[condition.name] = now
            for thread in self._threads:
                thread.start()
            self._supervisor.start()
        return self

    def stop(self) -> None:
        """Stop watching (a check under way is abandoned, not waited for)."""
        self._stop.set()
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=1)

    def _fire(self, condition: StopCondition, detail: str) -> None:
        with self._lock:
            if self.fired is not None or self._stop.is_set():
                return
            self.fired = Stopped(condition.name, condition.kind, detail, round(self.clock() - self.origin, 3))
        self._stop.set()
        self.on_stop(self.fired)

    def _bound(self, condition: StopCondition) -> float:
        """How long one check of ``condition`` may take before it counts as failed."""
        if condition.http is not None:
            return condition.http.timeout + 1.0
        if condition.command is not None:
            return condition.timeout + 1.0
        return 5.0  # the alarm client's own timeouts (2 s connect, 2 s read) with a margin

    def _supervise(self) -> None:
        """A check stuck past its bound is a failed check: the run never goes on blind."""
        while not self._stop.wait(0.1):
            now = self.clock()
            for condition in self.conditions:
                stuck = now - self._last.get(condition.name, now)
                if stuck > self._bound(condition) * _BLIND:
                    self._fire(condition, f"cannot be checked: no answer for {stuck:.1f} s")
                    return

    def _watch(self, condition: StopCondition) -> None:
        while not self._stop.is_set():
            detail = self._check(condition)
            self._last[condition.name] = self.clock()
            if detail is not None:
                self._fire(condition, detail)
                return
            self._stop.wait(self.every)

    def _check(self, condition: StopCondition) -> str | None:
        """Why ``condition`` fires now, or None."""
        try:
            if condition.availability_below is not None:
                return self._availability(condition)
            if condition.http is not None:
                return self._counted(condition, self._http(condition.http), condition.failures)
            if condition.cloudwatch_alarm is not None:
                return self._alarm(condition)
            return self._command(condition)
        except Exception as exc:  # a check that cannot be made counts against the run
            return self._counted(condition, f"cannot be checked: {type(exc).__name__}: {exc}", _BLIND)

    def _counted(self, condition: StopCondition, failure: str | None, limit: int) -> str | None:
        if failure is None:
            self._failures[condition.name] = 0
            return None
        count = self._failures.get(condition.name, 0) + 1
        self._failures[condition.name] = count
        return f"{failure} ({count} times in a row)" if count >= limit else None

    def _availability(self, condition: StopCondition) -> str | None:
        """Every whole second of the last ``for`` below the threshold, by the answers that came in it (at
        least one each)."""
        if self.log is None:
            return None
        threshold = condition.availability_below or 0.0
        settled = int(self.clock() - self.origin - self.settle)  # answers of later seconds may still come in
        length = max(round(condition.for_), 1)
        shares: list[float] = []  # the latest ``length`` seconds that had answers, within the longer span
        for second in range(settled - 1, settled - 1 - max(length, math.ceil(self.window)), -1):
            row = self.log.answered.get(second)
            if row and row[0]:  # a second without answers says nothing either way
                shares.append(row[1] / row[0])
                if len(shares) == length:
                    break
        if shares and all(share < threshold for share in shares):
            return f"availability below {threshold:.0%} for {length} s (at most {max(shares):.1%})"
        return None

    @staticmethod
    def _http(check: StopHttp) -> str | None:
        """The whole answer (at most 1 MiB of it) within the timeout, with an expected status."""
        deadline = time.monotonic() + check.timeout
        try:
            with urllib.request.urlopen(check.url, timeout=check.timeout) as response:
                status, read = response.status, 0
                while read < 1 << 20 and (chunk := response.read1(65536)):
                    read += len(chunk)
                    if time.monotonic() > deadline:
                        return f"{check.url} did not finish its answer within {check.timeout:g} s"
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except (OSError, ValueError) as exc:
            return f"{check.url} did not answer ({exc})"
        return None if status in check.status else f"{check.url} answered {status}"

    def _alarm(self, condition: StopCondition) -> str | None:
        alarm = condition.cloudwatch_alarm
        assert alarm is not None
        answer = self._client(condition).describe_alarms(
            AlarmNames=[alarm.name], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
        found = answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])
        if not found:  # deleted during the run: nothing watches any more
            return self._counted(condition, f"cannot be checked: the alarm {alarm.name} is gone", _BLIND)
        self._failures[condition.name] = 0
        states = [item.get("StateValue") for item in found]
        return f"alarm {alarm.name} is in ALARM" if "ALARM" in states else None

    @staticmethod
    def _command(condition: StopCondition) -> str | None:
        assert condition.command is not None
        try:
            process = subprocess.Popen(
                list(condition.command),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # a kill switch answers with its exit code; its output is not kept
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own group: a timeout stops its children too
            )
        except OSError as exc:
            return f"{condition.command[0]} cannot run: {exc.strerror or exc}"
        try:
            code = process.wait(timeout=condition.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return f"{condition.command[0]} did not finish within {condition.timeout:g} s"
        if code != 0:
            return f"{' '.join(condition.command)} exited {code}"
        return None
