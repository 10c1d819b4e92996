"""What botocore knows about AWS: services, regions, operations, protocols and modeled errors.

Read from botocore's bundled data files (never from the network), once per process, cached.
"""

from __future__ import annotations

import difflib
import functools
import gzip
import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.loaders import Loader
    from botocore.model import ServiceModel

__all__ = [
    "GLOBAL_REGION",
    "global_services",
    "known_regions",
    "known_services",
    "model_version",
    "operation_names",
    "retry_config",
    "service_model",
    "service_prefix",
    "suggest",
]

#: The pseudo-region botocore gives clients of global services (IAM, Route 53, global STS).
GLOBAL_REGION = "aws-global"


@functools.cache
def _loader() -> Loader:
    from botocore.loaders import Loader  # noqa: PLC0415 - botocore itself only when a model is needed

    return Loader()


@functools.cache
def _data_dir() -> Path:
    """botocore's bundled data, found without importing botocore (validating a file stays quick)."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("botocore is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _data(name: str) -> Any:
    """One of botocore's top-level data files (``endpoints``, ``_retry``), as botocore's loader reads it."""
    plain = _data_dir() / f"{name}.json"
    if plain.exists():
        return json.loads(plain.read_bytes())
    return json.loads(gzip.decompress((_data_dir() / f"{name}.json.gz").read_bytes()))


@functools.cache
def known_services() -> frozenset[str]:
    """Every botocore service name (``s3``, ``dynamodb``, ...): a directory with a ``service-2`` model."""
    return frozenset(service.name for service in _data_dir().iterdir() if service.is_dir() and _versions(service))


def _versions(folder: Path) -> list[str]:
    """The API versions under a service's data folder that hold a ``service-2`` model."""
    return [
        version.name
        for version in (folder.iterdir() if folder.is_dir() else ())
        if (version / "service-2.json").exists() or (version / "service-2.json.gz").exists()
    ]


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's endpoint data, plus ``aws-global``."""
    data = _data("endpoints")
    regions = {GLOBAL_REGION}
    for partition in data["partitions"]:
        regions.update(partition.get("regions", {}))
    return frozenset(regions)


@functools.cache
def global_services() -> frozenset[str]:
    """Services with one global endpoint (IAM, Route 53, CloudFront...): clients are in ``aws-global``."""
    data = _data("endpoints")
    found = set()
    for partition in data["partitions"]:
        if partition.get("partition") != "aws":
            continue
        for name, spec in partition.get("services", {}).items():
            if spec.get("isRegionalized") is False:
                found.add(name)
    # endpoints.json names services by endpoint prefix; for the global ones it is their botocore name.
    return frozenset(found & known_services())


@functools.cache
def service_prefix(service: str) -> str:
    """The endpoint prefix of a service (``monitoring`` for cloudwatch)."""
    prefix: str = service_model(service).endpoint_prefix
    return prefix


@functools.cache
def service_model(service: str) -> ServiceModel:
    """botocore's model of one service."""
    from botocore.model import ServiceModel  # noqa: PLC0415

    return ServiceModel(_loader().load_service_model(service, "service-2"), service_name=service)


@functools.cache
def model_version(service: str) -> str:
    """The API version of a service's bundled ``service-2`` model that botocore's loader picks: the greatest."""
    versions = _versions(_data_dir() / service)
    if not versions:
        raise KeyError(f"botocore has no model of {service!r}")
    return max(versions)


@functools.cache
def operation_names(service: str) -> frozenset[str]:
    """The operation names of one service, as in its botocore model (``GetObject``).

    Read from the bundled ``service-2`` file of :func:`model_version`, without importing botocore
    (``outage validate`` stays quick); botocore's ``sdk-extras`` files never add operations. Only the
    names are kept.
    """
    return frozenset(_data(f"{service}/{model_version(service)}/service-2")["operations"])


@functools.cache
def retry_config() -> dict[str, Any]:
    """botocore's legacy retry configuration (``_retry.json``)."""
    data: dict[str, Any] = _data("_retry")
    return data


def suggest(word: str, choices: frozenset[str] | list[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest choice, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
