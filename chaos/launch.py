"""Starting what a run drives: the AWS the application talks to, and the application, until it is ready.

Three shapes: an application command behind a private outage gateway (its socket listens before the
application starts, and the gateway — half a second of importing moto — is built while the
application starts; its first call waits in the backlog); a Python WSGI application in-process on
moto with the hook injector; an application that is already running, behind a shared gateway.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaos.apps import AppFailed, InProcessApp, ProcessApp, RunningApp
from chaos.engine.durations import format_duration
from chaos.guardrails import Limits
from chaos.journal import Journal
from chaos.model import App, Experiment
from chaos.verify.probes import http_get

if TYPE_CHECKING:
    from chaos.injectors.base import Injector
    from chaos.injectors.gateway import GatewayServer

__all__ = ["Launch", "launch"]


@dataclass
class Launch:
    """What was started, for the run to drive and its rollback to stop."""

    injector: Injector | None = None
    app: ProcessApp | InProcessApp | RunningApp | None = None
    gateway: GatewayServer | None = None
    url: str = ""


def launch(
    experiment: Experiment,
    journal: Journal,
    limits: Limits,
    seed: int | None,
    run_id: str,
    wait: Callable[[float], None],
    into: Launch,
) -> str:
    """Start everything ``experiment.app`` needs, filling ``into`` as each part exists (so a failure half
    way leaves the rollback what to stop); the application's URL once it is ready."""
    app = experiment.app
    assert app is not None
    if app.running:
        _running(experiment, journal, run_id, into)
    elif app.wsgi is not None:
        into.app = InProcessApp(app, seed, journal.event)
        into.injector = into.app.injector
    else:
        listening = socket.create_server(("127.0.0.1", 0), backlog=128)
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        journal.event("gateway", url=url)
        into.app = ProcessApp(app, url, journal.event, journal.resource)
        into.url = into.app.start()
        try:
            _gateway(listening, limits, seed, into)
        finally:
            listening.close()  # the server holds its own duplicate
        _wait_ready(into, app, journal, wait)
        return into.url
    assert into.app is not None
    into.url = into.app.start()
    _wait_ready(into, app, journal, wait)
    return into.url


def _gateway(listening: socket.socket, limits: Limits, seed: int | None, into: Launch) -> None:
    """The outage gateway on an already listening socket, passing everything to an empty moto."""
    from chaos.injectors.gateway import GatewayInjector, GatewayServer  # noqa: PLC0415 - moto: only to run

    injector = GatewayInjector(seed=seed)
    into.injector = injector
    injector.arm(limits=limits)  # no fault yet: the gateway passes everything to moto
    into.gateway = GatewayServer(injector, port=0, sock=listening)
    into.gateway.reset_backend()  # every run starts from an empty AWS, even a second one in this process
    into.gateway.warm()  # before it serves: the application's first call is answered at once, not in 1.5 s
    into.gateway.start(warm=False)


def _running(experiment: Experiment, journal: Journal, run_id: str, into: Launch) -> None:
    """An application that is already running, and the shared gateway it points at."""
    from chaos.injectors.remote import RemoteGatewayInjector  # noqa: PLC0415

    gateway, app = experiment.gateway, experiment.app
    assert gateway is not None and app is not None
    token = gateway.token or os.environ.get("OUTAGE_TOKEN")
    remote = RemoteGatewayInjector(gateway.endpoint, run_id, token=token, record=journal.resource)
    health = remote.health()
    journal.event("gateway", url=gateway.endpoint, shared=True, armed=health.get("faults"))
    into.injector = remote
    into.app = RunningApp(app, journal.event)


def _wait_ready(into: Launch, app: App, journal: Journal, wait: Callable[[float], None]) -> None:
    """Poll ``app.ready`` until it answers 2xx; AppFailed when the application exits or never does."""
    url, timeout = into.url + app.ready, app.ready_timeout
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    pause = 0.02
    while True:
        gone = into.app.exited() if into.app is not None else None
        if gone is not None:
            raise AppFailed(gone)
        status, body = http_get(url, timeout=min(2.0, timeout))
        if status is not None and 200 <= status < 300:
            journal.event("app_ready", url=url)
            return
        last = f"status {status}" if status is not None else body
        if time.monotonic() >= deadline:
            raise AppFailed(f"the application never became ready at {url} within {format_duration(timeout)} ({last})")
        wait(pause)
        pause = min(pause * 2, 0.1)
