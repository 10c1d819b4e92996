"""Outages on real AWS: self-expiring deny policies attached to the application's principals.

Arming (through the guardrail gate) checks the account against the allow-list (required), refuses
protected principals and any target that includes the caller; then, for each fault, writes the
intent to the journal (the policy's ARN before it exists), creates a managed policy carrying the
tool's signature, attaches it to each target (each attachment journalled first), and waits until
the denial is in effect. If anything fails on the way, what was created is removed before the error
surfaces. Disarming removes exactly the policies this run created, checks that each is gone, and
says what it could not check. :func:`sweep` finds a crashed run's policies by their signature.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from chaos.engine.fault import Fault
from chaos.errors import InjectionError
from chaos.gate import Refused, admit_account, iam_violations
from chaos.guardrails import Limits
from chaos.iam.ownership import Candidate, IamStepError, Removal, call, find, remove, runner_tag
from chaos.iam.policy import TAG_RUNNER, PlannedPolicy, fault_policies
from chaos.iam.principals import Target, caller_of, resolve_targets
from chaos.injectors.base import Injector
from chaos.journal import ProcessIdentity
from chaos.ledger import Ledger
from chaos.model import Guardrails, IamSettings

__all__ = ["IamInjector", "Target", "ours", "sweep"]

JournalHook = Callable[..., None]


def sweep(
    session: Any,
    run_id: str | None = None,
    arns: Sequence[str] = (),
    journal: JournalHook | None = None,
) -> Removal:
    """Remove every policy a run of this tool left (or one run's, or these ARNs), checked by signature."""
    iam = session.client("iam")
    report = Removal()
    candidates, errors = find(iam, run_id)
    report.errors += errors
    report.not_ours += [candidate for candidate in candidates if not candidate.ours]
    mine = [candidate.arn for candidate in candidates if candidate.ours]
    report.merge(remove(iam, [*arns, *mine], run_id=run_id, journal=journal))
    return report


def ours(iam: Any, run_id: str | None = None) -> list[str]:
    """ARNs of the policies carrying the tool's signature (one run's when given)."""
    candidates, errors = find(iam, run_id)
    if errors:
        raise InjectionError("; ".join(str(error) for error in errors))
    return [candidate.arn for candidate in candidates if candidate.ours]


def not_ours(iam: Any) -> list[Candidate]:
    """Policies with the tool's name prefix but not its signature: never touched."""
    return [candidate for candidate in find(iam)[0] if not candidate.ours]


class IamInjector(Injector):
    """Faults rendered as deny policies on the experiment's target principals."""

    name = "iam"

    def __init__(
        self,
        faults: Iterable[Fault] = (),
        *,
        settings: IamSettings,
        experiment: str,
        session: Any,
        duration: float,
        guardrails: Guardrails | None = None,
        run_id: str | None = None,
        journal: JournalHook | None = None,
        probe: Callable[[], bool] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        region_conditions: bool = True,
        probe_session: Any = None,
    ) -> None:
        super().__init__(faults, guardrails=guardrails)
        self.settings = settings
        self.experiment = experiment
        self.session = session
        self.duration = duration
        self.run_id = run_id or secrets.token_hex(6)
        self.journal = journal or (lambda event, **fields: None)
        self.probe = probe
        self.sleep = sleep
        self.region_conditions = region_conditions
        self.probe_session = probe_session
        self.ledger = Ledger()  # IAM sees no calls: denials happen inside AWS
        self.created: list[tuple[PlannedPolicy, str]] = []
        """(policy, ARN) of every policy this run set out to create, recorded before the create."""
        self.targets: list[Target] = []
        self.probed_fault: int | None = None
        """The index of the fault the probe verifies."""
        self.in_effect_after: float | None = None
        """Seconds from the first attachment until the probe saw the denial (None without a probe)."""
        self.removal: Removal | None = None
        self._armed_faults: tuple[Fault, ...] = ()
        self._armed = False

    @property
    def faults(self) -> tuple[Fault, ...]:
        return self._armed_faults if self._armed else self._pending

    @property
    def armed(self) -> bool:
        return self._armed

    @property
    def rollback_complete(self) -> bool | None:
        """Whether the last disarm checked every policy gone (None before any disarm)."""
        return None if self.removal is None else self.removal.clean

    def _bucket_regions(self, faults: Sequence[Fault]) -> dict[str, str]:
        if not any(fault.service == ("s3",) and not fault.buckets for fault in faults):
            return {}
        s3 = self.session.client("s3")
        regions = {}
        for bucket in call("s3:ListAllMyBuckets", "the account", s3.list_buckets).get("Buckets", []):
            name = bucket["Name"]
            location = call("s3:GetBucketLocation", name, s3.get_bucket_location, Bucket=name)
            regions[name] = location.get("LocationConstraint") or "us-east-1"
        return regions

    def plan(
        self,
        start: datetime | None = None,
        bucket_regions: dict[str, str] | None = None,
        faults: Sequence[Fault] | None = None,
    ) -> list[PlannedPolicy]:
        """The policies this injector would create, without touching AWS."""
        begin = start or datetime.now(timezone.utc)
        return fault_policies(
            self.faults if faults is None else faults,
            run_id=self.run_id,
            experiment=self.experiment,
            start=begin,
            run_end=begin + timedelta(seconds=self.duration),
            margin=timedelta(seconds=self.settings.expiry_margin),
            bucket_regions=bucket_regions,
            region_conditions=self.region_conditions,
        )

    def _arm(self, faults: tuple[Fault, ...], limits: Limits, hold: float | None = None) -> list[int]:
        if self._armed or self.created:
            raise InjectionError(f"run {self.run_id} is armed already: one set of deny policies per run")
        exposure = iam_violations(self.settings, self.duration, limits.guardrails)
        if exposure:
            raise Refused(exposure, limits.sources)
        try:
            caller = caller_of(self.session)
            admit_account(caller.account, limits)
            iam = self.session.client("iam")
            self.targets = resolve_targets(iam, self.settings.targets, caller, limits)
            bucket_regions = self._bucket_regions(faults)
            planned = self.plan(bucket_regions=bucket_regions, faults=faults)
            if self.probe is None and self.probe_session is not None:
                self.probe = self._s3_probe(faults, bucket_regions)
        except IamStepError as error:
            raise InjectionError(f"cannot arm: {error}") from None
        self._armed_faults, self._armed = faults, True
        self.journal("iam_run", run_id=self.run_id, account=caller.account, targets=[t.arn for t in self.targets])
        runner = runner_tag(ProcessIdentity.of(os.getpid()))
        try:
            for policy in planned:
                arn = f"arn:aws:iam::{caller.account}:policy/{policy.name}"
                self.journal("iam_create", policy=policy.name, arn=arn, document=policy.document, tags=policy.tags)
                self.created.append((policy, arn))
                call(
                    "iam:CreatePolicy",
                    arn,
                    iam.create_policy,
                    PolicyName=policy.name,
                    PolicyDocument=json.dumps(policy.document),
                    Description=policy.description,
                    Tags=[{"Key": key, "Value": value} for key, value in {**policy.tags, TAG_RUNNER: runner}.items()],
                )
                for target in self.targets:
                    self.journal("iam_attach", policy=arn, target=target.arn)
                    call(
                        f"iam:Attach{target.kind.title()}Policy",
                        target.arn,
                        getattr(iam, f"attach_{target.kind}_policy"),
                        **{f"{target.kind.title()}Name": target.name, "PolicyArn": arn},
                    )
            self.in_effect_after = self._wait_for_effect()
        except BaseException as exc:
            self._undo_after_failure(exc)
            raise
        return [policy.fault_index for policy in planned]

    def _undo_after_failure(self, exc: BaseException) -> None:
        """Remove whatever this arm created before it failed; an incomplete removal is named."""
        self.journal("iam_arm_failed", error=f"{type(exc).__name__}: {exc}")
        self.disarm(raise_incomplete=False)
        if self.removal is not None and not self.removal.clean:
            raise InjectionError(
                f"arming failed ({exc}), and removing what it had created is incomplete: {_summary(self.removal)}"
            ) from exc
        if isinstance(exc, IamStepError):
            raise InjectionError(f"arming failed: {exc}; everything it had created is removed") from None

    def _s3_probe(self, faults: Sequence[Fault], bucket_regions: dict[str, str]) -> Callable[[], bool] | None:
        """A call with the target's credentials that the first S3 fault must deny: True once it is denied."""
        for index, fault in enumerate(faults):
            if fault.service != ("s3",):
                continue
            candidates = list(fault.buckets) or sorted(
                bucket for bucket, region in bucket_regions.items() if "*" in fault.region or region in fault.region
            )
            if not candidates:
                continue
            bucket = candidates[0]
            region = bucket_regions.get(bucket, "us-east-1")
            self.journal("iam_probe", bucket=bucket, region=region, fault=index)
            self.probed_fault = index
            return _denied_probe(self.probe_session.client("s3", region_name=region), bucket)
        return None

    def _wait_for_effect(self) -> float | None:
        """Seconds until the probe saw the denial; None when there is no probe (the bound is waited out)."""
        bound = self.settings.propagation
        if self.probe is None:
            self.journal("iam_wait", seconds=bound, how="the documented propagation bound; nothing verifies it")
            self.sleep(bound)
            return None
        started = time.monotonic()
        if not poll(self.probe, True, bound, self.sleep):
            raise InjectionError(f"the denial was not in effect {bound:g}s after the policies were attached")
        seconds = round(time.monotonic() - started, 3)
        self.journal("iam_in_effect", after=seconds)
        return seconds

    def remove(self, ids: Iterable[int] | None = None) -> list[int]:
        """Remove the policies of these faults (all when None); the fault indexes removed."""
        wanted = None if ids is None else set(ids)
        chosen = [(policy, arn) for policy, arn in self.created if wanted is None or policy.fault_index in wanted]
        report = remove(
            self.session.client("iam"), [arn for _, arn in chosen], run_id=self.run_id, journal=self.journal
        )
        gone = set(report.removed)
        self.created = [(policy, arn) for policy, arn in self.created if arn not in gone]
        return [policy.fault_index for policy, arn in chosen if arn in gone]

    def disarm(self, raise_incomplete: bool = True) -> None:
        """Remove exactly the policies this run created and check each is gone; an incomplete removal raises."""
        iam = self.session.client("iam")
        report = remove(iam, [arn for _, arn in self.created], run_id=self.run_id, journal=self.journal)
        self.removal = report
        self.journal("iam_removed", **report.to_dict())
        gone = set(report.removed)
        self.created = [(policy, arn) for policy, arn in self.created if arn not in gone]
        self._armed = False
        if raise_incomplete and not report.clean:
            raise InjectionError(f"the deny policies of run {self.run_id} are not all removed: {_summary(report)}")


def poll(probe: Callable[[], bool], wanted: bool, bound: float, sleep: Callable[[float], None]) -> bool:
    """Poll ``probe`` once a second until it returns ``wanted``, at most ``bound`` seconds; whether it did."""
    retrying = Retrying(
        stop=stop_after_delay(bound),
        wait=wait_fixed(1),
        retry=retry_if_result(lambda seen: seen is not wanted),
        sleep=sleep,
        retry_error_callback=lambda state: not wanted,
    )
    return bool(retrying(probe)) is wanted


def _summary(report: Removal) -> str:
    parts = [str(error) for error in report.errors]
    if report.unverified:
        parts.append("not checked gone: " + ", ".join(report.unverified))
    return "; ".join(parts) or "nothing"


def _denied_probe(client: Any, bucket: str) -> Callable[[], bool]:
    """True once listing ``bucket`` with the target's credentials is denied."""

    def probe() -> bool:
        try:
            client.list_objects_v2(Bucket=bucket, MaxKeys=1)
        except client.exceptions.ClientError as exc:
            return bool(exc.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException"))
        return False

    return probe
