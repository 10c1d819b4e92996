"""Running an experiment end to end, and judging whether the application degraded gracefully.

Phases: guardrails -> gateway and application started, ready -> steady state -> baseline load ->
the fault timeline under load -> faults removed -> recovery under load -> steady state ->
durability read-back -> verdict. Rollback runs in ``finally`` and on SIGINT and SIGTERM, and is
verified; the journal is written ahead of every change. The load, the probes and the read-back
use plain HTTP clients to the application: nothing the injector can touch.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from chaos import exits
from chaos.apps import AppFailed, InProcessApp, ProcessApp
from chaos.engine.durations import format_duration
from chaos.errors import ChaosError, ConfigError
from chaos.journal import Journal, default_path
from chaos.model import Experiment
from chaos.plan import make_plan
from chaos.verify import checks
from chaos.verify.checks import CheckResult
from chaos.verify.load import LoadGenerator
from chaos.verify.log import RequestLog
from chaos.verify.probes import ProbeResult, http_get, probe
from chaos.verify.progress import NoProgress, Progress, Snapshot

__all__ = ["Aborted", "RunResult", "Runner", "run_experiment"]


class Aborted(ChaosError):
    """The run was stopped (a signal, a stop request) before it finished; it was rolled back."""


@dataclass
class RunResult:
    """The outcome of a run."""

    status: str
    """passed, failed, aborted or error."""
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
    ) -> None:
        self.experiment = experiment
        self.source = source
        self.plan = make_plan(experiment, source=source, injector=injector, project_dir=project_dir)
        self.seed = seed if seed is not None else experiment.seed
        self.journal_path = journal_path or default_path(experiment.title)
        self.progress = progress or NoProgress()
        self._abort = threading.Event()
        self._abort_reason = ""
        self._phase = "setup"
        self._started = time.monotonic()
        self._gateway: Any = None
        self._injector: Any = None
        self._app: ProcessApp | InProcessApp | None = None
        self._fault_ids: list[int] = []
        self._iam: Any = None

    # -- validation -----------------------------------------------------------------------------
    def _validate(self) -> None:
        experiment, plan = self.experiment, self.plan
        if plan.problems:
            raise ConfigError("; ".join(plan.problems))
        if plan.injector == "iam":
            if experiment.app is not None or experiment.load is not None:
                raise ConfigError(
                    f"{self.source}: with the iam injector, outage run arms the deny policies for the timeline and "
                    "removes them; it does not start or drive the application (it runs where it always runs): "
                    "remove 'app' and 'load'"
                )
            if experiment.fault_phase is None:
                raise ConfigError(
                    f"{self.source}: a fault has no 'for' and phases.faults is unset: the run would never end"
                )
            return
        if experiment.app is None or experiment.load is None:
            raise ConfigError(
                f"{self.source}: outage run drives an application: add 'app' and 'load' sections "
                "(for faults inside a test suite, use the pytest plugin or chaos.inject)"
            )
        app = experiment.app
        if plan.injector == "gateway" and app.command is None:
            raise ConfigError(f"{self.source}: a wsgi application runs inside this process: use the hook injector")
        if plan.injector == "hook" and app.wsgi is None:
            raise ConfigError(
                f"{self.source}: the hook injector works inside this Python process; an application started as a "
                "command needs --injector gateway (or give app.wsgi: 'module:application')"
            )
        if experiment.fault_phase is None:
            raise ConfigError(
                f"{self.source}: a fault has no 'for' and phases.faults is unset: the run would never end"
            )

    # -- the run ----------------------------------------------------------------------------------
    def run(self) -> RunResult:
        """Run the experiment; always rolls back. Raises ConfigError (exit 2) before anything starts."""
        self._validate()
        self.seed = self.seed if self.seed is not None else int.from_bytes(os.urandom(4), "big")
        journal = Journal(
            self.journal_path,
            title=self.experiment.title,
            source=self.source,
            injector=self.plan.injector,
            seed=self.seed,
            experiment=self.experiment.model_dump(mode="json", by_alias=True, exclude_none=True),
            plan=self.plan.to_dict(),
        )
        self.journal = journal
        if not self.plan.within_guardrails:
            reasons = "; ".join(str(violation) for violation in self.plan.guardrails.violations)
            journal.event("refused", reason=reasons)
            journal.finish(
                "aborted", reason=f"refused by guardrail: {reasons}", rollback={"complete": True, "steps": []}
            )
            self.progress.message(f"refused by guardrail: {reasons}")
            return RunResult("aborted", exits.REFUSED, [], self.journal_path, f"refused by guardrail: {reasons}", True)
        status, reason, results = "error", "", []
        with self._signals():
            try:
                results = self._iam_phases() if self.plan.injector == "iam" else self._phases()
                failed = [result.name for result in results if not result.passed]
                status = "failed" if failed else "passed"
                reason = f"not graceful: {', '.join(failed)} failed" if failed else "degraded gracefully"
                if self.plan.injector == "iam":
                    reason = "the deny policies were in effect for the fault phase and are removed"
            except Aborted as exc:
                status, reason = "aborted", str(exc)
                journal.event("aborted", reason=reason)
            except (AppFailed, ChaosError, OSError) as exc:
                status, reason = "error", str(exc)
                journal.event("error", reason=reason)
            except BaseException as exc:  # a bug: roll back all the same, then let it surface
                journal.event("error", reason=f"{type(exc).__name__}: {exc}")
                self._rollback()
                journal.finish("error", reason=f"{type(exc).__name__}: {exc}")
                raise
            finally:
                complete = self._rollback()
        journal.finish(status, reason=reason, checks=[result.to_dict() for result in results])
        if not complete:
            code = exits.ROLLBACK_INCOMPLETE
        else:
            code = {"passed": exits.OK, "failed": exits.NOT_GRACEFUL}.get(status, exits.REFUSED)
        failed = [result.name for result in results if not result.passed]
        return RunResult(status, code, results, self.journal_path, reason, complete, failed)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, frame: FrameType | None) -> None:
            self.abort(f"stopped by {signal.Signals(signum).name}")

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def abort(self, reason: str) -> None:
        """Stop the run as soon as possible; it rolls back and ends as aborted."""
        self._abort_reason = reason
        self._abort.set()

    def _wait(self, seconds: float) -> None:
        if self._abort.wait(max(seconds, 0.0)):
            raise Aborted(self._abort_reason or "aborted")

    def _enter(self, phase: str) -> None:
        self._phase = phase
        if self._injector is not None:
            self._injector.ledger.phase = phase
        if hasattr(self, "_load"):
            self._load.phase = phase
        self.journal.event("phase", phase=phase, run_t=round(time.monotonic() - self._started, 3))
        self.progress.message(f"[{time.monotonic() - self._started:6.1f}s] phase: {phase}")

    def _phases(self) -> list[CheckResult]:
        experiment = self.experiment
        app, load = experiment.app, experiment.load
        assert app is not None and load is not None and self.seed is not None
        base_url = self._start_everything(app)
        before = self._steady_state("before", base_url)
        if before and not all(result.passed for _, result in before):
            failing = "; ".join(f"{name}: {result.reason}" for name, result in before if not result.passed)
            raise Aborted(f"the steady state does not hold before any fault: {failing}")
        log = RequestLog(graceful=experiment.expect.graceful_statuses, seed=self.seed)
        self._load = LoadGenerator(load, base_url, log, seed=self.seed, origin=self._started)
        health_polls: list[tuple[int | None, str]] = []
        self._enter("baseline")
        self._load.start()
        threading.Thread(target=self._tick, args=(log,), daemon=True).start()
        try:
            self._wait(experiment.phases.baseline)
            faults_ended = self._fault_phase(base_url + (app.health or app.ready), health_polls)
            self._enter("recovery")
            self._wait(experiment.phases.recovery)
            recovery_ended = time.monotonic() - self._started
        finally:
            self._load.stop()
        after = self._steady_state("after", base_url)
        self._enter("verify")
        self.journal.update(timeseries=_timeseries(log), load=_load_summary(log))
        read_back = self._read_back(base_url, load, log)
        return self._verdict(log, before, after, health_polls, read_back, faults_ended, recovery_ended)

    def _iam_phases(self) -> list[CheckResult]:
        """Deny policies on the target principals for the fault phase; the application runs where it runs."""
        import boto3  # noqa: PLC0415 - only the iam injector talks to AWS itself

        from chaos.injectors.iam import IamInjector  # noqa: PLC0415

        experiment = self.experiment
        assert experiment.iam is not None
        fault_phase = experiment.fault_phase or 0.0
        self._iam = IamInjector(
            experiment.faults,
            settings=experiment.iam,
            guardrails=self.plan.guardrails.limits,
            experiment=experiment.title,
            session=boto3.Session(),
            duration=fault_phase,
            journal=self.journal.event,
            sleep=self._wait,
            probe_session=boto3.Session(profile_name=experiment.iam.probe_profile)
            if experiment.iam.probe_profile
            else None,
        )
        self._enter("baseline")
        self._wait(experiment.phases.baseline)
        self.journal.event(
            "inject",
            faults=[fault.to_json() for fault in experiment.faults],
        )
        self._enter("faults")
        try:
            self._iam.arm()
        except ConfigError as exc:
            raise Aborted(f"refused: {exc}") from None
        self._wait(fault_phase)
        self._enter("recovery")
        self._iam.disarm()
        self._wait(experiment.phases.recovery)
        return []

    def _start_everything(self, app: Any) -> str:
        """The AWS the application talks to and the application; returns its URL once it is ready."""
        if app.wsgi is not None:
            self._app = InProcessApp(app, self.seed, self.journal.event)
            self._injector = self._app.injector
        else:
            from chaos.injectors.gateway import GatewayInjector, GatewayServer  # noqa: PLC0415 - moto: only to run

            self._injector = GatewayInjector(seed=self.seed)
            self._injector.arm()
            self._gateway = GatewayServer(self._injector, port=0)
            self._gateway.reset_backend()  # every run starts from an empty AWS, even a second one in this process
            self._gateway.start()
            self.journal.event("gateway", url=self._gateway.url)
            self._app = ProcessApp(app, self._gateway.url, self.journal.event)
        base_url = self._app.start()
        self._wait_ready(base_url + app.ready, app.ready_timeout)
        return base_url

    def _steady_state(self, when: str, base_url: str) -> list[tuple[str, ProbeResult]]:
        self._enter(f"steady_state_{when}")
        results = [(item.name, probe(base_url, item.http)) for item in self.experiment.steady_state]
        self.journal.event("steady_state", when=when, results=[_probe_dict(name, result) for name, result in results])
        return results

    def _fault_phase(self, health_url: str, health_polls: list[tuple[int | None, str]]) -> float:
        """Arm the faults (journal first), hold them for the fault phase, remove them; returns when they ended."""
        experiment = self.experiment
        fault_phase = experiment.fault_phase or 0.0
        poller_stop = threading.Event()
        poller = threading.Thread(target=self._poll_health, args=(health_url, health_polls, poller_stop), daemon=True)
        dumped = [fault.to_json() for fault in experiment.faults]
        self.journal.event("inject", faults=dumped)  # written ahead: on disk before anything is armed
        self._enter("faults")
        self._fault_ids = self._injector.engine.add(experiment.faults)
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
        poller.start()
        try:
            self._wait(fault_phase)
        finally:
            poller_stop.set()
            poller.join(timeout=5)
        self.journal.event("remove", ids=self._fault_ids)
        self._injector.engine.remove(self._fault_ids)
        self.journal.event("removed", ids=self._fault_ids, armed=len(self._injector.engine.faults))
        return time.monotonic() - self._started

    def _verdict(
        self,
        log: RequestLog,
        before: list[tuple[str, ProbeResult]],
        after: list[tuple[str, ProbeResult]],
        health_polls: list[tuple[int | None, str]],
        read_back: dict[str, tuple[int | None, bytes]] | None,
        faults_ended: float,
        recovery_ended: float,
    ) -> list[CheckResult]:
        expect = self.experiment.expect
        during = log.stats("faults")
        results: list[CheckResult] = []
        if self.experiment.steady_state:
            results.append(checks.steady_state("steady_state_before", before))
        if expect.availability is not None:
            results.append(checks.availability(during, expect.availability))
        results.append(checks.graceful_errors(log, ["baseline", "faults", "recovery"]))
        for share, limit in ((0.5, expect.latency_p50), (0.95, expect.latency_p95), (0.99, expect.latency_p99)):
            if limit is not None:
                results.append(checks.latency(during, share, limit))
        if expect.durability:
            if read_back is None:
                results.append(
                    CheckResult(
                        "durability",
                        False,
                        None,
                        "0 lost",
                        "the load has no GET request to read writes back with: no data",
                    )
                )
            else:
                results.append(checks.durability(log.acknowledged, read_back))
        if expect.recovery is not None:
            results.append(checks.recovery(log.stats("recovery"), faults_ended, recovery_ended, expect.recovery))
        if expect.retry_amplification is not None:
            calls = self._injector.ledger.by_phase()
            results.append(
                checks.retry_amplification(
                    calls.get("baseline", 0),
                    log.stats("baseline").count,
                    calls.get("faults", 0),
                    during.count,
                    expect.retry_amplification,
                )
            )
        if expect.health_reports_degraded:
            results.append(checks.health_honesty(health_polls))
        if self.experiment.steady_state:
            results.append(checks.steady_state("steady_state_after", after))
        for result in results:
            self.journal.event("check", name=result.name, passed=result.passed)
        return results

    # -- the application ---------------------------------------------------------------------------
    def _wait_ready(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            gone = self._app.exited() if self._app is not None else None
            if gone is not None:
                raise AppFailed(gone)
            status, body = http_get(url, timeout=min(2.0, timeout))
            if status is not None and 200 <= status < 300:
                self.journal.event("app_ready", url=url)
                return
            last = f"status {status}" if status is not None else body
            if time.monotonic() >= deadline:
                raise AppFailed(
                    f"the application never became ready at {url} within {format_duration(timeout)} ({last})"
                )
            self._wait(0.1)

    # -- measurements ------------------------------------------------------------------------------
    def _tick(self, log: RequestLog) -> None:
        while not self._abort.is_set() and self._phase not in ("verify", "rolled_back"):
            ledger = self._injector.ledger
            self.progress.update(
                Snapshot(
                    phase=self._phase,
                    elapsed=time.monotonic() - self._started,
                    requests=log.total(),
                    failures=log.failures(),
                    faults_active=len(self._injector.engine.active()),
                    aws_calls=ledger.total,
                    aws_failed=ledger.fired,
                )
            )
            time.sleep(0.25)

    def _poll_health(self, url: str, polls: list[tuple[int | None, str]], stop: threading.Event) -> None:
        while not stop.is_set():
            polls.append(http_get(url, timeout=2.0))
            stop.wait(0.5)

    def _read_back(self, base_url: str, load: Any, log: RequestLog) -> dict[str, tuple[int | None, bytes]] | None:
        reads = [spec for spec in load.requests if spec.method == "GET" and "{id}" in spec.path]
        if not reads:
            return None
        path = reads[0].path

        def fetch(doc_id: str) -> tuple[str, tuple[int | None, bytes]]:
            status, body = http_get(base_url + path.replace("{id}", doc_id), timeout=load.timeout)
            return doc_id, (status, body.encode("utf-8", "surrogateescape"))

        with ThreadPoolExecutor(8) as pool:
            return dict(pool.map(fetch, list(log.acknowledged)))

    # -- rollback ----------------------------------------------------------------------------------
    def _rollback(self) -> bool:
        """Undo everything, each step verified; True when every step was."""
        steps: list[dict[str, Any]] = []
        for undo in (self._undo_iam, self._undo_faults, self._undo_app, self._undo_gateway):
            undo(steps)
        complete = all(step.get("ok", True) for step in steps)
        self._phase = "rolled_back"
        self.journal.update(rollback={"complete": complete, "steps": steps})
        self.journal.event("rollback", complete=complete)
        self.progress.message(
            f"rollback {'complete' if complete else 'INCOMPLETE'}: " + ", ".join(s["step"] for s in steps if "ok" in s)
        )
        return complete

    def _undo_iam(self, steps: list[dict[str, Any]]) -> None:
        if self._iam is None:
            return
        try:
            if self._iam.created or self._iam.rollback_complete is None:
                self._iam.disarm()  # removes what was created, and checks that nothing of this run is left
        except Exception as exc:
            steps.append({"step": "remove deny policies", "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        else:
            steps.append(
                {
                    "step": "remove deny policies",
                    "run_id": self._iam.run_id,
                    "ok": self._iam.rollback_complete is not False,
                }
            )

    def _undo_faults(self, steps: list[dict[str, Any]]) -> None:
        if self._injector is None:
            return
        removed = self._injector.engine.remove()
        left = len(self._injector.engine.faults)
        steps.append({"step": "remove faults", "removed": removed, "left": left, "ok": left == 0})

    def _undo_gateway(self, steps: list[dict[str, Any]]) -> None:
        if self._gateway is None:
            return
        self._gateway.stop()
        stopped = http_get(self._gateway.url + "/_chaos/health", timeout=1.0)[0] is None
        steps.append({"step": "stop gateway", "url": self._gateway.url, "ok": stopped})
        self._gateway = None

    def _undo_app(self, steps: list[dict[str, Any]]) -> None:
        if self._app is not None:
            self._app.stop(steps)
            self._app = None


def _timeseries(log: RequestLog) -> list[dict[str, Any]]:
    """Per second of the run: requests, successes, graceful refusals, failures, mean and max latency."""
    rows = []
    for second, (count, ok, graceful, failed, total, worst) in sorted(log.per_second.items()):
        rows.append(
            {
                "t": second,
                "requests": int(count),
                "successes": int(ok),
                "graceful": int(graceful),
                "failures": int(failed),
                "latency_mean": round(total / count, 4) if count else None,
                "latency_max": round(worst, 4),
            }
        )
    return rows


def _load_summary(log: RequestLog) -> dict[str, Any]:
    return {
        phase: {"requests": stats.count, "successes": stats.successes, "statuses": dict(stats.statuses)}
        for phase, stats in log.phases.items()
    }


def _probe_dict(name: str, result: ProbeResult) -> dict[str, Any]:
    return {"name": name, "passed": result.passed, "status": result.status, "reason": result.reason}


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
