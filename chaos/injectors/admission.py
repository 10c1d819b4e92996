"""Which requests the gateway serves at all, decided from the request line and headers alone.

Nothing here reads a body: a request is admitted or refused before a byte of it is read, so a
refused request costs the gateway no memory whatever size it declares.

* Every header line must be well formed (400 naming ``headers``), ``Host`` given once (400), and
  ``Transfer-Encoding``, when given, exactly ``chunked`` (400 naming it): a request that a proxy in
  front could read otherwise is not served.
* ``Content-Length`` must be one plain decimal number (400 naming the header otherwise): ``abc``,
  ``-5``, ``5, 7`` (or two differing headers) and lengths no request has are refused.
* The two administrative APIs, the gateway's ``/_chaos/`` and moto's own ``/moto-api/`` (reset,
  state dump, recorder...), need ``Authorization: Bearer <token>`` when the gateway has a token (401).
* Bound to a loopback address, the gateway is only for this machine: every request must name it by
  a loopback name in ``Host`` (``localhost``, ``*.localhost`` for virtual-hosted S3 buckets, a
  loopback IP, the bound address; any port), so a web page cannot reach it through DNS rebinding;
  and an ``Origin`` that is not on this machine is refused, so a web page cannot use moto's
  permissive CORS to read or write the buckets (403 naming the header).
* Without a token, the administrative APIs refuse every ``Origin`` but the gateway's own, and
  control calls that change state need ``Content-Type: application/json``: a cross-site form or
  ``fetch`` can send neither without a CORS preflight, which the gateway never grants (403, 415).

With a token, an administrative call carrying it is admitted whatever its Host or Origin: the
token proves the caller is not a web page that merely knows the address.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from chaos.injectors.http11 import only_chunked

__all__ = [
    "ADMIN_PREFIXES",
    "CONTROL_PREFIX",
    "MALFORMED_HEADERS",
    "MAX_CONTENT_LENGTH",
    "Admission",
    "Refused",
    "content_length",
    "framing",
    "is_loopback",
    "is_loopback_name",
]

CONTROL_PREFIX = "/_chaos"
ADMIN_PREFIXES = (CONTROL_PREFIX, "/moto-api")
#: Set in the environ by the gateway's request handler when a header line of the request was malformed.
MALFORMED_HEADERS = "chaos.malformed_headers"
#: No request is longer than S3's largest object (5 TiB); a larger Content-Length is a lie or an attack.
MAX_CONTENT_LENGTH = 5 * 1024**4
_DIGITS = re.compile(r"[0-9]{1,20}")
_PORT = re.compile(r"[0-9]{1,5}")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Refused(Exception):
    """A request the gateway will not serve: the HTTP status and the header (or part) to blame."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message


@functools.lru_cache(maxsize=256)
def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (the control API needs no token there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=256)
def is_loopback_name(name: str) -> bool:
    """Whether a host name can only mean this machine: localhost, ``*.localhost``, a loopback IP."""
    name = name.lower().removesuffix(".")
    return name == "localhost" or name.endswith(".localhost") or is_loopback(name)


def _shown(value: str, limit: int = 80) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def content_length(environ: Mapping[str, Any]) -> int | None:
    """The request's Content-Length, None when it has none; :class:`Refused` (400) when it is not a length."""
    raw = environ.get("CONTENT_LENGTH")
    if raw is None or raw == "":
        return None
    text = str(raw).strip(" \t")  # optional whitespace is spaces and tabs: no other character a proxy might keep
    if not _DIGITS.fullmatch(text):
        raise Refused(400, "Content-Length", f"{_shown(text)} is not one length in bytes (digits only, given once)")
    length = int(text)
    if length > MAX_CONTENT_LENGTH:
        raise Refused(400, "Content-Length", f"{length} bytes is larger than any request can be")
    return length


