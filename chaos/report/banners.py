"""What a reader must see before anything else: a fault that never fired, a rollback that is not
complete, a run rolled back after a crash, a verdict nothing verified. Every format shows the same."""

from __future__ import annotations

from dataclasses import dataclass

from chaos.report.view import FaultCalls, ReportView

__all__ = ["Banner", "banners"]


@dataclass(frozen=True)
class Banner:
    """One banner."""

    kind: str
    """``never_fired``, ``rollback_incomplete``, ``after_crash``, ``unverified`` or ``not_finished``."""
    severe: bool
    title: str
    text: str


def _never_fired(fault: FaultCalls) -> Banner:
    title = f"The fault “{fault.label}” never fired: nothing proves this outage happened"
    if fault.seen == 0:
        text = (
            f"The application made no AWS call in its scope ({fault.scope}) while it was active, so it never met "
            "the outage. The verdict says nothing about this fault: compare its service and region with what the "
            "application really calls."
        )
    elif fault.fired_by_other >= fault.seen:
        text = (
            f"All {fault.seen} calls in its scope ({fault.scope}) while it was active were failed by another "
            "fault first: on its own it was never exercised."
        )
    else:
        text = (
            f"It fired on none of the {fault.seen} calls in its scope ({fault.scope}) while it was active "
            "(a low probability, or another fault fired first). The verdict says nothing about this fault."
        )
    return Banner("never_fired", True, title, text)


def banners(view: ReportView) -> list[Banner]:
    """The banners of a run, most important first."""
    found = [_never_fired(fault) for fault in view.never_fired]
    if view.status == "running":
        found.append(
            Banner(
                "not_finished",
                True,
                "This run has not finished, or its runner died without rolling back",
                "If no run is in progress, undo what it left behind with: outage rollback --journal <this journal>.",
            )
        )
    if view.rollback_complete is False:
        found.append(
            Banner(
                "rollback_incomplete",
                True,
                "Rollback is INCOMPLETE: something this run changed may still be in place",
                "See the failed steps under Rollback, then run outage rollback --journal <this journal>.",
            )
        )
    if view.after_crash:
        found.append(
            Banner(
                "after_crash",
                False,
                "Rolled back after a crash",
                "The runner died during the run; outage rollback undid what it had started. The checks, if any, "
                "are from before the crash.",
            )
        )
    if view.status == "unverified":
        found.append(
            Banner(
                "unverified",
                False,
                "UNVERIFIED: the faults were injected and removed, but nothing proved they took effect",
                view.reason,
            )
        )
    return found
