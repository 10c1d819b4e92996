"""chaos-outage: rehearse S3 and whole-region AWS outages before the next real one.

The public Python API::

    import chaos

    with chaos.inject(chaos.s3_outage("us-east-1")) as outage:
        ...                                  # every boto3 call to S3 in us-east-1 now fails
    print(outage.ledger.fired)               # how many calls the outage hit
"""

from chaos._version import __version__
from chaos.api import inject, region_outage, run_experiment, s3_outage
from chaos.engine import Action, Call, Decision, Engine, ErrorSpec, Fault, FaultKind
from chaos.errors import ChaosError, ConfigError, InjectionError
from chaos.injectors import HookInjector, compressed_time
from chaos.ledger import Event, Ledger
from chaos.loading import ExperimentError, Problem, load_experiment
from chaos.model import Experiment

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
