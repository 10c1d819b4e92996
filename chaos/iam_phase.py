"""The IAM run: deny policies on the target principals for the fault phase, and proof that they worked.

The application runs where it always runs; the run attaches the policies (through the guardrail
gate), holds them for the fault phase, removes them, and judges two checks with a probe (a call
made with a target's credentials): the denial was in effect, and access came back after removal.
Without a probe nothing proves either, and the verdict is ``unverified``, never ``passed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chaos.errors import ConfigError, InjectionError
from chaos.guardrails import Limits
from chaos.injectors.iam import IamInjector, poll
from chaos.journal import Journal
from chaos.model import Experiment
from chaos.verify.checks import CheckResult
from chaos.verify.stopwatch import StopWatch

__all__ = ["IamRun"]

UNVERIFIED = (
    "the deny policies were attached for the fault phase and removed, but nothing verified that the denial "
    "was in effect or that access came back: set iam.probe_profile (a target's credentials) to verify"
)


class IamRun:
    """One IAM run: arm, hold, remove, and the checks that prove it."""

    def __init__(
        self,
        experiment: Experiment,
        limits: Limits,
        journal: Journal,
        wait: Callable[[float], None],
        enter: Callable[[str], None],
        session: Any = None,
        probe_session: Any = None,
    ) -> None:
        import boto3  # noqa: PLC0415 - only the iam injector talks to AWS itself
        from botocore.exceptions import ProfileNotFound  # noqa: PLC0415

        assert experiment.iam is not None
        self.experiment, self.limits, self.journal, self.wait, self.enter = experiment, limits, journal, wait, enter
        settings = experiment.iam
        if probe_session is None and settings.probe_profile:
            try:
                probe_session = boto3.Session(profile_name=settings.probe_profile)
            except ProfileNotFound:
                profile = settings.probe_profile
                raise ConfigError(f"iam.probe_profile: there is no AWS profile {profile!r}") from None
        self.injector = IamInjector(
            experiment.faults,
            settings=settings,
            experiment=experiment.title,
            session=session or boto3.Session(),
            duration=experiment.fault_phase or 0.0,
            journal=self._journal,
            sleep=wait,
            probe_session=probe_session,
        )

    def _journal(self, event: str, **fields: Any) -> None:
        if event == "iam_create":  # the ARN is on disk before the policy exists
            self.journal.resource("iam_policy", arn=fields["arn"], run_id=self.injector.run_id)
        self.journal.event(event, **fields)

    def run(self, watch: StopWatch | None = None) -> list[CheckResult]:
        """Baseline, policies for the fault phase, removal, recovery; the checks (empty when unverified).

        ``watch``: the stop conditions, started with the faults (the caller stops it).
        """
        experiment = self.experiment
        self.enter("baseline")
        self.wait(experiment.phases.baseline)
        self.journal.event("inject", faults=[fault.to_json() for fault in experiment.faults])
        if watch is not None:
            watch.start()
        self.enter("faults")
        fault_phase = experiment.fault_phase or 0.0
        self.injector.arm(limits=self.limits, hold=fault_phase)
        self.wait(fault_phase)
        self.enter("recovery")
        removed_at = time.monotonic()
        self.injector.disarm()
        results = []
        if self.injector.probe is not None:
            results.append(self._in_effect())
            results.append(self._restored(removed_at))
        self.wait(max(experiment.phases.recovery - (time.monotonic() - removed_at), 0.0))
        return results

    def unverified(self) -> str | None:
        """Why the verdict cannot be ``passed`` although every check passed, or None.

        The probe proves the fault it calls for (the first S3 fault with a bucket it can call); the
        other faults are denied all the same, but nothing shows it.
        """
        if self.injector.probe is None:
            return UNVERIFIED
        covered = self.injector.probed_fault
        others = [fault.label for index, fault in enumerate(self.experiment.faults) if index != covered]
        if others:
            return (
                f"the probe verified fault {covered} only; nothing verified the denial of {', '.join(others)} "
                "(the probe calls S3 with a target's credentials)"
            )
        return None

    def _in_effect(self) -> CheckResult:
        seconds = self.injector.in_effect_after
        bound = self.injector.settings.propagation
        return CheckResult(
            "denial_in_effect",
            seconds is not None,
            seconds,
            bound,
            f"denial in effect after {seconds:g} s" if seconds is not None else "never seen in effect",
        )

    def _restored(self, removed_at: float) -> CheckResult:
        probe, bound = self.injector.probe, self.injector.settings.propagation
        assert probe is not None
        try:
            back = poll(probe, False, bound, self.wait)
        except InjectionError as exc:
            return CheckResult("access_restored", False, None, bound, f"the probe failed: {exc}")
        seconds = round(time.monotonic() - removed_at, 3)
        self.journal.event("iam_restored" if back else "iam_still_denied", after=seconds)
        reason = (
            f"access restored after {seconds:g} s"
            if back
            else f"still denied {seconds:g} s after the policies were removed (bound {bound:g} s)"
        )
        return CheckResult("access_restored", back, seconds if back else None, bound, reason)

    def undo(self, steps: list[dict[str, Any]]) -> None:
        """Rollback: remove whatever this run's policies are left; a step that says whether it checked."""
        injector = self.injector
        if not injector.created and injector.removal is not None:
            steps.append(
                {
                    "step": "remove deny policies",
                    "run_id": injector.run_id,
                    **injector.removal.to_dict(),
                    "ok": injector.removal.clean,
                }
            )
            return
        if not injector.created and injector.removal is None:
            return  # nothing was ever armed
        try:
            injector.disarm()
        except InjectionError as exc:
            steps.append({"step": "remove deny policies", "run_id": injector.run_id, "ok": False, "error": str(exc)})
            return
        report = injector.removal
        assert report is not None
        steps.append(
            {"step": "remove deny policies", "run_id": injector.run_id, **report.to_dict(), "ok": report.clean}
        )
