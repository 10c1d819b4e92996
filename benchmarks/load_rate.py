"""Does the load generator hold its rate? 200 requests/s against a trivial local application.

ROUNDS windows of SECONDS each, 8 workers, the application in a process of its own; every request
must succeed. Figures: the achieved rate, and its distance from the asked rate (|achieved / asked - 1|,
target <= 0.05: within 5 %), median and min-max over the windows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import figure, finish, setup

from chaos.model import Load
from chaos.verify.load import LoadGenerator
from chaos.verify.log import RequestLog

RATE, SECONDS, WORKERS = 200, 5.0, 8
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


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


def _window(port: int) -> float:
    """Requests per second achieved over one window of SECONDS."""
    load = Load.model_validate({"rate": RATE, "concurrency": WORKERS, "requests": [{"path": "/docs/{id}"}]})
    log = RequestLog()
    generator = LoadGenerator(load, f"http://127.0.0.1:{port}", log)
    generator.start()
    time.sleep(SECONDS)
    generator.stop()
    stats = log.stats("baseline")
    assert stats.count > 0 and stats.successes == stats.count, f"{stats.count - stats.successes} requests failed"
    return stats.count / ((stats.last_end or 0) - (stats.first_start or 0))


def main() -> int:
    app = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    assert app.stdout is not None
    port = int(app.stdout.readline())
    try:
        rates = [_window(port) for _ in range(ROUNDS)]
    finally:
        app.terminate()
        app.wait()
    setup(rate=RATE, seconds=SECONDS, workers=WORKERS, rounds=ROUNDS)
    figure("achieved", rates, "requests/s", label=f"achieved for {RATE} asked", digits=1)
    ok = figure(
        "deviation",
        [abs(rate / RATE - 1) for rate in rates],
        "x",
        target=0.05,
        better="lower",
        label="|achieved / asked - 1|",
    )
    return finish(ok)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    raise SystemExit(main())
