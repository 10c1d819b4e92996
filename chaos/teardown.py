"""What a run must undo, in order, each step checked: the run's side of rollback.

The runner registers each thing as it starts it; :meth:`Teardown.undo` takes them down in a fixed
order (deny policies, faults, the application, the gateway) and says, step by step, whether each
was verified. A failed step never keeps the others from running. (A run that died is finished by
:mod:`chaos.recovery` from its journal instead.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chaos.verify.probes import http_get

if TYPE_CHECKING:
    from chaos.apps import InProcessApp, ProcessApp, RunningApp
    from chaos.iam_phase import IamRun
    from chaos.injectors.base import Injector
    from chaos.injectors.gateway import GatewayServer

__all__ = ["Teardown"]

Steps = list[dict[str, Any]]


@dataclass
class Teardown:
    """Everything a run started that rollback must take down."""

    iam: IamRun | None = None
    injector: Injector | None = None
    app: ProcessApp | InProcessApp | RunningApp | None = None
    gateway: GatewayServer | None = None
    steps: Steps = field(default_factory=list)

    def undo(self) -> tuple[bool, Steps]:
        """Undo everything, each step verified; (every step verified, the steps)."""
        steps: Steps = []
        for undo in (self._iam, self._faults, self._app, self._gateway):
            try:
                undo(steps)
            except Exception as exc:  # one failed step must not keep the others from running
                steps.append({"step": undo.__name__.strip("_"), "ok": False, "error": f"{exc}"})
        self.steps = steps
        return all(step.get("ok", True) for step in steps), steps

    def _iam(self, steps: Steps) -> None:
        if self.iam is not None:
            self.iam.undo(steps)

    def _faults(self, steps: Steps) -> None:
        if self.injector is None:
            return
        removed = self.injector.remove()
        left = len(self.injector.faults)
        steps.append({"step": "remove faults", "removed": removed, "left": left, "ok": left == 0})

    def _app(self, steps: Steps) -> None:
        if self.app is not None:
            self.app.stop(steps)
            self.app = None

    def _gateway(self, steps: Steps) -> None:
        if self.gateway is None:
            return
        self.gateway.stop()
        stopped = http_get(self.gateway.url + "/_chaos/health", timeout=1.0)[0] is None
        steps.append({"step": "stop gateway", "url": self.gateway.url, "ok": stopped})
        self.gateway = None
