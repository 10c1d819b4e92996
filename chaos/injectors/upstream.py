"""The gateway in front of a real endpoint: ``outage serve --upstream URL|aws``.

Every call no fault stopped is forwarded, streamed both ways, to one URL (moto_server, LocalStack,
MinIO, any S3- or AWS-compatible endpoint) or, for ``aws``, to the AWS endpoint of the call's
service and region (:mod:`chaos.injectors.endpoints`). The client signed for the gateway with any
credentials; its signature is replaced with the gateway's own (:mod:`chaos.injectors.resign`),
unless ``resign`` is off. Hop-by-hop headers stay behind; ``Host`` becomes the upstream's.

Bodies are streamed: S3 carries its payload hash in ``x-amz-content-sha256`` and the body passes
through 64 KiB at a time. Other services sign the hash of their body without sending it, so a
re-signed body is hashed on its way into a spool file (in memory up to 1 MiB, on disk beyond).
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote, urlsplit

import boto3
import botocore.session
import urllib3
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import BotoCoreError, ClientError

from chaos.engine.call import Call
from chaos.engine.decision import ErrorSpec
from chaos.engine.render import render_error
from chaos.errors import ConfigError
from chaos.gate import Refused, admit_account
from chaos.guardrails import Limits, Violation, limits_for
from chaos.injectors.backend import CALL_KEY
from chaos.injectors.connection import CHUNK, WsgiApp
from chaos.injectors.endpoints import AwsEndpoints, NoRoute
from chaos.injectors.forwarded import HOP_BY_HOP, UpstreamAnswer, passed_headers, unframed
from chaos.injectors.http11 import connection_options
from chaos.injectors.http_calls import HttpRequest, describe, headers_from_environ
from chaos.injectors.keepalive import answer_then_close
from chaos.injectors.resign import (
    S3_SIGNING_NAMES,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    UNSIGNED_PAYLOAD,
    BrokenChunks,
    ClientSignature,
    client_signature,
    resign,
    resign_chunks,
    strip_presigned,
)

__all__ = ["AWS_DOMAINS", "HOP_BY_HOP", "SPOOL_IN_MEMORY", "Upstream", "check_account", "connect"]

#: Set by the gateway for the upstream, not carried from the client.
_REPLACED = frozenset({"host", "content-length", "expect"})
#: The client's signature; dropped when the gateway signs again.
_CLIENT_AUTH = frozenset({"authorization", "x-amz-date", "date", "x-amz-security-token", "x-amz-content-sha256"})
#: A re-signed body of a service without a payload hash header is spooled: in memory up to this.
SPOOL_IN_MEMORY = 1024 * 1024
#: Hosts under these are AWS: an upstream URL there is held to the account allow-list like ``aws``.
AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov")
_HEALTH_TTL = 2.0
_KNOWN_BUCKETS = 10_000
_STATUS_PHRASES = {501: "Not Implemented", 502: "Bad Gateway", 400: "Bad Request"}


def _virtual_bucket(host: str) -> bool:
    """Whether the Host names an S3 bucket (virtual-hosted style), as :mod:`chaos.injectors.http_calls` reads it."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return (name.endswith(".localhost") and name != ".localhost") or ".s3." in name or ".s3-" in name


def _raw_path(environ: dict[str, Any]) -> tuple[str, str]:
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", ""))
    path, _, query = raw.partition("?")
    return path or "/", query or str(environ.get("QUERY_STRING", ""))


@dataclass
class _Outgoing:
    """What is sent upstream: headers, the body (streamed), its framing, and a spool file to close after."""

    headers: dict[str, str]
    body: Iterable[bytes] | None
    chunked: bool
    spool: IO[bytes] | None


