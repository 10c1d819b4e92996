"""``python -m chaos.demo.drive --variant naive|resilient``: a few requests to the demo service, in-process on moto.

Starts the demo's WSGI application (:mod:`chaos.demo.wsgi`) inside moto's in-process AWS with fake
credentials, serves it three writes, three reads and a health check, and prints each answer on a
line. Nothing listens on a port and nothing leaves the machine: a small program to audit
(``outage audit -- python -m chaos.demo.drive --variant naive``).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["drive", "main"]

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _request(app: App, method: str, path: str, body: bytes = b"") -> str:
    status: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    answer = b"".join(app(environ, lambda line, headers: status.append(line)))
    return f"{method} {path} -> {status[0]} {answer[:60]!r}"


def drive(variant: str) -> list[str]:
    """Serve the requests to ``variant`` on moto; the answers, one line each."""
    from moto import mock_aws  # noqa: PLC0415 - after the fake credentials are set

    from chaos.demo import wsgi  # noqa: PLC0415 - its boto3 clients read them when made

    lines = []
    with mock_aws(), tempfile.TemporaryDirectory(prefix="chaos-demo-spool-") as spool:
        app = wsgi.naive() if variant == "naive" else wsgi.resilient(Path(spool))
        try:
            for doc in range(3):
                lines.append(_request(app, "PUT", f"/docs/d{doc}", f"document {doc}".encode()))
            if variant == "naive":  # its writes are uploaded in the background: let them finish first
                app.close()
                app = wsgi.naive()
            for doc in range(3):
                lines.append(_request(app, "GET", f"/docs/d{doc}"))
            lines.append(_request(app, "GET", "/health"))
        finally:
            app.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.demo.drive", description=__doc__)
    parser.add_argument("--variant", choices=["naive", "resilient"], default="naive")
    args = parser.parse_args(argv)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    for line in drive(args.variant):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
