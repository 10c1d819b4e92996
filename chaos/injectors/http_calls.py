"""Recognising an AWS API call in a raw HTTP request, for injectors that see HTTP (the gateway).

Service and region come from the SigV4 credential scope (header or presigned query); unsigned and
SigV2-presigned S3 requests are S3 and take their bucket's region from a lookup the caller
provides. The operation comes from the request as each protocol puts it: ``X-Amz-Target`` for
JSON, ``Action`` for query and EC2, the method, path and query matched against botocore's
``requestUri`` templates for REST protocols, ``/service/X/operation/Y`` for Smithy RPC v2 CBOR.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, unquote_plus

from botocore.loaders import Loader
from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY

from chaos.engine import botodata
from chaos.engine.call import Call

__all__ = ["HttpRequest", "describe", "match_operation", "warm_service_names"]

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"^[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request$")
_CBOR_PATH = re.compile(r"^/service/([^/]+)/operation/([^/?]+)")
_ATTEMPT = re.compile(r"attempt=(\d+)")


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an HTTP request that say which AWS call it is."""

    method: str
    host: str
    path: str
    """The raw (percent-encoded) path."""
    query: str
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes = b""

    @functools.cached_property
    def params(self) -> dict[str, list[str]]:
        """Query parameters (blank values kept); cheaper than parse_qs on the path of every request."""
        params: dict[str, list[str]] = {}
        for part in self.query.split("&"):
            if not part:
                continue
            name, _, value = part.partition("=")
            if "%" in name or "+" in name:
                name = unquote_plus(name)
            if "%" in value or "+" in value:
                value = unquote_plus(value)
            params.setdefault(name, []).append(value)
        return params


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    literals: int
    query: tuple[tuple[str, str | None], ...]
    headers: frozenset[str]


