"""The Python API: describe an outage in one line, inject it for the length of a ``with`` block."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from chaos.engine.fault import Fault, FaultKind
from chaos.injectors import timewarp
from chaos.injectors.hook import HookInjector
from chaos.model import Experiment

if TYPE_CHECKING:
    from chaos.runner import RunResult

__all__ = ["inject", "region_outage", "run_experiment", "s3_outage"]


def inject(
    *faults: Fault | Iterable[Fault],
    session: Any = None,
    seed: int | None = None,
    sleep: Callable[[float], None] = timewarp.sleep,
) -> HookInjector:
    """Inject ``faults`` into botocore for the length of a ``with`` block.

    Global by default: every client in the process, including clients created before. With
    ``session=`` (a boto3 or botocore Session), only the clients created from that session. The
    object the ``with`` statement yields exposes ``.ledger`` (every call seen, every decision)::

        with chaos.inject(chaos.s3_outage("us-east-1")) as outage:
            ...
        assert outage.ledger.fired > 0
    """
    return HookInjector(faults, session=session, seed=seed, sleep=sleep)


def s3_outage(
    region: str | Sequence[str] = "us-east-1",
    kind: str | FaultKind = "unavailable",
    operations: Sequence[str] | None = None,
    buckets: Sequence[str] | None = None,
    probability: float = 1.0,
    **fields: Any,
) -> Fault:
    """S3 failing in one region (or for some buckets or operations of it)."""
    return Fault.model_validate(
        {
            "kind": kind,
            "service": "s3",
            "region": region,
            "operations": list(operations or ()),
            "buckets": list(buckets or ()),
            "probability": probability,
            **fields,
        }
    )


def region_outage(
    region: str | Sequence[str],
    services: str | Sequence[str] = "*",
    kind: str | FaultKind = "connection_error",
    include_global: bool = False,
    **fields: Any,
) -> Fault:
    """A whole region going dark: every service in it (or the ones named) fails.

    ``include_global`` also fails the global endpoints that live in us-east-1: IAM, the global STS
    endpoint and ``s3.amazonaws.com``.
    """
    return Fault.model_validate(
        {
            "kind": kind,
            "service": services if isinstance(services, str) else list(services),
            "region": region if isinstance(region, str) else list(region),
            "include_global": include_global,
            **fields,
        }
    )


def run_experiment(experiment: Experiment, **options: Any) -> RunResult:
    """Run ``experiment`` end to end, as ``outage run`` does, and return the verdict (a ``RunResult``).

    Options: ``source``, ``injector``, ``journal_path``, ``seed``, ``progress``. Raises
    :class:`~chaos.ConfigError` for an experiment that cannot be run; nothing is started then.
    """
    from chaos.runner import run_experiment as run  # noqa: PLC0415 - the runner brings moto: only to run

    return run(experiment, **options)
