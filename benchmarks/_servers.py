"""Servers the gateway benchmarks compare against: a canned-503 WSGI app, and microburst when it can be had.

``python benchmarks/_servers.py canned PORT`` serves the smallest WSGI application that answers
every request with S3's 503 ServiceUnavailable, on werkzeug's threaded server (the one moto and the
gateway use): the lower bound of what a Python WSGI server can do per request.

microburst (a peer fault-injection proxy, aiohttp) is looked for as ``MICROBURST`` (a path to its
command), then ``benchmarks/.microburst/bin/microburst`` (``make bench`` installs it there from
PyPI, apart from the project's environment), then on ``PATH``.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>0</RequestId></Error>"
)


def canned(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Every request: S3's 503, without reading anything but the request line and headers."""
    start_response(
        "503 Service Unavailable",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(BODY))), ("x-amz-request-id", "0")],
    )
    return [BODY]


def microburst() -> str | None:
    """The microburst command, or None when it is not installed."""
    given = os.environ.get("MICROBURST")
    if given:
        return given
    local = Path(__file__).resolve().parent / ".microburst" / "bin" / "microburst"
    if local.exists():
        return str(local)
    return shutil.which("microburst")


def main() -> None:
    from werkzeug.serving import run_simple

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    run_simple("127.0.0.1", int(sys.argv[2]), canned, threaded=True)


if __name__ == "__main__":
    main()