def _compile(uri: str) -> tuple[re.Pattern[str], int, tuple[tuple[str, str | None], ...]]:
    path, _, query = uri.partition("?")
    regex, literals = "", 0
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{"):
            regex += "(?P<greedy>.+)" if piece.endswith("+}") else "[^/]+"
        elif piece:
            regex += re.escape(piece)
            literals += len(piece.strip("/").split("/")) if piece.strip("/") else 0
    requirements = []
    for item in filter(None, query.split("&")):
        name, has_value, value = item.partition("=")
        if name != "x-id":  # a disambiguator some SDKs send and botocore does not
            requirements.append((name, value if has_value else None))
    return re.compile(f"^{regex.rstrip('/')}/?$"), literals, tuple(requirements)


@functools.cache
def _routes(service: str) -> tuple[_Route, ...]:
    model = botodata.service_model(service)
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        http = operation.http
        if "requestUri" not in http:
            continue
        pattern, literals, query = _compile(http["requestUri"])
        required: set[str] = set()
        shape = operation.input_shape
        if shape is not None:
            for member_name in shape.required_members:
                member = shape.members[member_name]
                location = member.serialization.get("location")
                wire_name = member.serialization.get("name", member_name)
                if location == "header":
                    required.add(wire_name.lower())
                elif location == "querystring" and all(wire_name != known for known, _ in query):
                    query += ((wire_name, None),)
        routes.append(_Route(name, http.get("method", "POST"), pattern, literals, query, frozenset(required)))
    return tuple(routes)


@dataclass(frozen=True)
class _Vocabulary:
    """What in a request can change which REST operation it is, for one service."""

    literals: frozenset[str]
    """Path segments that appear literally in some requestUri."""
    cacheable: bool
    """False when a requestUri mixes literal text and a variable in one segment."""
    valued_query: frozenset[str]
    """Query parameters some route requires a particular value of."""
    headers: frozenset[str]
    """Headers some route requires."""


@functools.cache
def _vocabulary(service: str) -> _Vocabulary:
    literals: set[str] = set()
    valued: set[str] = set()
    headers: set[str] = set()
    cacheable = True
    for route in _routes(service):
        valued.update(name for name, value in route.query if value is not None)
        headers.update(route.headers)
    model = botodata.service_model(service)
    for name in model.operation_names:
        uri = model.operation_model(name).http.get("requestUri", "")
        for segment in uri.partition("?")[0].split("/"):
            if "{" in segment and not (segment.startswith("{") and segment.endswith("}")):
                cacheable = False
            elif segment and "{" not in segment:
                literals.add(segment)
    return _Vocabulary(frozenset(literals), cacheable, frozenset(valued), frozenset(headers))


def _rest_operation(service: str, request: HttpRequest, path: str) -> str | None:
    """The operation of a REST request: matched once per shape of request, then remembered."""
    vocabulary = _vocabulary(service)
    if not vocabulary.cacheable:
        return _match_path(service, request.method, path, request.params, frozenset(request.headers))
    segments = tuple(segment if not segment or segment in vocabulary.literals else "*" for segment in path.split("/"))
    params = request.params
    query = tuple(sorted((name, params[name][0] if name in vocabulary.valued_query else None) for name in params))
    headers = tuple(sorted(name for name in vocabulary.headers if name in request.headers))
    return _match_shape(service, request.method, segments, query, headers)


@functools.lru_cache(maxsize=8192)
def _match_shape(
    service: str,
    method: str,
    segments: tuple[str, ...],
    query: tuple[tuple[str, str | None], ...],
    headers: tuple[str, ...],
) -> str | None:
    path = "/".join("x" if segment == "*" else segment for segment in segments)
    params = {name: [value or ""] for name, value in query}
    return _match_path(service, method, path, params, frozenset(headers))


def _match_path(
    service: str, method: str, path: str, params: Mapping[str, list[str]], present: frozenset[str]
) -> str | None:
    best: tuple[tuple[int, int, int], str] | None = None
    for route in _routes(service):
        if route.method != method or not route.pattern.match(path):
            continue
        if any(name not in params or (value is not None and value not in params[name]) for name, value in route.query):
            continue
        if not route.headers <= present:
            continue
        score = (len(route.query), len(route.headers), route.literals)
        if best is None or score > best[0]:
            best = (score, route.operation)
    return best[1] if best else None


def match_operation(service: str, request: HttpRequest, s3_path: str | None = None) -> str | None:
    """The botocore operation name of ``request`` to ``service``, or None when it is not recognised."""
    model = botodata.service_model(service)
    protocol = model.resolved_protocol
    target = request.headers.get("x-amz-target", "")
    if protocol == "json" and target:
        name = target.rpartition(".")[2]
        return name if name in botodata.operation_names(service) else None
    if protocol in ("query", "ec2", "json"):  # json without a target: an older SDK's query call (SQS moved)
        action = request.params.get("Action") or parse_qs(request.body.decode("utf-8", "replace")).get("Action")
        return action[0] if action and action[0] in botodata.operation_names(service) else None
    if protocol == "smithy-rpc-v2-cbor":
        match = _CBOR_PATH.match(request.path)
        return match.group(2) if match and match.group(2) in botodata.operation_names(service) else None
    explicit = request.params.get("x-id")
    if explicit and explicit[0] in botodata.operation_names(service):
        return explicit[0]
    return _rest_operation(service, request, s3_path if s3_path is not None else request.path)


class _ServiceNames:
    """Signing names that are not botocore service names (``monitoring`` is cloudwatch), found once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._map: dict[str, list[str]] | None = None

    def lookup(self, signing_name: str, extended: bool = False) -> list[str]:
        """Services signed with ``signing_name``: the service of that name; with ``extended``, all."""
        known = botodata.known_services()
        found = [signing_name] if signing_name in known else []
        if found and not extended:
            return found
        if self._map is None:
            with self._lock:
                if self._map is None:
                    self._map = self._scan()
        return found + [name for name in self._map.get(signing_name, []) if name not in found]

    @staticmethod
    def _scan() -> dict[str, list[str]]:
        names: dict[str, list[str]] = {}
        loader = Loader()
        for service in sorted(botodata.known_services()):
            metadata = _metadata(loader, service)
            for alias in {metadata.get("signingName"), metadata.get("endpointPrefix")}:
                if alias and alias != service:
                    names.setdefault(alias, []).append(service)
        return names


def _metadata(loader: Loader, service: str) -> dict[str, Any]:
    """A service model's ``metadata``, read from the head of its file where it is found there.

    Loading ~400 whole models to read a few names each left the gateway at ~430 MB for good (the
    allocator keeps what they used); the metadata is the first object of each file.
    """
    try:
        version = loader.determine_latest_version(service, "service-2")
        for root in loader.search_paths:
            base = os.path.join(root, service, version, "service-2.json")
            for path, opener in ((base + ".gz", gzip.open), (base, open)):
                if os.path.exists(path):
                    with opener(path, "rt", encoding="utf-8") as handle:
                        head = handle.read(_METADATA_HEAD)
                    start = head.find('"metadata"')
                    if start >= 0:
                        found, _ = json.JSONDecoder().raw_decode(head, head.index("{", start))
                        return dict(found)
    except (OSError, ValueError, LookupError):
        pass
    model: dict[str, Any] = loader.load_service_model(service, "service-2")  # a loader of its own: not kept
    return dict(model.get("metadata", {}))


_METADATA_HEAD = 16 * 1024
_SERVICE_NAMES = _ServiceNames()


def warm_service_names() -> None:
    """Scan botocore's models for signing names now (a few seconds) rather than on the first request
    that needs them: one whose signing name is not a service's name, or is not recognised by it."""
    _SERVICE_NAMES.lookup("s3", extended=True)


#: AWS's "s3" label (and region) after a virtual-hosted bucket's name: ``bucket.s3.eu-west-1``.
_S3_LABEL = re.compile(r"\.s3(?:[.-][a-z0-9-]+)?$")


def _s3_bucket_and_key(request: HttpRequest) -> tuple[str | None, str | None, str]:
    """Bucket, key and the path-style path of an S3 request (virtual-hosted or path-style)."""
    host = request.host.rsplit(":", 1)[0] if request.host.count(":") == 1 else request.host
    path = request.path or "/"
    labels = host.split(".")
    virtual = None
    if host.endswith(".localhost") and len(labels) > 1:
        virtual = _S3_LABEL.sub("", host[: -len(".localhost")])  # bucket.s3[.region].localhost: the bucket
    elif ".s3." in host or ".s3-" in host:
        virtual = host.split(".s3", 1)[0]
    elif host.endswith(".s3.amazonaws.com"):
        virtual = host[: -len(".s3.amazonaws.com")]
    full = f"/{virtual}{path if path.startswith('/') else '/' + path}" if virtual else path
    parts = full.lstrip("/").split("/", 1)
    bucket = unquote(parts[0]) or None
    key = unquote(parts[1]) if len(parts) > 1 and parts[1] else None
    return bucket, key, full


def _candidates(signing_name: str, first: list[str]) -> Iterator[str]:
    """The services a request may be for: the one named like its signing name, then the others."""
    yield from first
    yield from (name for name in _SERVICE_NAMES.lookup(signing_name, extended=True) if name not in first)


def _attempt(headers: Mapping[str, str]) -> int:
    match = _ATTEMPT.search(headers.get("amz-sdk-request", ""))
    return int(match.group(1)) if match else 1


def describe(request: HttpRequest, bucket_region: Callable[[str], str | None]) -> Call:
    """The AWS call an HTTP request makes. ``bucket_region`` says where an S3 bucket lives."""
    scope = _SCOPE.search(request.headers.get("authorization", ""))
    region = signing_name = None
    if scope:
        region, signing_name = scope.groups()
    elif "X-Amz-Credential" in request.query:
        credential = request.params.get("X-Amz-Credential")
        presigned = _QUERY_SCOPE.match(credential[0]) if credential else None
        if presigned:
            region, signing_name = presigned.groups()
    if signing_name is None:
        signing_name = "s3"  # unsigned and SigV2 requests: only S3 takes them
    bucket = key = None
    operation = None
    service = signing_name
    candidates = _SERVICE_NAMES.lookup(signing_name)
    if candidates:
        service = candidates[0]
    for candidate in _candidates(signing_name, candidates):
        if candidate not in botodata.known_services():
            continue
        s3_path = None
        if candidate == "s3":
            bucket, key, s3_path = _s3_bucket_and_key(request)
        operation = match_operation(candidate, request, s3_path)
        if operation is not None:
            service = candidate
            break
    if service == "s3" and (region is None or scope is None) and bucket is not None:
        region = bucket_region(bucket) or region
    if service != "s3":
        bucket = key = None
    if service in botodata.global_services():
        region = botodata.GLOBAL_REGION
    return Call(
        service=service,
        operation=operation or "Unknown",
        region=region or "us-east-1",
        bucket=bucket,
        key=key,
        attempt=_attempt(request.headers),
        invocation_id=request.headers.get("amz-sdk-invocation-id"),
        global_endpoint=region == botodata.GLOBAL_REGION,
    )


def headers_from_environ(environ: Mapping[str, Any]) -> dict[str, str]:
    """Lower-case header names and values from a WSGI environ; an S3 metadata header whose name holds an
    underscore keeps it (moto's request handler notes those names: WSGI folds ``_`` and ``-`` together)."""
    preserved = environ.get(PRESERVED_HEADER_NAMES_ENVIRON_KEY) or {}
    headers = {
        (preserved.get(key) or key[5:].replace("_", "-")).lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = str(environ["CONTENT_LENGTH"])
    return headers
