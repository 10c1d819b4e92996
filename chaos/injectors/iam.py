"""Outages on real AWS: self-expiring deny policies attached to the application's principals.

Arming checks the account against the allow-list (required) and refuses protected principals
(patterns, and always the caller's own); then, for each fault, writes the intent to the journal,
creates a managed policy (name prefix and tags by which a sweep finds it) and attaches it to each
target, and waits until the denial is in effect. Disarming detaches and deletes every policy it
created and checks that none is left. :func:`sweep` removes what a crashed run left, found by name
prefix and tag, without a journal. The tool never modifies a policy it did not create.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from chaos.engine.fault import Fault
from chaos.errors import ConfigError, InjectionError
from chaos.iam.policy import NAME_PREFIX, TAG_RUN, PlannedPolicy, fault_policies
from chaos.ledger import Ledger
from chaos.model import Guardrails, IamSettings

__all__ = ["IamInjector", "Target", "sweep"]

JournalHook = Callable[..., None]


@dataclass(frozen=True)
class Target:
    """A principal the injector denies."""

    kind: str
    """role, user or group."""
    name: str
    arn: str


def _principal_of(caller_arn: str) -> str:
    """The IAM principal behind a caller ARN (an assumed-role session is its role)."""
    if ":assumed-role/" in caller_arn:
        account = caller_arn.split(":")[4]
        role = caller_arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        return f"arn:aws:iam::{account}:role/{role}"
    return caller_arn


def _tags(iam: Any, arn: str) -> dict[str, str]:
    try:
        tags = iam.list_policy_tags(PolicyArn=arn).get("Tags", [])
    except Exception:
        return {}
    return {tag["Key"]: tag["Value"] for tag in tags}


def _delete(iam: Any, arn: str) -> None:
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    for role in entities.get("PolicyRoles", []):
        iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    for user in entities.get("PolicyUsers", []):
        iam.detach_user_policy(UserName=user["UserName"], PolicyArn=arn)
    for group in entities.get("PolicyGroups", []):
        iam.detach_group_policy(GroupName=group["GroupName"], PolicyArn=arn)
    for version in iam.list_policy_versions(PolicyArn=arn).get("Versions", []):
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)


def ours(iam: Any, run_id: str | None = None) -> list[str]:
    """ARNs of the policies this tool created (name prefix and run tag), for one run or for all."""
    found = []
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        for policy in page["Policies"]:
            if not policy["PolicyName"].startswith(NAME_PREFIX):
                continue
            tags = _tags(iam, policy["Arn"])
            if TAG_RUN in tags and (run_id is None or tags[TAG_RUN] == run_id):
                found.append(policy["Arn"])
    return found


def sweep(session: Any, run_id: str | None = None, journal: JournalHook | None = None) -> list[str]:
    """Remove every policy a run of this tool left (or one run's): detached everywhere, then deleted."""
    iam = session.client("iam")
    removed = []
    for arn in ours(iam, run_id):
        if journal is not None:
            journal("iam_sweep", policy=arn)
        _delete(iam, arn)
        removed.append(arn)
    return removed


class IamInjector:
    """Faults rendered as deny policies on the experiment's target principals."""

    name = "iam"

    def __init__(
        self,
        faults: Sequence[Fault],
        *,
        settings: IamSettings,
        guardrails: Guardrails,
        experiment: str,
        session: Any,
        duration: float,
        run_id: str | None = None,
        journal: JournalHook | None = None,
        probe: Callable[[], bool] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        region_conditions: bool = True,
        probe_session: Any = None,
    ) -> None:
        self.faults = tuple(faults)
        self.settings = settings
        self.guardrails = guardrails
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
        self.targets: list[Target] = []
        self._armed = False
        self.rollback_complete: bool | None = None

    @property
    def armed(self) -> bool:
        return self._armed

    def _check_account(self) -> tuple[str, str]:
        identity = self.session.client("sts").get_caller_identity()
        account, caller = identity["Account"], identity["Arn"]
        allowed = self.guardrails.accounts
        if not allowed:
            raise ConfigError(
                f"the iam injector needs an account allow-list: set guardrails.accounts (this is account {account})"
            )
        if account not in allowed:
            raise ConfigError(f"account {account} is not in guardrails.accounts ({', '.join(allowed)}): refused")
        return account, _principal_of(caller)

    def _resolve_targets(self, account: str, caller: str) -> list[Target]:
        iam = self.session.client("iam")
        protected = [*self.guardrails.protected_principals, caller]
        targets = []
        for spec in self.settings.targets:
            kind = "role" if spec.role else "user" if spec.user else "group"
            name = str(spec.role or spec.user or spec.group)
            arn = f"arn:aws:iam::{account}:{kind}/{name}"
            if any(fnmatch.fnmatchcase(arn, pattern) for pattern in protected):
                raise ConfigError(
                    f"{arn} is a protected principal (guardrails.protected_principals, or the caller): refused"
                )
            try:
                getattr(iam, f"get_{kind}")(**{f"{kind.title()}Name": name})
            except iam.exceptions.NoSuchEntityException:
                raise ConfigError(f"iam.targets: {kind} {name!r} does not exist in account {account}") from None
            targets.append(Target(kind, name, arn))
        return targets

    def _bucket_regions(self) -> dict[str, str]:
        if not any(fault.service == ("s3",) and not fault.buckets for fault in self.faults):
            return {}
        s3 = self.session.client("s3")
        regions = {}
        for bucket in s3.list_buckets().get("Buckets", []):
            location = s3.get_bucket_location(Bucket=bucket["Name"]).get("LocationConstraint")
            regions[bucket["Name"]] = location or "us-east-1"
        return regions

    def plan(self, start: datetime | None = None, bucket_regions: dict[str, str] | None = None) -> list[PlannedPolicy]:
        """The policies this injector would create, without touching AWS."""
        begin = start or datetime.now(timezone.utc)
        return fault_policies(
            self.faults,
            run_id=self.run_id,
            experiment=self.experiment,
            start=begin,
            run_end=begin + timedelta(seconds=self.duration),
            margin=timedelta(seconds=self.settings.expiry_margin),
            bucket_regions=bucket_regions,
            region_conditions=self.region_conditions,
        )

    def arm(self) -> None:
        """Check the guardrails, create and attach the policies, wait until they are in effect."""
        account, caller = self._check_account()
        self.targets = self._resolve_targets(account, caller)
        bucket_regions = self._bucket_regions()
        planned = self.plan(bucket_regions=bucket_regions)
        if self.probe is None and self.probe_session is not None:
            self.probe = self._s3_probe(bucket_regions)
        iam = self.session.client("iam")
        self._armed = True
        self.journal("iam_run", run_id=self.run_id, targets=[target.arn for target in self.targets])
        for policy in planned:
            self.journal("iam_create", policy=policy.name, document=policy.document, tags=policy.tags)
            created = iam.create_policy(
                PolicyName=policy.name,
                PolicyDocument=_json(policy.document),
                Description=policy.description,
                Tags=[{"Key": key, "Value": value} for key, value in policy.tags.items()],
            )["Policy"]["Arn"]
            self.created.append((policy, created))
            for target in self.targets:
                self.journal("iam_attach", policy=created, target=target.arn)
                getattr(iam, f"attach_{target.kind}_policy")(
                    **{f"{target.kind.title()}Name": target.name, "PolicyArn": created}
                )
        self._wait_for_effect()

    def _s3_probe(self, bucket_regions: dict[str, str]) -> Callable[[], bool] | None:
        """A call with the target's credentials that the first S3 fault must deny: True once it is denied."""
        for fault in self.faults:
            if fault.service != ("s3",):
                continue
            candidates = list(fault.buckets) or sorted(
                bucket for bucket, region in bucket_regions.items() if "*" in fault.region or region in fault.region
            )
            if not candidates:
                continue
            bucket = candidates[0]
            region = bucket_regions.get(bucket, "us-east-1")
            self.journal("iam_probe", bucket=bucket, region=region)
            return _denied_probe(self.probe_session.client("s3", region_name=region), bucket)
        return None

    def _wait_for_effect(self) -> None:
        bound = self.settings.propagation
        if self.probe is None:
            self.journal("iam_wait", seconds=bound, how="the documented propagation bound")
            self.sleep(bound)
            return
        retrying = Retrying(
            stop=stop_after_delay(bound),
            wait=wait_fixed(1),
            retry=retry_if_result(lambda in_effect: not in_effect),
            sleep=self.sleep,
            retry_error_callback=lambda state: False,
        )
        if not retrying(self.probe):
            raise InjectionError(f"the denial was not in effect {bound:g}s after the policies were attached")
        self.journal("iam_in_effect")

    def disarm(self) -> None:
        """Detach and delete every policy this run created; check that none is left."""
        iam = self.session.client("iam")
        for _, arn in self.created:
            self.journal("iam_remove", policy=arn)
            with contextlib.suppress(iam.exceptions.NoSuchEntityException):  # already gone: a sweep ran
                _delete(iam, arn)
        left = ours(iam, self.run_id)
        self.rollback_complete = not left
        self.journal("iam_removed", left=left)
        self.created = []
        self._armed = False
        if left:
            raise InjectionError(f"policies of run {self.run_id} are still there: {', '.join(left)}")


def _denied_probe(client: Any, bucket: str) -> Callable[[], bool]:
    """True once listing ``bucket`` with the target's credentials is denied."""

    def probe() -> bool:
        try:
            client.list_objects_v2(Bucket=bucket, MaxKeys=1)
        except client.exceptions.ClientError as exc:
            return bool(exc.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException"))
        return False

    return probe


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document)
