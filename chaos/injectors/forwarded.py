"""An upstream's answer, checked and streamed to the gateway's client (see :mod:`chaos.injectors.upstream`)."""

from __future__ import annotations

import email.errors
from collections.abc import Callable, Iterator

import urllib3

from chaos.injectors.connection import CHUNK, Cut, WsgiApp
from chaos.injectors.http11 import connection_options, only_chunked

__all__ = ["HOP_BY_HOP", "UpstreamAnswer", "passed_headers", "unframed"]

#: Headers of one connection, never forwarded (RFC 9110 7.6.1), plus those a Connection header names.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer"}
    | {"transfer-encoding", "upgrade"}
)


class UpstreamAnswer:
    """An upstream answer streamed to the client. The connection goes back to the pool only when the
    answer was read to its end and nothing may follow it (not after a HEAD, a 204 or a 304, whose
    stray bytes would be read as the next request's answer); otherwise it is closed."""

    def __init__(
        self,
        response: urllib3.BaseHTTPResponse,
        on_close: Callable[[], None] | None = None,
        reusable: bool = True,
        failed: Callable[[str], WsgiApp] | None = None,
    ) -> None:
        self._response = response
        self._on_close = on_close
        self._reusable = reusable
        self._failed = failed
        self._complete = False

    def __iter__(self) -> Iterator[bytes]:
        if not self._reusable:
            # No body follows a HEAD, 204 or 304: close before urllib3 would hand the connection to the
            # next request, with whatever bytes the upstream still sends on it.
            self._response.close()
            return
        sent = False
        try:
            for chunk in self._response.stream(CHUNK, decode_content=False):
                sent = True
                yield chunk
        except (urllib3.exceptions.HTTPError, OSError) as error:
            problem = f"answer ended early ({type(error).__name__}: {error})"
            answer = self._failed(problem) if self._failed is not None and not sent else None
            raise Cut(f"the upstream's {problem}", answer) from error
        self._complete = True

    def close(self) -> None:
        if not self._complete:
            self._response.close()
        self._response.release_conn()
        if self._on_close is not None:
            self._on_close()


#: What http.client's parser notes of a head line that is not one (the rest of the head is lost to it).
_BROKEN_HEAD = (email.errors.MissingHeaderBodySeparatorDefect, email.errors.FirstHeaderLineIsContinuationDefect)


def unframed(response: urllib3.BaseHTTPResponse) -> str | None:
    """Why an upstream answer cannot be passed on as the answer to the request, or None."""
    if response.status < 200:
        return f"answered {response.status} as its final answer"
    original = getattr(response, "_original_response", None)  # http.client's answer, its head as parsed
    defects = getattr(getattr(original, "msg", None), "defects", ())
    if any(isinstance(defect, _BROKEN_HEAD) for defect in defects):
        return "sent a head with a malformed line, or ended inside one"
    codings = ", ".join(response.headers.getlist("transfer-encoding"))
    if codings and not only_chunked(codings):  # its body would reach the client still coded
        return f"answered with Transfer-Encoding {codings!r} (only chunked is passed on)"
    lengths = {value.strip(" \t") for value in response.headers.getlist("content-length")}
    framed = len(lengths) == 1 and all(value.isascii() and value.isdigit() for value in lengths)
    if lengths and not framed and "transfer-encoding" not in response.headers:
        return f"answered with Content-Length {', '.join(sorted(lengths))!r}"
    return None


def passed_headers(response: urllib3.BaseHTTPResponse) -> list[tuple[str, str]]:
    """The answer's end-to-end headers: not the hop-by-hop ones, nor those its ``Connection`` names, nor a
    ``Content-Length`` that a ``Transfer-Encoding`` overrides (RFC 9112 6.3: the body is framed anew)."""
    listed = connection_options(response.headers.getlist("connection"))
    dropped = HOP_BY_HOP | listed | ({"content-length"} if "transfer-encoding" in response.headers else set())
    return [(name, value) for name, value in response.headers.items() if name.lower() not in dropped]
