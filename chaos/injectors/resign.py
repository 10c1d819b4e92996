"""Re-signing a forwarded request with the gateway's own credentials (SigV4, every service).

The client signed for the gateway, with whatever credentials it has; the upstream knows none of
them. The gateway drops the client's signature and signs again with botocore's own signers
(:class:`~botocore.auth.S3SigV4Auth` for S3, :class:`~botocore.auth.SigV4Auth` for the rest), for
the region and signing name of the client's credential scope. The payload hash is never
recomputed from a streamed body: the client's ``x-amz-content-sha256`` (a hex digest,
``UNSIGNED-PAYLOAD``, or one of the ``STREAMING-*`` forms) is carried over, and the upstream checks
the body against it as it would have checked the client's.

``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` (aws-chunked, each chunk signed, the signatures chained from
the seed signature) is re-signed chunk by chunk with the new key as the body streams
(:func:`resign_chunks`); chunk sizes and signature lengths do not change, so neither does the body's
length. ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` has no chunk signatures: it is carried as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

__all__ = [
    "EMPTY_SHA256",
    "MAX_CHUNK",
    "S3_SIGNING_NAMES",
    "STREAMING_SIGNED",
    "STREAMING_SIGNED_TRAILER",
    "UNSIGNED_PAYLOAD",
    "BrokenChunks",
    "ClientSignature",
    "Resigned",
    "client_signature",
    "resign",
    "resign_chunks",
    "strip_presigned",
]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#: Signing names whose requests follow S3's signing rules (path kept as sent, payload hash header).
S3_SIGNING_NAMES = frozenset({"s3", "s3-object-lambda", "s3-outposts"})
#: The largest aws-chunked chunk re-signed: a chunk is held whole while its signature is computed.
MAX_CHUNK = 16 * 1024 * 1024
_LINE = 4096
_HEADER_SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"^([^/]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request$")
_PRESIGNED = frozenset(
    {
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-signedheaders",
        "x-amz-signature",
        "x-amz-security-token",
        # SigV2 presigned URLs
        "awsaccesskeyid",
        "signature",
        "expires",
    }
)


@dataclass(frozen=True)
class ClientSignature:
    """How the client signed: ``kind`` is ``sigv4`` (header), ``presigned`` (SigV4 query), ``sigv4a``,
    ``sigv2`` (header or query) or ``none``; region and signing name from a SigV4 scope."""

    kind: str
    region: str | None = None
    service: str | None = None


def client_signature(authorization: str, query: str) -> ClientSignature:
    """Read the client's signature kind and credential scope from its Authorization header or query."""
    if authorization.startswith("AWS4-HMAC-SHA256"):
        found = _HEADER_SCOPE.search(authorization)
        return ClientSignature("sigv4", found.group(3), found.group(4)) if found else ClientSignature("sigv4")
    if authorization.startswith("AWS4-ECDSA-P256-SHA256"):
        return ClientSignature("sigv4a")
    if authorization.startswith("AWS "):
        return ClientSignature("sigv2")
    if "X-Amz-Credential=" in query:
        for part in query.split("&"):
            name, _, value = part.partition("=")
            if name == "X-Amz-Credential":
                found = _QUERY_SCOPE.match(value.replace("%2F", "/").replace("%2f", "/"))
                if found:
                    return ClientSignature("presigned", found.group(3), found.group(4))
        return ClientSignature("presigned")
    if "Signature=" in query and "AWSAccessKeyId=" in query:
        return ClientSignature("sigv2")
    return ClientSignature("none")


def strip_presigned(query: str) -> str:
    """The raw query without the parameters of a presigned URL's signature (their encoding kept)."""
    kept = [part for part in query.split("&") if part and part.partition("=")[0].lower() not in _PRESIGNED]
    return "&".join(kept)


class _CarriedPayload:
    """A signer whose payload hash is the one given in ``request.context``: the body is never read."""

    def payload(self, request: AWSRequest) -> str:
        return str(request.context["chaos_payload"])


class _S3Signer(_CarriedPayload, S3SigV4Auth):
    pass


class _Signer(_CarriedPayload, SigV4Auth):
    pass


@dataclass(frozen=True)
class Resigned:
    """A request's new headers, and what its aws-chunked body needs to be re-signed too."""

    headers: dict[str, str]
    timestamp: str
    scope: str
    """``date/region/service/aws4_request``."""
    signature: str
    """The seed signature: the first chunk's signature chains from it."""
    key: bytes
    """The SigV4 signing key of the date, region and service."""


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    return _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), date), region), service), "aws4_request")


