"""Does the load generator hold its rate? 200 requests/s against a trivial local application.

Prints achieved/target (target: within 5%) over 10 s, with 8 workers.
"""

from __future__ import annotations

import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.model import Load
from chaos.verify.load import LoadGenerator
from chaos.verify.log import RequestLog

RATE, SECONDS = 200, 10.0


class _Trivial(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this, 40 ms each

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def serve() -> None:
    """The trivial application, run in its own process (so it does not share our interpreter lock)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trivial)
    server.daemon_threads = True
    print(server.server_port, flush=True)
    server.serve_forever()


def main() -> int:
    app = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    assert app.stdout is not None
    port = int(app.stdout.readline())
    try:
        load = Load.model_validate({"rate": RATE, "concurrency": 8, "requests": [{"path": "/docs/{id}"}]})
        log = RequestLog()
        generator = LoadGenerator(load, f"http://127.0.0.1:{port}", log)
        generator.start()
        time.sleep(SECONDS)
        generator.stop()
    finally:
        app.terminate()
        app.wait()
    stats = log.stats("baseline")
    elapsed = (stats.last_end or 0) - (stats.first_start or 0)
    achieved = stats.count / elapsed
    ratio = achieved / RATE
    print(
        f"load generator: {achieved:.1f} requests/s achieved for {RATE} asked over {elapsed:.1f}s: ratio {ratio:.3f} (target 0.95..1.05)"
    )
    return 0 if 0.95 <= ratio <= 1.05 else 1


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    raise SystemExit(main())
