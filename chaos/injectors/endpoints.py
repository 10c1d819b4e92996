"""Where ``outage serve --upstream aws`` sends each call: the real AWS endpoint of its service and region.

Resolved by botocore's own endpoint rules (``endpoint-rule-set-1`` of each service, evaluated by
:class:`botocore.endpoint_provider.EndpointProvider`), with the inputs a botocore client would give
them: the region of the client's credential scope, the S3 bucket and addressing style the client
used, the operation's static context parameters, and the gateway's own configuration for the
rest (the global S3 endpoint in us-east-1 unless ``s3.us_east_1_regional_endpoint = regional``,
global STS only with ``sts_regional_endpoints = legacy``, as botocore does).

FIPS and dual-stack endpoints are the gateway's choice, not the client's: a client configured for
them still addresses the gateway, so nothing in its request says so. ``--upstream-fips`` and
``--upstream-dualstack`` (or ``use_fips_endpoint`` / ``use_dualstack_endpoint`` in the gateway's
profile or environment) turn them on for every forwarded call.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from botocore.args import LEGACY_GLOBAL_STS_REGIONS
from botocore.endpoint_provider import VALID_HOST_LABEL_RE, EndpointProvider
from botocore.exceptions import BotoCoreError, DataNotFoundError, UnknownServiceError

from chaos.engine import botodata

__all__ = ["AwsEndpoints", "NoRoute"]

#: Regions where ``sts_regional_endpoints = legacy`` sends STS to its global endpoint.
_LEGACY_STS_REGIONS = frozenset(LEGACY_GLOBAL_STS_REGIONS)


class NoRoute(Exception):
    """No AWS endpoint for a call (an unknown service, a region the rules refuse)."""


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true" if not isinstance(value, bool) else value


class AwsEndpoints:
    """Resolves (service, region, bucket, addressing style, operation) to an AWS endpoint URL."""

    def __init__(
        self,
        *,
        fips: bool = False,
        dualstack: bool = False,
        session: botocore.session.Session | None = None,
    ) -> None:
        self._session = session or botocore.session.get_session()
        self._loader = self._session.get_component("data_loader")
        self.fips = fips or _truthy(self._session.get_config_variable("use_fips_endpoint") or False)
        self.dualstack = dualstack or _truthy(self._session.get_config_variable("use_dualstack_endpoint") or False)
        s3_config = self._session.get_config_variable("s3") or {}
        self._s3_global = s3_config.get("us_east_1_regional_endpoint", "legacy") == "legacy"
        self._sts_global = (self._session.get_config_variable("sts_regional_endpoints") or "regional") == "legacy"
        self._partitions = self._loader.load_data("partitions")

    @functools.lru_cache(maxsize=512)  # noqa: B019 - one resolver per gateway, kept for its lifetime
    def _provider(self, service: str) -> tuple[EndpointProvider, dict[str, Any]]:
        try:
            ruleset = self._loader.load_service_model(service, "endpoint-rule-set-1")
        except (UnknownServiceError, DataNotFoundError) as exc:
            raise NoRoute(f"botocore has no endpoint rules for service {service!r}") from exc
        return EndpointProvider(ruleset, self._partitions), dict(ruleset.get("parameters", {}))

    def _builtins(self, region: str, path_style: bool) -> dict[str, Any]:
        return {
            "AWS::Region": region,
            "AWS::UseFIPS": self.fips,
            "AWS::UseDualStack": self.dualstack,
            "AWS::STS::UseGlobalEndpoint": self._sts_global and region in _LEGACY_STS_REGIONS,
            "AWS::S3::UseGlobalEndpoint": self._s3_global and region == "us-east-1",
            "AWS::S3::ForcePathStyle": path_style,
            "AWS::S3::Accelerate": False,
            "AWS::S3::UseArnRegion": True,
            "AWS::S3Control::UseArnRegion": False,
            "AWS::S3::DisableMultiRegionAccessPoints": False,
        }

    def resolve(
        self,
        service: str,
        region: str,
        *,
        operation: str | None = None,
        bucket: str | None = None,
        path_style: bool = False,
    ) -> str:
        """The endpoint URL (for S3 path-style, with ``/bucket``) botocore would send this call to."""
        provider, parameters = self._provider(service)
        if service == "s3" and bucket is not None:
            # As botocore's S3 customisation: GetBucketLocation and names that are no host label go path-style.
            path_style = path_style or operation == "GetBucketLocation" or not VALID_HOST_LABEL_RE.match(bucket)
        static: dict[str, Any] = {}
        if operation and operation in botodata.operation_names(service):
            static = dict(botodata.service_model(service).operation_model(operation).static_context_parameters)
        builtins = self._builtins(region, path_style)
        values: dict[str, Any] = {}
        for name, definition in parameters.items():
            if name in static:
                values[name] = static[name]
            elif name == "Bucket" and bucket is not None:
                values[name] = bucket
            elif definition.get("builtIn") in builtins:
                values[name] = builtins[definition["builtIn"]]
        try:
            endpoint = provider.resolve_endpoint(**values)
        except BotoCoreError as exc:
            raise NoRoute(f"no AWS endpoint for {service} in {region}: {exc}") from exc
        return str(endpoint.url)
