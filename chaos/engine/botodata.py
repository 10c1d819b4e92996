"""What botocore knows about AWS: services, regions, operations, protocols and modeled errors.

Read from botocore's bundled data files (never from the network), once per process, cached.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any

from botocore.loaders import Loader
from botocore.model import ServiceModel

__all__ = [
    "GLOBAL_REGION",
    "global_services",
    "known_regions",
    "known_services",
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
    return Loader()


@functools.cache
def known_services() -> frozenset[str]:
    """Every botocore service name (``s3``, ``dynamodb``, ...)."""
    return frozenset(_loader().list_available_services("service-2"))


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's endpoint data, plus ``aws-global``."""
    data = _loader().load_data("endpoints")
    regions = {GLOBAL_REGION}
    for partition in data["partitions"]:
        regions.update(partition.get("regions", {}))
    return frozenset(regions)


@functools.cache
def global_services() -> frozenset[str]:
    """Services with one global endpoint (IAM, Route 53, CloudFront...): clients are in ``aws-global``."""
    data = _loader().load_data("endpoints")
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
    return ServiceModel(_loader().load_service_model(service, "service-2"), service_name=service)


@functools.cache
def operation_names(service: str) -> frozenset[str]:
    """The operation names of one service, as in its botocore model (``GetObject``)."""
    return frozenset(service_model(service).operation_names)


@functools.cache
def retry_config() -> dict[str, Any]:
    """botocore's legacy retry configuration (``_retry.json``)."""
    data: dict[str, Any] = _loader().load_data("_retry")
    return data


def suggest(word: str, choices: frozenset[str] | list[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest choice, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
