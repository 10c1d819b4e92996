"""chaos-outage: rehearse S3 and whole-region AWS outages before the next real one.

The public Python API::

    import chaos

    with chaos.inject(chaos.s3_outage("us-east-1")) as outage:
        ...                                  # every boto3 call to S3 in us-east-1 now fails
    print(outage.ledger.fired)               # how many calls the outage hit

The names are imported when first used (PEP 562), so ``import chaos`` and the ``outage`` command's
help do not pay for botocore, pydantic and PyYAML.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from chaos._version import __version__

if TYPE_CHECKING:
    from chaos.api import inject, region_outage, run_experiment, s3_outage
    from chaos.engine import Action, Call, Decision, Engine, ErrorSpec, Fault, FaultKind
    from chaos.errors import ChaosError, ConfigError, InjectionError
    from chaos.injectors import HookInjector, compressed_time
    from chaos.ledger import Event, Ledger
    from chaos.loading import ExperimentError, Problem, load_experiment
    from chaos.model import Experiment

#: Where each public name lives.
_SOURCES = {
    "chaos.api": ("inject", "region_outage", "run_experiment", "s3_outage"),
    "chaos.engine": ("Action", "Call", "Decision", "Engine", "ErrorSpec", "Fault", "FaultKind"),
    "chaos.errors": ("ChaosError", "ConfigError", "InjectionError"),
    "chaos.injectors": ("HookInjector", "compressed_time"),
    "chaos.ledger": ("Event", "Ledger"),
    "chaos.loading": ("ExperimentError", "Problem", "load_experiment"),
    "chaos.model": ("Experiment",),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = [
    "Action",
    "Call",
    "ChaosError",
    "ConfigError",
    "Decision",
    "Engine",
    "ErrorSpec",
    "Event",
    "Experiment",
    "ExperimentError",
    "Fault",
    "FaultKind",
    "HookInjector",
    "InjectionError",
    "Ledger",
    "Problem",
    "__version__",
    "compressed_time",
    "inject",
    "load_experiment",
    "region_outage",
    "run_experiment",
    "s3_outage",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (and then cached in this module)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'chaos' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