class Upstream:
    """A gateway backend that forwards to an upstream (module docstring). Made by :func:`connect`.

    ``url``: the upstream's base URL, or None to resolve each call's AWS endpoint with ``endpoints``.
    ``credentials``: the gateway's credentials (called per request: refreshed ones stay fresh), or
    None to forward untouched. ``default_region``: for requests that carry none (unsigned, SigV2).
    ``health_url``: what ``/_chaos/health`` asks (default: ``url``).
    """

    def __init__(
        self,
        url: str | None,
        *,
        credentials: Callable[[], ReadOnlyCredentials] | None,
        endpoints: AwsEndpoints | None = None,
        default_region: str = "us-east-1",
        health_url: str | None = None,
        pool: urllib3.PoolManager | None = None,
    ) -> None:
        if url is None and endpoints is None:
            raise ValueError("an upstream needs a URL or AWS endpoints")
        self.url = url.rstrip("/") if url else None
        self.label = self.url or "aws"
        self.endpoints = endpoints
        self.credentials = credentials
        self.lends_credentials = credentials is not None
        self.default_region = default_region
        self.health_url = health_url or self.url
        self._pool = pool or urllib3.PoolManager(
            num_pools=64, maxsize=64, retries=False, timeout=urllib3.Timeout(connect=10.0, read=300.0)
        )
        self._buckets: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self._health: tuple[float, dict[str, Any]] | None = None

    # -- the Backend duties -------------------------------------------------------------------

    def reset(self) -> None:
        """Nothing to forget: the upstream's data is not the gateway's to wipe."""

    def bucket_region(self, bucket: str) -> str | None:
        """The region ``bucket`` is in, as learnt from earlier answers (:meth:`_remember`), if any."""
        return self._buckets.get(bucket)

    def health(self) -> dict[str, Any]:
        """``{"backend": "upstream", "upstream": {"url", "answers", "status", "resign"}}``, asked at most every 2 s."""
        now = time.monotonic()
        cached = self._health
        if cached is not None and now - cached[0] < _HEALTH_TTL:
            return cached[1]
        report: dict[str, Any] = {"url": self.label, "resign": self.lends_credentials}
        if self.health_url is not None:
            report["checked"] = self.health_url
            try:
                answer = self._pool.request("GET", self.health_url, timeout=2.0, retries=False, redirect=False)
                report.update(answers=True, status=answer.status)
            except urllib3.exceptions.HTTPError as exc:
                report.update(answers=False, error=str(exc.__context__ or exc))
        result = {"backend": "upstream", "upstream": report}
        self._health = (now, result)
        return result

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.clear()

    # -- forwarding -----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Forward one request and stream the upstream's answer back unchanged."""
        headers = headers_from_environ(environ)
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path, query = _raw_path(environ)
        call = environ.get(CALL_KEY)
        if not isinstance(call, Call):
            call = describe(HttpRequest(method, headers.get("host", ""), path, query, headers), self.bucket_region)
        signature = client_signature(headers.get("authorization", ""), query)
        resigning = self.credentials is not None and signature.kind != "none"
        if resigning and signature.kind == "sigv4a":
            return self._fail(environ, start_response, call, 501, "NotImplemented", "SigV4a cannot be re-signed")
        if resigning and signature.kind in ("presigned", "sigv2"):
            query = strip_presigned(query)  # forwarded as a header-signed request
        region = signature.region or self._region(call)
        try:
            url = self._locate(call, region, headers.get("host", ""), path, query)
        except NoRoute as exc:
            return self._fail(environ, start_response, call, 502, "BadGateway", str(exc))
        netloc = urlsplit(url).netloc
        out = self._outgoing(environ, headers, url, signature if resigning else None, region, call.service)
        try:
            response = self._pool.urlopen(
                method,
                url,
                body=out.body,
                headers=out.headers,
                chunked=out.chunked,
                preload_content=False,
                decode_content=False,
                redirect=False,
                retries=False,
            )
        except BrokenChunks as exc:
            _close(out.spool)
            return self._fail(environ, start_response, call, 400, "IncompleteBody", f"aws-chunked body: {exc}")
        except urllib3.exceptions.HTTPError as exc:
            _close(out.spool)
            reason = exc.__context__ or exc
            message = f"the upstream {self.label} ({netloc}) did not answer: {reason}"
            return self._fail(environ, start_response, call, 502, "BadGateway", message)
        self._remember(call, response, signature.region)
        problem = unframed(response)
        if problem is not None:
            response.close()  # and not back to the pool: what it still holds is no answer to the next request
            response.release_conn()
            _close(out.spool)
            return self._fail(environ, start_response, call, 502, "BadGateway", f"the upstream {self.label} {problem}")
        start_response(f"{response.status} {response.reason or ''}".rstrip(), passed_headers(response))
        spool = out.spool
        reusable = method != "HEAD" and response.status not in (204, 304)  # bytes after these would be the next's

        def failed(problem: str) -> WsgiApp:  # the 502 when the answer ends before its first byte reached the client
            message = f"the upstream {self.label} {problem}"
            return lambda environ, start_response: self._fail(environ, start_response, call, 502, "BadGateway", message)

        on_close = (lambda: _close(spool)) if spool is not None else None
        return UpstreamAnswer(response, on_close, reusable=reusable, failed=failed)

    def _outgoing(
        self,
        environ: dict[str, Any],
        headers: dict[str, str],
        url: str,
        signature: ClientSignature | None,
        region: str,
        service: str,
    ) -> _Outgoing:
        """The headers and body sent upstream: end-to-end headers, Host the upstream's, signed again when
        ``signature`` (the client's) is given."""
        listed = connection_options([headers.get("connection", "")])
        forwarded = {
            name: value
            for name, value in headers.items()
            if name not in HOP_BY_HOP and name not in _REPLACED and name not in listed
        }
        forwarded["host"] = urlsplit(url).netloc
        stream: IO[bytes] = environ["wsgi.input"]
        length = int(environ["CONTENT_LENGTH"]) if environ.get("CONTENT_LENGTH") else None
        chunked = length is None and bool(environ.get("wsgi.input_terminated"))
        body: Iterable[bytes] | None = _read(stream) if (length or chunked) else None
        spool: IO[bytes] | None = None
        if signature is not None and self.credentials is not None:
            for name in _CLIENT_AUTH:
                forwarded.pop(name, None)
            service = signature.service or service
            payload = headers.get("x-amz-content-sha256")
            if payload is None and service in S3_SIGNING_NAMES:
                payload = UNSIGNED_PAYLOAD
            elif payload is None:
                spool, payload, length = _spool(stream)
                body, chunked = _read(spool), False
            if length is not None:
                forwarded["content-length"] = str(length)
            method = str(environ.get("REQUEST_METHOD", "GET"))
            signed = resign(
                method, url, forwarded, region=region, service=service, payload=payload, credentials=self.credentials()
            )
            forwarded = signed.headers
            if payload in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
                body = resign_chunks(stream.read, signed, trailer=payload == STREAMING_SIGNED_TRAILER)
        elif length is not None:
            forwarded["content-length"] = str(length)
        return _Outgoing(forwarded, body, chunked, spool)

    def _region(self, call: Call) -> str:
        """The region of a request without a SigV4 scope (unsigned, SigV2): its bucket's if known."""
        if call.service == "s3" and call.bucket is not None and self.bucket_region(call.bucket):
            return call.region
        if call.service == "s3" or call.region == "aws-global":
            return self.default_region
        return call.region

    def _locate(self, call: Call, region: str, host: str, path: str, query: str) -> str:
        """The upstream URL of a request: S3 virtual-hosted requests become path-style for a fixed URL."""
        virtual = call.service == "s3" and call.bucket is not None and _virtual_bucket(host)
        if self.url is not None:
            target = self.url + (f"/{quote(call.bucket or '', safe='')}" if virtual else "") + path
        else:
            assert self.endpoints is not None
            remainder = path
            if call.service == "s3" and call.bucket is not None and not virtual:
                _, slash, key = path.lstrip("/").partition("/")  # the endpoint names the bucket itself
                remainder = "/" + key if slash else ""
            endpoint = self.endpoints.resolve(
                call.service,
                region,
                operation=call.operation,
                bucket=call.bucket if call.service == "s3" else None,
                path_style=not virtual,
            ).rstrip("/")
            if remainder == "/" and urlsplit(endpoint).path:
                remainder = ""
            target = endpoint + remainder if (remainder or urlsplit(endpoint).path) else endpoint + "/"
        return f"{target}?{query}" if query else target

    def _remember(self, call: Call, response: urllib3.BaseHTTPResponse, signed_for: str | None) -> None:
        """Learn a bucket's region: S3 names it in ``x-amz-bucket-region``, and a SigV4 call to the bucket
        that succeeded was signed for it (S3 refuses a signature for another region)."""
        region = response.headers.get("x-amz-bucket-region") or (signed_for if 200 <= response.status < 300 else None)
        if call.bucket is None or call.service != "s3" or not region:
            return
        with self._lock:
            self._buckets[call.bucket] = region
            self._buckets.move_to_end(call.bucket)
            while len(self._buckets) > _KNOWN_BUCKETS:
                self._buckets.popitem(last=False)

    @staticmethod
    def _fail(
        environ: dict[str, Any], start_response: Callable[..., Any], call: Call, status: int, code: str, message: str
    ) -> Iterable[bytes]:
        """Answer in the service's error shape, then close the connection (its body may be unread)."""
        spec = ErrorSpec(status, code, message, sender_fault=status < 500)
        rendered = render_error(spec, call.service, call.operation if call.operation != "Unknown" else None)
        headers = [*rendered.headers.items(), ("Content-Length", str(len(rendered.body)))]
        start_response(f"{status} {_STATUS_PHRASES.get(status, 'Error')}", headers)
        return answer_then_close(environ, b"" if environ.get("REQUEST_METHOD") == "HEAD" else rendered.body)


