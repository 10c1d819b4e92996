"""The load generator against a real HTTP application on loopback."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chaos.model import Load
from chaos.verify.load import LoadFailed, LoadGenerator
from chaos.verify.log import RequestLog


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        self._answer(503 if self.path.startswith("/busy") else 200)

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(200)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up on /slow (its timeout) is what the test wants: no traceback for it."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@pytest.fixture
def app() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _run(app: str, seconds: float, **load: object) -> tuple[LoadGenerator, RequestLog]:
    spec = Load.model_validate({"rate": 50, "concurrency": 4, **load})
    log = RequestLog()
    generator = LoadGenerator(spec, app, log, seed=1)
    generator.start()
    time.sleep(seconds)
    generator.stop()
    return generator, log


def test_weighted_requests_at_the_rate_with_writes_remembered(app: str) -> None:
    generator, log = _run(
        app,
        1.0,
        requests=[
            {"method": "GET", "path": "/docs/{id}", "weight": 3},
            {"method": "PUT", "path": "/docs/{id}", "body": "doc {id}"},
        ],
        ids=10,
    )
    stats = log.stats("baseline")
    assert 40 <= stats.count <= 60  # 50 requests/s for about a second
    assert stats.statuses["200"] == stats.count
    assert log.acknowledged
    assert all(body == f"doc {doc}".encode() for doc, body in log.acknowledged.items())
    assert generator.sent == stats.count


def test_phases_are_recorded(app: str) -> None:
    spec = Load.model_validate({"rate": 40, "requests": [{"path": "/busy/{id}"}]})
    log = RequestLog()
    generator = LoadGenerator(spec, app, log)
    generator.start()
    time.sleep(0.3)
    generator.phase = "faults"
    time.sleep(0.3)
    generator.stop()
    assert log.stats("baseline").count > 0 and log.stats("faults").count > 0
    assert log.stats("faults").statuses["503"] == log.stats("faults").count


def test_a_request_unanswered_in_time_is_a_timeout(app: str) -> None:
    _, log = _run(app, 0.5, rate=4, concurrency=2, requests=[{"path": "/slow/{id}"}], timeout="200ms")
    stats = log.stats("baseline")
    assert stats.count >= 1
    assert stats.statuses["timeout"] == stats.count
    assert "timeout" in stats.failures


def test_latency_counts_from_when_the_request_was_due(app: str) -> None:
    # One worker, 1 s requests, 10 due per second: the later ones wait, and that wait is latency.
    _, log = _run(app, 1.5, rate=10, concurrency=1, requests=[{"path": "/slow/{id}"}], timeout="5s")
    latencies = sorted(log.stats("baseline").latencies)
    assert latencies[0] >= 1.0
    assert latencies[-1] > 1.5


def test_an_application_that_is_not_there(app: str) -> None:
    _, log = _run("http://127.0.0.1:9", 0.3, rate=20, requests=[{"path": "/x"}])
    stats = log.stats("baseline")
    assert stats.count > 0 and stats.successes == 0
    assert any(name.startswith("no answer") for name in stats.statuses)


def test_a_failing_load_thread_stops_the_load_and_says_why(app: str) -> None:
    # The model refuses such a header; built past it, the request cannot even be encoded.
    good = Load.model_validate({"rate": 50, "concurrency": 3, "requests": [{"path": "/docs/{id}"}]})
    broken = good.requests[0].model_copy(update={"headers": {"X-Broken": "line\r\nInjected: yes"}})
    spec = good.model_copy(update={"requests": (broken,)})
    told: list[str] = []
    generator = LoadGenerator(spec, app, RequestLog(), on_error=told.append)
    generator.start()
    deadline = time.monotonic() + 5
    while any(thread.is_alive() for thread in generator._threads) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(thread.is_alive() for thread in generator._threads), "every load thread stops"
    generator.stop()
    assert generator.error is not None and generator.error.startswith("ValueError: Invalid header value")
    assert told == [generator.error]  # once, however many threads failed
    with pytest.raises(LoadFailed, match=r"^the load generator failed: ValueError: Invalid header value"):
        generator.raise_for_error()


def test_a_healthy_load_has_no_error(app: str) -> None:
    generator, _ = _run(app, 0.2, requests=[{"path": "/docs/{id}", "headers": {"X-Trace": "a b\tc"}}])
    assert generator.error is None
    generator.raise_for_error()
