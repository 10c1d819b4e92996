"""Probes: single HTTP requests to the application, by a client no injector can touch."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

from chaos.model import HttpCheck

__all__ = ["ProbeResult", "http_get", "probe"]


@dataclass(frozen=True)
class ProbeResult:
    """What one probe saw."""

    passed: bool
    status: int | None
    body: str
    reason: str


def http_get(url: str, method: str = "GET", timeout: float = 5.0, body: bytes | None = None) -> tuple[int | None, str]:
    """(status, body text) of one request; (None, error) when no answer came in ``timeout``."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        connection.request(method, target, body=body)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except TimeoutError:
        return None, f"no answer within {timeout:g}s"
    except (OSError, http.client.HTTPException) as exc:
        return None, f"no answer ({type(exc).__name__}: {exc})"
    finally:
        connection.close()


def probe(base_url: str, check: HttpCheck) -> ProbeResult:
    """Run one HTTP check against the application."""
    status, body = http_get(base_url.rstrip("/") + check.path, check.method, check.timeout)
    if status is None:
        return ProbeResult(False, None, body, body)
    if status not in check.status:
        return ProbeResult(False, status, body, f"status {status}, expected {', '.join(map(str, check.status))}")
    if check.contains is not None and check.contains not in body:
        return ProbeResult(False, status, body, f"the body does not contain {check.contains!r}")
    return ProbeResult(True, status, body, f"status {status}")
