"""The guardrail gate: the one way in to arming a fault, whatever the path.

Every injector's :meth:`~chaos.injectors.base.Injector.arm` calls :func:`admit` before it changes
anything (a subclass cannot override ``arm``), and a run calls :func:`experiment_violations`
through its plan before anything starts. The limits come from :func:`chaos.guardrails.limits_for`,
which always merges the project's ``[tool.chaos]``: a path can add limits, never drop the project's.

What each limit refuses:

- ``regions``, ``services``: a fault aimed elsewhere, or everywhere (``*``); ``include_global``
  counts as us-east-1, where the global endpoints live.
- ``max_probability``: a fault that fires more often.
- ``max_duration``: a run longer than this; a hold (``--for``, a run's fault phase) longer than
  this; a fault that ends later, or that has no end while nothing else bounds it.
- ``max_concurrent_faults``: more faults active at once, counting those already armed.
- ``accounts`` (IAM): an account not in the list, or no list at all.
- ``protected_principals`` (IAM): a target matching one of the patterns, case-insensitively.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence

from chaos.engine.durations import format_duration
from chaos.engine.fault import Fault
from chaos.errors import ChaosError
from chaos.guardrails import Limits, Violation
from chaos.model import Experiment, Guardrails, IamSettings

__all__ = [
    "Refused",
    "admit",
    "admit_account",
    "experiment_violations",
    "fault_violations",
    "iam_violations",
    "peak_concurrency",
    "protected_by",
]

_NONE = "none (the sources of limits have none in common)"


class Refused(ChaosError):
    """A guardrail refuses: nothing was armed. ``violations`` names every limit exceeded (exit code 3)."""

    def __init__(self, violations: Sequence[Violation], sources: Sequence[str] = ()) -> None:
        self.violations = list(violations)
        self.sources = list(sources)
        where = f" (limits from {' + '.join(sources)})" if sources else ""
        super().__init__("refused by guardrail: " + "; ".join(str(v) for v in self.violations) + where)


def peak_concurrency(faults: Sequence[Fault], hold: float | None = None) -> int:
    """The most of ``faults`` active at the same moment of their timeline (cut at ``hold``)."""
    edges = []
    for fault in faults:
        end = math.inf if fault.end is None else fault.end
        if hold is not None:
            end = min(end, hold)
        if fault.after >= end:
            continue
        edges.append((fault.after, 1))
        edges.append((end, -1))
    active = peak = 0
    for _, change in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        active += change
        peak = max(peak, active)
    return peak


def _scope_violations(index: int, fault: Fault, limits: Guardrails) -> list[Violation]:
    found = []
    regions = set(fault.region)
    if fault.include_global:
        regions.add("us-east-1")  # the global endpoints live there
    if limits.regions is not None and not regions <= set(limits.regions):
        outside = "every region" if "*" in regions else ", ".join(sorted(regions - set(limits.regions)))
        allowed = ", ".join(limits.regions) or _NONE
        found.append(Violation("regions", f"fault {index} ({fault.label}) targets {outside}; allowed: {allowed}"))
    if limits.services is not None and not set(fault.service) <= set(limits.services):
        outside = (
            "every service" if "*" in fault.service else ", ".join(sorted(set(fault.service) - set(limits.services)))
        )
        allowed = ", ".join(limits.services) or _NONE
        found.append(Violation("services", f"fault {index} ({fault.label}) targets {outside}; allowed: {allowed}"))
    if limits.max_probability is not None and fault.probability > limits.max_probability:
        found.append(
            Violation(
                "max_probability",
                f"fault {index} ({fault.label}) has probability {fault.probability:g} > {limits.max_probability:g}",
            )
        )
    return found


def fault_violations(
    faults: Sequence[Fault],
    limits: Guardrails,
    *,
    hold: float | None = None,
    already_active: int = 0,
) -> list[Violation]:
    """What arming ``faults`` now would exceed.

    ``hold``: how long the caller keeps them at most (a run's fault phase, ``--for``); None when
    they stay until removed (a ``with`` block, Ctrl-C, a gateway's lifetime), so that only their own
    ``for`` ends them. ``already_active``: faults armed before and not over yet.
    """
    found: list[Violation] = []
    for index, fault in enumerate(faults):
        found += _scope_violations(index, fault, limits)
    longest = limits.max_duration
    if longest is not None:
        if hold is not None and hold > longest:
            found.append(Violation("max_duration", f"held for {format_duration(hold)} > {format_duration(longest)}"))
        for index, fault in enumerate(faults):
            end = fault.end
            if end is None and hold is None:
                found.append(
                    Violation(
                        "max_duration",
                        f"fault {index} ({fault.label}) has no 'for' and nothing else ends it; "
                        f"give it a 'for' of at most {format_duration(longest)}",
                    )
                )
            elif end is not None and min(end, hold if hold is not None else end) > longest:
                found.append(
                    Violation(
                        "max_duration",
                        f"fault {index} ({fault.label}) lasts until {format_duration(end)}"
                        f" > {format_duration(longest)}",
                    )
                )
    most = limits.max_concurrent_faults
    if most is not None:
        peak = already_active + peak_concurrency(faults, hold)
        if peak > most:
            armed = f" ({already_active} armed already)" if already_active else ""
            found.append(Violation("max_concurrent_faults", f"{peak} faults would be active at once{armed} > {most}"))
    return found


def iam_violations(settings: IamSettings, hold: float, limits: Guardrails) -> list[Violation]:
    """What deny policies held for ``hold`` would exceed: they may stay attached for the propagation
    wait, the hold, and (if the runner dies) until they expire ``expiry_margin`` after the planned end."""
    longest = limits.max_duration
    exposure = settings.propagation + hold + settings.expiry_margin
    if longest is None or exposure <= longest:
        return []
    return [
        Violation(
            "max_duration",
            f"the deny policies could be in force for {format_duration(exposure)} (propagation "
            f"{format_duration(settings.propagation)} + {format_duration(hold)} + expiry margin "
            f"{format_duration(settings.expiry_margin)}, if the runner died) > {format_duration(longest)}",
        )
    ]


def experiment_violations(experiment: Experiment, limits: Guardrails) -> list[Violation]:
    """What a whole run of ``experiment`` would exceed: its faults, its length, its timeline."""
    found: list[Violation] = []
    for index, fault in enumerate(experiment.faults):
        found += _scope_violations(index, fault, limits)
    if limits.max_duration is not None:
        total = experiment.total_duration
        if total is None:
            found.append(
                Violation("max_duration", "a fault has no 'for' and phases.faults is unset, so the run has no end")
            )
        elif total > limits.max_duration:
            found.append(
                Violation(
                    "max_duration",
                    f"the run lasts {format_duration(total)} (baseline + faults + recovery)"
                    f" > {format_duration(limits.max_duration)}",
                )
            )
    if experiment.iam is not None and experiment.injector in (None, "iam") and experiment.fault_phase is not None:
        found += iam_violations(experiment.iam, experiment.fault_phase, limits)
    if limits.max_concurrent_faults is not None:
        peak = peak_concurrency(experiment.faults, experiment.fault_phase)
        if peak > limits.max_concurrent_faults:
            found.append(
                Violation("max_concurrent_faults", f"{peak} faults are active at once > {limits.max_concurrent_faults}")
            )
    return found


def admit(faults: Sequence[Fault], limits: Limits, *, hold: float | None = None, already_active: int = 0) -> None:
    """Raise :class:`Refused`, naming each limit, unless arming ``faults`` now stays within ``limits``."""
    violations = fault_violations(faults, limits.guardrails, hold=hold, already_active=already_active)
    if violations:
        raise Refused(violations, limits.sources)


def admit_account(account: str, limits: Limits, *, purpose: str = "the iam injector") -> None:
    """Refuse an AWS account outside the allow-list (the IAM injector and a gateway in front of AWS,
    named by ``purpose``, need one on every path)."""
    allowed = limits.guardrails.accounts
    if not allowed:
        raise Refused(
            [Violation("accounts", f"{purpose} needs an account allow-list (this is account {account})")],
            limits.sources,
        )
    if account not in allowed:
        raise Refused(
            [Violation("accounts", f"account {account} is not in the allow-list ({', '.join(allowed)})")],
            limits.sources,
        )


def protected_by(arn: str, patterns: Sequence[str]) -> str | None:
    """The first pattern that protects ``arn``, matched case-insensitively (IAM names are), or None."""
    folded = arn.casefold()
    for pattern in patterns:
        if fnmatch.fnmatchcase(folded, pattern.casefold()):
            return pattern
    return None
