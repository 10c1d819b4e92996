"""The demo document service, against the gateway, over real HTTP."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import chaos
from chaos.demo.app import make_server
from chaos.demo.store import CircuitBreaker, RetryBudget
from chaos.injectors.gateway import GatewayInjector, GatewayServer
from chaos.verify.probes import http_get
from tests.conftest import wait_until


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[GatewayInjector]:
    injector = GatewayInjector()
    injector.arm()
    with GatewayServer(injector, port=0) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        yield injector
    injector.disarm()


def _serve(variant: str, spool: Path | None = None) -> tuple[str, object]:
    server = make_server(variant, 0, spool=spool)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def _put(url: str, doc: str, body: str) -> int | None:
    return http_get(f"{url}/docs/{doc}", "PUT", body=body.encode())[0]


def test_resilient_spools_writes_reads_the_replica_and_replays(gateway: GatewayInjector, tmp_path: Path) -> None:
    url, server = _serve("resilient", tmp_path / "spool")
    try:
        assert _put(url, "before", "old") == 200
        [outage] = gateway.engine.add([chaos.s3_outage("us-east-1")])
        assert _put(url, "during", "new") == 202  # accepted into the spool
        assert http_get(f"{url}/docs/during") == (200, "new")  # read your writes
        assert http_get(f"{url}/docs/before") == (200, "old")  # from the replica
        status, health = http_get(f"{url}/health")
        assert status == 200 and '"status": "degraded"' in health and '"spooled_writes": 1' in health
        gateway.engine.remove([outage])
        wait_until(lambda: not list((tmp_path / "spool").glob("*.doc")), what="the spool to be replayed")
        wait_until(lambda: '"status": "ok"' in http_get(f"{url}/health")[1], what="health to recover")
        assert http_get(f"{url}/docs/during") == (200, "new")
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_naive_acknowledges_writes_it_then_loses(gateway: GatewayInjector, capsys: pytest.CaptureFixture[str]) -> None:
    url, server = _serve("naive")
    try:
        gateway.engine.add([chaos.s3_outage("us-east-1")])
        assert _put(url, "lost", "gone") == 200  # acknowledged...
        status, body = http_get(f"{url}/docs/lost")
        assert status == 500 and "Traceback" in body  # ...reads fail with a stack trace
        assert http_get(f"{url}/health") == (200, '{"status": "ok"}')  # and health says ok
        # The upload runs in the background with the SDK's retries: the outage ends only once it gave up
        # (on a busy machine its last retry could otherwise land after the outage, and the write survive).
        said: list[str] = []
        wait_until(
            lambda: said.append(capsys.readouterr().err) or "upload of lost failed" in "".join(said),
            what="the upload to fail",
        )
        gateway.engine.remove()
        wait_until(lambda: http_get(f"{url}/docs/lost")[0] == 404, what="the lost write to show")
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_a_temporary_spool_goes_with_the_app_unless_a_write_waits_in_it(gateway: GatewayInjector) -> None:
    """Without --spool the resilient app spools into a temporary directory: removed when it closes empty
    (every `outage run` of the demo left one in /tmp), kept while it holds the only copy of a write."""
    from chaos.demo import wsgi

    app = wsgi.resilient()
    spool = app.store.spool  # type: ignore[union-attr]
    assert spool.is_dir()
    app.close()
    assert not spool.exists()
    url, server = _serve("resilient")
    spool = server.get_app().store.spool  # type: ignore[attr-defined]
    try:
        gateway.engine.add([chaos.s3_outage("us-east-1")])
        assert _put(url, "waiting", "only copy") == 202
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
    assert (spool / "waiting.doc").read_bytes() == b"only copy"
    shutil.rmtree(spool)


def test_circuit_breaker_opens_and_lets_one_trial_through() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, cooldown=1.0, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.open and not breaker.allow()
    now[0] = 1.0
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.success()
    assert not breaker.open and breaker.allow()


def test_retry_budget_limits_retries_to_a_share_of_requests() -> None:
    budget = RetryBudget(ratio=0.1, reserve=2)
    assert budget.withdraw() and budget.withdraw() and not budget.withdraw()
    for _ in range(11):  # each request earns a tenth of a retry
        budget.deposit()
    assert budget.withdraw() and not budget.withdraw()