def resign(
    method: str,
    url: str,
    headers: dict[str, str],
    *,
    region: str,
    service: str,
    payload: str,
    credentials: ReadOnlyCredentials,
) -> Resigned:
    """Sign ``method url`` with ``headers`` (every one is signed; none of the client's auth headers
    may be among them) for ``region`` and signing name ``service``, with ``payload`` as the payload hash."""
    request = AWSRequest(method=method, url=url, headers=headers, data=b"")
    request.context["chaos_payload"] = payload
    signer_class = _S3Signer if service in S3_SIGNING_NAMES else _Signer
    signer = signer_class(credentials, service, region)
    signer.add_auth(request)
    timestamp = str(request.context["timestamp"])
    authorization = str(request.headers["Authorization"])
    signature = authorization.rpartition("Signature=")[2]
    date = timestamp[:8]
    return Resigned(
        headers={name: str(value) for name, value in request.headers.items()},
        timestamp=timestamp,
        scope=f"{date}/{region}/{service}/aws4_request",
        signature=signature,
        key=_signing_key(str(credentials.secret_key), date, region, service),
    )


class BrokenChunks(ValueError):
    """An aws-chunked body that is not: a bad chunk header, a short chunk, a chunk too large."""


class _Reader:
    """Lines and exact lengths out of a stream read in pieces."""

    def __init__(self, read: Callable[[int], bytes], piece: int = 64 * 1024) -> None:
        self._read = read
        self._piece = piece
        self._buffer = bytearray()

    def _fill(self) -> bool:
        data = self._read(self._piece)
        if not data:
            return False
        self._buffer += data
        return True

    def line(self) -> bytes:
        """One line without its CRLF."""
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 2]
                return line
            if len(self._buffer) > _LINE:
                raise BrokenChunks(f"a chunk header or trailer line longer than {_LINE} bytes")
            if not self._fill():
                raise BrokenChunks("the body ended inside a chunk header")

    def exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._fill():
                raise BrokenChunks(f"the body ended inside a chunk of {size} bytes")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def rest(self) -> Iterator[bytes]:
        if self._buffer:
            yield bytes(self._buffer)
            self._buffer.clear()
        while data := self._read(self._piece):
            yield data


def _sign(resigned: Resigned, kind: str, previous: str, *digests: str) -> str:
    text = "\n".join((kind, resigned.timestamp, resigned.scope, previous, *digests))
    return hmac.new(resigned.key, text.encode(), hashlib.sha256).hexdigest()


def resign_chunks(read: Callable[[int], bytes], resigned: Resigned, *, trailer: bool = False) -> Iterator[bytes]:
    """The aws-chunked body read with ``read``, each chunk's signature replaced by one chained from
    ``resigned.signature`` with ``resigned.key`` (and the trailer's, for ``...-PAYLOAD-TRAILER``).

    Raises :class:`BrokenChunks` while iterating when the body is not aws-chunked.
    """
    reader = _Reader(read)
    previous = resigned.signature
    while True:
        header = reader.line()
        size_text, _, extension = header.partition(b";")
        name, _, _ = extension.partition(b"=")
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BrokenChunks(f"chunk header {header[:80]!r} has no hex size") from None
        if name.strip() != b"chunk-signature":
            raise BrokenChunks(f"chunk header {header[:80]!r} has no chunk-signature")
        if size > MAX_CHUNK:
            raise BrokenChunks(f"a chunk of {size} bytes; at most {MAX_CHUNK} are re-signed")
        data = reader.exactly(size)
        previous = _sign(resigned, "AWS4-HMAC-SHA256-PAYLOAD", previous, EMPTY_SHA256, _sha(data))
        yield size_text + b";chunk-signature=" + previous.encode() + b"\r\n"
        if size == 0:
            break
        yield data
        if reader.exactly(2) != b"\r\n":
            raise BrokenChunks("a chunk's data is not followed by CRLF")
        yield b"\r\n"
    if trailer:
        yield from _resign_trailer(reader, resigned, previous)
    else:
        yield from reader.rest()  # the final CRLF


def _resign_trailer(reader: _Reader, resigned: Resigned, previous: str) -> Iterator[bytes]:
    lines = []
    while True:
        line = reader.line()
        if line.lower().startswith(b"x-amz-trailer-signature:"):
            break
        if not line:
            raise BrokenChunks("the trailer has no x-amz-trailer-signature")
        lines.append(line)
    canonical = b"".join(line + b"\n" for line in lines)
    signature = _sign(resigned, "AWS4-HMAC-SHA256-TRAILER", previous, _sha(canonical))
    yield b"".join(line + b"\r\n" for line in lines)
    yield b"x-amz-trailer-signature:" + signature.encode() + b"\r\n"
    yield from reader.rest()  # the final CRLF


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
