"""Running an experiment end to end, and judging whether the application degraded gracefully.

Phases: guardrails -> gateway and application started, ready -> steady state -> baseline load ->
the fault timeline under load -> faults removed -> recovery under load -> steady state ->
durability read-back -> verdict. Rollback runs in ``finally`` and after SIGINT and SIGTERM in any
phase (verify and rollback included), and is verified; the journal is written ahead of every
change. The load, the probes and the read-back use plain HTTP clients to the application: nothing
the injector can touch.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chaos import exits
from chaos.apps import AppFailed, InProcessApp, ProcessApp, RunningApp
from chaos.errors import ChaosError
from chaos.gate import Refused
from chaos.guardrails import limits_for
from chaos.injectors.base import Injector
from chaos.journal import Journal, default_path
from chaos.launch import Launch, launch
from chaos.model import Experiment
from chaos.plan import check_runnable, make_plan
from chaos.signals import SignalFlag, caught
from chaos.teardown import Teardown
from chaos.verify.checks import CheckResult
from chaos.verify.load import LoadGenerator
from chaos.verify.log import RequestLog
from chaos.verify.probes import ProbeResult, probe
from chaos.verify.progress import NoProgress, Progress, Snapshot
from chaos.verify.stop import Stopped
from chaos.verify.stopwatch import StopWatch
from chaos.verify.verdict import Measurements, judge, load_summary, probes_dicts, read_back, timeseries
from chaos.verify.watch import HealthPoller, Ticker

if TYPE_CHECKING:
    from chaos.iam_phase import IamRun
    from chaos.injectors.gateway import GatewayServer

__all__ = ["Aborted", "RunResult", "Runner", "run_experiment"]

#: The exit code of each final status (rollback incomplete overrides them all with 4).
EXIT_CODES = {
    "passed": exits.GRACEFUL,
    "failed": exits.NOT_GRACEFUL,
    "unverified": exits.UNVERIFIED,
    "aborted": exits.REFUSED,
    "error": exits.REFUSED,
}


class Aborted(ChaosError):
    """The run was stopped (a signal, a stop request) before it finished; it was rolled back."""


@dataclass
class RunResult:
    """The outcome of a run."""

    status: str
    """passed, failed, unverified, aborted or error."""
    exit_code: int
    checks: list[CheckResult]
    journal_path: Path
    reason: str
    rollback_complete: bool
    failed_checks: list[str] = field(default_factory=list)


class Runner:
    """One run of one experiment."""

    def __init__(
        self,
        experiment: Experiment,
        *,
        source: str = "<experiment>",
        injector: str | None = None,
        journal_path: Path | None = None,
        seed: int | None = None,
        progress: Progress | None = None,
        project_dir: Path | None = None,
        signals: SignalFlag | None = None,
    ) -> None:
        self.experiment = experiment
        self.source = source
        self.plan = make_plan(experiment, source=source, injector=injector, project_dir=project_dir)
        self.limits = limits_for(experiment.guardrails, project_dir=project_dir)
        self.seed = seed if seed is not None else experiment.seed
        self.journal_path = journal_path or default_path(experiment.title)
        self.progress = progress or NoProgress()
        self._abort = threading.Event()
        self._signal = signals if signals is not None else SignalFlag()
        """Set by SIGINT/SIGTERM (a game day passes its own, so a signal between two runs is not lost)."""
        self._abort_reason = ""
        self._stopped_in = ""
        self._load_error = ""
        self._phase = "setup"
        self._started = time.monotonic()
        self._gateway: GatewayServer | None = None
        self._injector: Injector | None = None
        self._app: ProcessApp | InProcessApp | RunningApp | None = None
        self.run_id = secrets.token_hex(6)
        self._iam: IamRun | None = None
        self._load: LoadGenerator | None = None
        self._fault_ids: list[int] = []
        self._teardown = Teardown()
        self._ticker: Ticker | None = None

    # -- the run ----------------------------------------------------------------------------------
    def run(self) -> RunResult:
        """Run the experiment; always rolls back. Raises ConfigError (exit 2) before anything starts,
        and :class:`~chaos.journal.JournalBusy` (exit 3) when another run holds the journal."""
        check_runnable(self.experiment, self.plan, self.source)
        self.seed = self.seed if self.seed is not None else int.from_bytes(os.urandom(4), "big")
        self.journal = Journal(
            self.journal_path,
            title=self.experiment.title,
            source=self.source,
            injector=self.plan.injector,
            seed=self.seed,
            run_id=self.run_id,
            experiment=self.experiment.model_dump(mode="json", by_alias=True, exclude_none=True),
            plan=self.plan.to_dict(),
        )
        try:
            return self._run()
        finally:
            self.journal.release()

    def _run(self) -> RunResult:
        journal = self.journal
        if not self.plan.within_guardrails:
            refusal = str(Refused(self.plan.guardrails.violations, self.limits.sources))
            journal.event("refused", reason=refusal)
            journal.finish("aborted", reason=refusal, rollback={"complete": True, "steps": []})
            self.progress.message(refusal)
            return RunResult("aborted", exits.REFUSED, [], self.journal_path, refusal, True)
        status, reason, results = "error", "", []
        bug: BaseException | None = None
        with self._signals():  # held until the journal is final: a late signal cannot leave it half-written
            try:
                results = self._iam_run() if self.plan.injector == "iam" else self._phases()
                self._check_abort()
                failed = [result.name for result in results if not result.passed]
                status = "failed" if failed else "passed"
                reason = f"not graceful: {', '.join(failed)} failed" if failed else "degraded gracefully"
                unverified = self._iam.unverified() if self._iam is not None else None
                if unverified and status == "passed":
                    status, reason = "unverified", unverified
            except Aborted as exc:
                status, reason = "aborted", str(exc)
                if self._load_error:
                    status, reason = "error", self._load_error
                journal.event(status, reason=reason)
            except Refused as exc:
                status, reason = "aborted", str(exc)
                journal.event("refused", reason=reason)
            except (AppFailed, ChaosError, OSError) as exc:
                status, reason = "error", str(exc)
                journal.event("error", reason=reason)
            except BaseException as exc:  # a bug: roll back all the same, then let it surface
                bug, status, reason = exc, "error", f"{type(exc).__name__}: {exc}"
                journal.event("error", reason=reason)
            finally:
                complete = self._rollback()
            if self._signalled() and status not in ("aborted", "error"):  # a signal during verify or rollback
                status, reason = "aborted", f"{self._abort_reason or 'aborted'} (during {self._stopped_in})"
            journal.finish(status, reason=reason, checks=[result.to_dict() for result in results])
        if bug is not None:
            raise bug
        code = EXIT_CODES[status] if complete else exits.ROLLBACK_INCOMPLETE
        failed = [result.name for result in results if not result.passed]
        return RunResult(status, code, results, self.journal_path, reason, complete, failed)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        with caught(self._signal):
            yield

    def abort(self, reason: str) -> None:
        """Stop the run as soon as possible; it rolls back and ends as aborted (exit 3). Thread-safe; not
        for signal handlers (they set ``self._signal``, which every wait polls)."""
        if not self._abort.is_set():
            self._abort_reason, self._stopped_in = reason, self._phase
        self._abort.set()

    def _signalled(self) -> bool:
        if self._signal and not self._abort.is_set():
            self.abort(f"stopped by {self._signal.signal}")
            self._pull_faults()
        return self._abort.is_set()

    def _check_abort(self) -> None:
        if self._signalled():
            raise Aborted(self._abort_reason or "aborted")

    def _wait(self, seconds: float) -> None:
        self._signal.wait(seconds, also=self._abort)
        if self._signalled():
            raise Aborted(self._abort_reason or "aborted")

    def _enter(self, phase: str) -> None:
        self._check_abort()
        self.progress.message(f"[{time.monotonic() - self._started:6.1f}s] phase: {phase}")  # before any snapshot of it
        self._phase = phase
        if self._injector is not None:
            self._injector.ledger.phase = phase
        if self._load is not None:
            self._load.phase = phase
        self.journal.event("phase", phase=phase, run_t=round(time.monotonic() - self._started, 3))

    def _iam_run(self) -> list[CheckResult]:
        from chaos.iam_phase import IamRun  # noqa: PLC0415 - boto3 and the IAM code: only for IAM runs

        self._iam = IamRun(self.experiment, self.limits, self.journal, self._wait, self._enter)
        watch = self._stop_watch(None)
        try:
            return self._iam.run(watch)
        finally:
            watch.stop()

    def _phases(self) -> list[CheckResult]:
        experiment = self.experiment
        app, load = experiment.app, experiment.load
        assert app is not None and load is not None and self.seed is not None
        measured = Measurements(RequestLog(graceful=experiment.expect.graceful_statuses, seed=self.seed))
        # Prepared before the application starts: an in-process run swaps in fake credentials then.
        watch = self._stop_watch(measured.log, window=load.timeout)
        base_url = self._start_everything()
        measured.before = self._steady_state("before", base_url)
        if measured.before and not all(result.passed for _, result in measured.before):
            failing = "; ".join(f"{name}: {r.reason}" for name, r in measured.before if not r.passed)
            raise Aborted(f"the steady state does not hold before any fault: {failing}")
        self._load = LoadGenerator(
            load, base_url, measured.log, seed=self.seed, origin=self._started, on_error=self._load_failed
        )
        self._enter("baseline")
        self._load.start()
        load_seconds = experiment.phases.baseline + (experiment.fault_phase or 0.0) + experiment.phases.recovery
        planned = time.monotonic() - self._started + load_seconds  # when the load ends, on the snapshots' clock
        self._ticker = Ticker(self.progress, lambda: self._snapshot(measured.log, planned)).start()  # to rollback
        try:
            self._wait(experiment.phases.baseline)
            self._load_alive()
            health = HealthPoller(base_url + (app.health or app.ready))
            watch.start()
            measured.faults_ended = self._fault_phase(health)
            measured.health_polls = health.polls
            self._load_alive()
            self._enter("recovery")
            self._wait(experiment.phases.recovery)
            measured.recovery_ended = time.monotonic() - self._started
            self._load_alive()
        finally:
            watch.stop()
            self._load.stop()
        measured.after = self._steady_state("after", base_url)
        self._enter("verify")
        self.journal.update(timeseries=timeseries(measured.log), load=load_summary(measured.log))
        measured.read_back = read_back(base_url, load, measured.log, lambda: bool(self._signal) or self._abort.is_set())
        self._check_abort()
        assert self._injector is not None
        measured.aws_calls_by_phase = self._injector.ledger.by_phase()
        self.journal.update(ledger=self._injector.ledger.summary(zip(self._fault_ids, experiment.faults, strict=True)))
        results = judge(experiment, measured)
        for result in results:
            self.journal.event("check", name=result.name, passed=result.passed)
        return results

    def _stop_watch(self, log: RequestLog | None, window: float = 0.0) -> StopWatch:
        """The experiment's stop conditions, checked now that they can be (an alarm that does not exist
        is an error before any fault), watched from the start of the faults."""
        watch = StopWatch(self.experiment.stop_when, self._stopped, log=log, window=window, origin=self._started)
        try:
            watch.prepare(stopped=lambda: bool(self._signal))
        except Exception as exc:
            raise ChaosError(f"cannot watch the stop conditions: {exc}") from None
        self._check_abort()
        return watch

    def _stopped(self, stopped: Stopped) -> None:
        """A stop condition fired: the faults go at once (from this thread), then the whole rollback."""
        self.journal.event("stop_condition", name=stopped.name, kind=stopped.kind, detail=stopped.detail)
        self.abort(str(stopped))
        self._pull_faults()

    def _pull_faults(self) -> None:
        """Remove the injector's faults now, without waiting for the load or the watchers to wind down
        (the rollback checks it again); an in-process or gateway injector does it in microseconds."""
        injector = self._injector
        if injector is None:  # an IAM run's policies are removed by its rollback (IAM calls take their time)
            return
        try:
            removed = injector.remove()
        except Exception as exc:  # the rollback will try again and say what it found
            self.journal.event("faults_removed", error=str(exc))
            return
        self.journal.event("faults_removed", ids=removed, at_once=True)

    def _load_failed(self, error: str) -> None:
        """A crash in the load generator stops the run at once: the runner's error, never a verdict."""
        self._load_error = f"the load generator failed: {error}"
        self.abort(self._load_error)

    def _load_alive(self) -> None:
        if self._load is not None:
            self._load.raise_for_error()

    def _start_everything(self) -> str:
        """The AWS the application talks to and the application (see :mod:`chaos.launch`); its URL."""
        started = Launch()
        try:
            return launch(self.experiment, self.journal, self.limits, self.seed, self.run_id, self._wait, started)
        finally:
            self._injector, self._app, self._gateway = started.injector, started.app, started.gateway

    def _steady_state(self, when: str, base_url: str) -> list[tuple[str, ProbeResult]]:
        self._enter(f"steady_state_{when}")
        results = []
        for item in self.experiment.steady_state:
            self._check_abort()
            results.append((item.name, probe(base_url, item.http)))
        self.journal.event("steady_state", when=when, results=probes_dicts(results))
        return results

    def _fault_phase(self, health: HealthPoller) -> float:
        """Arm the faults through the gate (journal first), hold them for the fault phase, remove them;
        returns when they ended."""
        experiment, injector = self.experiment, self._injector
        assert injector is not None
        fault_phase = experiment.fault_phase or 0.0
        self.journal.event("inject", faults=[fault.to_json() for fault in experiment.faults])  # written ahead
        self._enter("faults")
        self._fault_ids = injector.arm(experiment.faults, limits=self.limits, hold=fault_phase)
        injector.ledger.start("faults")  # per-fault windows count from the arming (report of the AWS calls)
        started = time.monotonic() - self._started
        self.journal.update(
            faults=[
                {
                    "id": ident,
                    "label": fault.label,
                    "start": round(started + fault.after, 3),
                    "end": round(started + (fault.end if fault.end is not None else fault_phase), 3),
                }
                for ident, fault in zip(self._fault_ids, experiment.faults, strict=True)
            ]
        )
        health.start()
        try:
            self._wait(fault_phase)
        finally:
            health.stop()
        self.journal.event("remove", ids=self._fault_ids)
        injector.remove(self._fault_ids)
        self.journal.event("removed", ids=self._fault_ids, armed=len(injector.faults))
        return time.monotonic() - self._started

    # -- measurements ------------------------------------------------------------------------------
    def _snapshot(self, log: RequestLog, planned: float | None = None) -> Snapshot:
        injector = self._injector
        assert injector is not None
        ledger = injector.ledger
        active = injector.active_faults()
        return Snapshot(
            phase=self._phase,
            elapsed=time.monotonic() - self._started,
            requests=log.total(),
            failures=log.failures(),
            faults_active=len(active),
            aws_calls=ledger.total,
            aws_failed=ledger.fired,
            active=tuple(fault.label for fault in active),
            planned=planned,
        )

    # -- rollback ----------------------------------------------------------------------------------
    def _rollback(self) -> bool:
        """Undo everything, each step verified; True when every step was. A signal does not stop it."""
        self._phase = "rollback"
        self._teardown.iam, self._teardown.injector = self._iam, self._injector
        self._teardown.app, self._teardown.gateway = self._app, self._gateway
        complete, steps = self._teardown.undo()
        self._app = self._gateway = None
        self._phase = "rolled_back"
        if self._ticker is not None:
            self._ticker.stop()
        self.journal.update(rollback={"complete": complete, "steps": steps})
        self.journal.event("rollback", complete=complete)
        self.progress.message(
            f"rollback {'complete' if complete else 'INCOMPLETE'}: " + ", ".join(s["step"] for s in steps if "ok" in s)
        )
        return complete


def run_experiment(
    experiment: Experiment,
    *,
    source: str = "<experiment>",
    injector: str | None = None,
    journal_path: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Run ``experiment`` end to end (as ``outage run`` does) and return the verdict.

    Raises :class:`~chaos.ConfigError` for an experiment that cannot be run; nothing is started then.
    The guardrail gate applies: the experiment's limits and the project's ``[tool.chaos]``.
    """
    runner = Runner(
        experiment,
        source=source,
        injector=injector,
        journal_path=Path(journal_path) if journal_path is not None else None,
        seed=seed,
        progress=progress,
    )
    return runner.run()
