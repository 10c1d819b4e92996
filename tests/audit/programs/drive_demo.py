"""Drive the demo document service in-process on moto: ``python drive_demo.py naive|resilient``.

Starts the demo's WSGI application (chaos.demo.wsgi) inside moto's in-process AWS with fake
credentials, serves a few requests (writes, reads, a health check) and prints what it answered,
one line per request, so that runs with and without the audit can be compared.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
    os.environ.pop(name, None)

from moto import mock_aws  # noqa: E402

from chaos.demo import wsgi  # noqa: E402


def request(app: object, method: str, path: str, body: bytes = b"") -> str:
    answer: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    chunks = app(environ, lambda status, headers: answer.append(status))  # type: ignore[operator]
    return f"{method} {path} -> {answer[0]} {b''.join(chunks)[:60]!r}"


def main(variant: str) -> None:
    with mock_aws(), tempfile.TemporaryDirectory() as spool:
        app = wsgi.naive() if variant == "naive" else wsgi.resilient(Path(spool))
        try:
            for doc in range(3):
                print(request(app, "PUT", f"/docs/d{doc}", f"document {doc}".encode()))
            app.close()  # the naive variant uploads in the background: wait for it before reading
            app = wsgi.naive() if variant == "naive" else app
            for doc in range(3):
                print(request(app, "GET", f"/docs/d{doc}"))
            print(request(app, "GET", "/health"))
        finally:
            app.close()


if __name__ == "__main__":
    main(sys.argv[1])
