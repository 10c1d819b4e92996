"""What the gateway passes the calls no fault stopped to: the embedded moto (default), or an upstream.

The fault middleware decides every call before its backend sees it, so a failed call never
reaches either. A backend other than moto is a WSGI application with a few extra duties
(:class:`Backend`); :class:`~chaos.injectors.upstream.Upstream` is the one that forwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

__all__ = ["CALL_KEY", "Backend"]

#: The WSGI environ key under which the middleware leaves the :class:`~chaos.engine.call.Call` it
#: recognised, so a backend does not recognise the request a second time.
CALL_KEY = "chaos.call"


class Backend(Protocol):
    """A gateway backend: a WSGI application plus what the gateway's control API and start-up need."""

    label: str
    """What the banner and ``/_chaos/health`` call it (the upstream's URL, or ``aws``)."""
    lends_credentials: bool
    """Whether it signs with credentials of its own (then the gateway serves loopback only)."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve one request that no fault stopped."""

    def reset(self) -> None:
        """``POST /_chaos/reset``: forget what the backend holds (an upstream holds nothing of ours)."""

    def bucket_region(self, bucket: str) -> str | None:
        """The region an S3 bucket lives in, if the backend knows (unsigned requests take it)."""

    def health(self) -> dict[str, Any]:
        """Fields added to ``GET /_chaos/health``."""

    def close(self) -> None:
        """Release connections; the gateway has stopped."""