def framing(environ: Mapping[str, Any]) -> None:
    """Refuse a request that a proxy in front could read otherwise: a malformed header line (400; the
    headers after it were lost to the parser), two Host headers (400), or a transfer coding other than
    plain ``chunked`` (400 too)."""
    if environ.get(MALFORMED_HEADERS):
        raise Refused(
            400,
            "headers",
            "a header line is malformed (a space before its colon, no colon, a name that is not a token, a NUL or "
            "a bare CR, or a folded first line)",
        )
    host = environ.get("HTTP_HOST")
    if host is not None and "," in str(host):  # two Host lines, merged (RFC 9112 3.2: a 400)
        raise Refused(400, "Host", f"{_shown(str(host))}: a request names one host, in one Host header")
    coding = environ.get("HTTP_TRANSFER_ENCODING")
    if coding is not None and not only_chunked(str(coding)):
        raise Refused(400, "Transfer-Encoding", f"{_shown(str(coding))}: only 'chunked' is understood")


def _split_host(value: str) -> tuple[str, str | None] | None:
    """(name, port) of a Host header value, None when it is not one."""
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else None
    else:
        name, colon, port_text = value.rpartition(":")
        if not colon:
            name, port = value, None
        else:
            port = port_text
    if port is not None and not _PORT.fullmatch(port):
        return None
    return name, port


class Admission:
    """The checks every request passes before the gateway reads its body (module docstring)."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or None

    def authorized(self, authorization: str | None) -> bool:
        """Whether an administrative call may proceed: always without a token, else with the right one."""
        if self.token is None:
            return True
        expected = f"Bearer {self.token}".encode()
        return hmac.compare_digest((authorization or "").encode("utf-8", "replace"), expected)

    def admit(self, environ: Mapping[str, Any]) -> int | None:
        """Check one request; returns its Content-Length. Raises :class:`Refused`."""
        framing(environ)
        length = content_length(environ)
        path = str(environ.get("PATH_INFO", ""))
        admin = path.startswith(ADMIN_PREFIXES)
        if admin and self.token is not None:
            if not self.authorized(environ.get("HTTP_AUTHORIZATION")):
                raise Refused(401, "Authorization", "missing or wrong bearer token: send Authorization: Bearer <token>")
            return length
        server = str(environ.get("SERVER_NAME", ""))
        loopback = is_loopback(server)
        if loopback:
            self._check_host(environ, server)
        if loopback or admin:
            self._check_origin(environ, server, exact=admin)
        if admin:
            method = str(environ.get("REQUEST_METHOD", "GET")).upper()
            if path.startswith(CONTROL_PREFIX) and method not in _SAFE_METHODS:
                media = str(environ.get("CONTENT_TYPE", "")).partition(";")[0].strip().lower()
                if media != "application/json":
                    raise Refused(
                        415,
                        "Content-Type",
                        f"{method} {CONTROL_PREFIX}/... changes the gateway and needs Content-Type: application/json "
                        f"(got {_shown(media) if media else 'none'}); a web page cannot send that cross-site",
                    )
        return length

    @staticmethod
    def _own_name(name: str, server: str) -> bool:
        return is_loopback_name(name) or name.lower() == server.lower()

    def _check_host(self, environ: Mapping[str, Any], server: str) -> None:
        value = environ.get("HTTP_HOST")
        if value is None:
            return  # HTTP/1.0 without Host: not a browser, so not DNS rebinding
        parsed = _split_host(str(value).strip())
        if parsed is None or not self._own_name(parsed[0], server):
            raise Refused(
                403,
                "Host",
                f"{_shown(str(value))} is not this gateway's address: bound to loopback, it answers only to "
                "localhost, *.localhost, 127.0.0.1 or [::1] (a page that rebinds its own name to 127.0.0.1 may not)",
            )

    def _check_origin(self, environ: Mapping[str, Any], server: str, *, exact: bool) -> None:
        value = environ.get("HTTP_ORIGIN")
        if value is None:
            return
        text = str(value).strip()
        try:
            origin = urlsplit(text)
            port = origin.port or (443 if origin.scheme == "https" else 80)
        except ValueError:
            origin, port = urlsplit(""), None
        name = origin.hostname or ""
        if exact:
            own = origin.scheme == "http" and self._own_name(name, server) and str(port) == environ.get("SERVER_PORT")
            why = "only the gateway's own origin may call its control API without a token"
        else:
            own = origin.scheme in ("http", "https") and self._own_name(name, server)
            why = "bound to loopback, the gateway serves web pages of this machine only"
        if not own:
            raise Refused(403, "Origin", f"{_shown(text)} is not this gateway's own address: {why}")