def _read(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _spool(stream: IO[bytes]) -> tuple[IO[bytes], str, int]:
    """The body copied to a spool file (memory, then disk), its sha256 and length."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed with the answer
    digest = hashlib.sha256()
    size = 0
    for chunk in _read(stream):
        digest.update(chunk)
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    return spool, digest.hexdigest(), size


def _close(spool: IO[bytes] | None) -> None:
    if spool is not None:
        spool.close()


def check_account(session: boto3.Session, limits: Limits) -> str:
    """The account of ``session``'s credentials (STS GetCallerIdentity), refused unless ``limits`` allow it."""
    try:
        account = str(session.client("sts").get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as exc:
        why = f"cannot tell which account the gateway's credentials belong to (STS GetCallerIdentity: {exc})"
        raise Refused([Violation("accounts", why)], limits.sources) from None
    admit_account(account, limits, purpose="--upstream aws")
    return account


def connect(
    upstream: str,
    *,
    profile: str | None = None,
    resign: bool = True,
    fips: bool = False,
    dualstack: bool = False,
    limits: Limits | None = None,
    session: botocore.session.Session | None = None,
) -> Upstream:
    """The :class:`Upstream` for ``--upstream URL|aws``, with the gateway's credentials from the standard
    chain (``profile``, environment, instance role) when it re-signs.

    Raises :class:`~chaos.errors.ConfigError` for a bad URL, a missing profile or no credentials, and
    :class:`~chaos.gate.Refused` when the upstream is AWS and ``[tool.chaos] accounts`` (``limits``)
    does not name the credentials' account.
    """
    aws = upstream == "aws"
    parts = urlsplit(upstream)
    if not aws and (parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment):
        raise ConfigError(f"--upstream {upstream!r}: give aws, or an http:// or https:// URL without query")
    if (fips or dualstack) and not aws:
        raise ConfigError("--upstream-fips and --upstream-dualstack choose AWS endpoints: only with --upstream aws")
    on_aws = aws or (parts.hostname or "").lower().endswith(AWS_DOMAINS)
    if on_aws and not resign:
        raise ConfigError("--no-resign cannot reach AWS: AWS checks every signature, the client's was for the gateway")
    try:
        core = session or botocore.session.Session(profile=profile)
        clients = boto3.Session(botocore_session=core)
        credentials = clients.get_credentials() if resign else None
        region = clients.region_name or "us-east-1"
    except BotoCoreError as exc:
        raise ConfigError(f"--upstream-profile {profile}: {exc}") from None
    if resign and credentials is None:
        raise ConfigError(
            "no AWS credentials to re-sign with: give --upstream-profile, set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, run where an instance role is, or forward untouched with --no-resign"
        )
    if on_aws:
        check_account(clients, limits if limits is not None else limits_for(None))
    return Upstream(
        None if aws else upstream,
        credentials=credentials.get_frozen_credentials if credentials is not None else None,
        endpoints=AwsEndpoints(fips=fips, dualstack=dualstack, session=core) if aws else None,
        default_region=region,
        health_url=str(clients.client("sts", region_name=region).meta.endpoint_url) if aws else None,
    )
