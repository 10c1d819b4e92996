"""The application under test, as the runner starts and stops it.

``ProcessApp``: a command in its own process group, its AWS endpoint pointed at the gateway.
``InProcessApp``: a Python WSGI application served from a thread, on moto's in-process AWS, its
boto3 calls failed by the hook injector. Both stop completely and say so.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos.errors import ChaosError
from chaos.journal import RUN_MARKER, ProcessIdentity
from chaos.model import App

__all__ = ["FAKE_CREDENTIALS", "RUN_MARKER", "AppFailed", "InProcessApp", "ProcessApp", "RunningApp", "free_port"]

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
Journal = Callable[..., None]


class AppFailed(ChaosError):
    """The application could not be started or never became ready."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Run by a throw-away interpreter between the runner and the application (Linux): ask the kernel
# to send SIGTERM when the runner dies (PR_SET_PDEATHSIG, even on SIGKILL), make sure the runner
# did not die before that, then become the application (exec keeps the pid and the setting).
_LAUNCHER = """
import ctypes, os, signal, sys
parent = int(sys.argv[1])
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
if os.getppid() != parent:
    sys.exit(0)
try:
    os.execvp(sys.argv[2], sys.argv[2:])
except OSError as exc:
    print(f"cannot start the application {sys.argv[2]!r}: {exc.strerror or exc}", file=sys.stderr)
    sys.exit(127)
"""


def _dies_with_runner(command: list[str]) -> list[str]:
    """``command`` wrapped so that it receives SIGTERM when this process dies, where Linux allows it."""
    if not sys.platform.startswith("linux"):
        return command  # elsewhere ``outage rollback`` is the only backstop
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(os.getpid()), *command]


class ProcessApp:
    """``app.command`` in its own process group, with the gateway as its AWS endpoint.

    Recorded in the journal before and as it starts (its log file, then its pid, process group and
    start time), so ``outage rollback`` can stop it if the runner dies; on Linux it also receives
    SIGTERM by itself when the runner dies.
    """

    def __init__(
        self, spec: App, gateway_url: str, journal: Journal, record: Journal | None = None, marker: str = ""
    ) -> None:
        self.spec, self.gateway_url, self.journal = spec, gateway_url, journal
        self.record = record or (lambda kind, **fields: None)
        self.marker = marker or secrets.token_hex(8)
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    def start(self) -> str:
        """Start the command; returns the application's URL."""
        assert self.spec.command is not None
        port = free_port()
        command = [word.replace("{port}", str(port)) for word in self.spec.command]
        if command[0] in ("python", "python3"):
            command[0] = sys.executable  # the interpreter running the tool, with its environment
        env = {**os.environ, **FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.gateway_url, **self.spec.env}
        env[RUN_MARKER] = self.marker  # how rollback recognises this process as the run's, and no other
        env.pop("AWS_PROFILE", None)
        self._log = Path(tempfile.gettempdir()) / f"chaos-app-{secrets.token_hex(8)}.log"
        self.record("file", path=str(self._log))  # written ahead: rollback deletes it if the run dies
        handle = os.open(self._log, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.journal("app_start", command=command)
        try:
            self.process = subprocess.Popen(
                _dies_with_runner(command),
                env=env,
                cwd=self.spec.cwd,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopped whole, children included
            )
        except OSError as exc:
            self._log.unlink(missing_ok=True)
            raise AppFailed(f"cannot start the application {command[0]!r}: {exc.strerror or exc}") from None
        finally:
            os.close(handle)
        identity = ProcessIdentity.of(self.process.pid)
        self.record("process", **identity.to_dict(), marker=self.marker, stop_timeout=self.spec.stop_timeout)
        self.journal("app_started", pid=self.process.pid, pgid=identity.pgid)
        return str(self.spec.url.replace("{port}", str(port)))

    def exited(self) -> str | None:
        """Why the application is gone (its exit code and last output), or None while it runs."""
        if self.process is None or self.process.poll() is None:
            return None
        code = self.process.returncode
        return f"the application exited with code {code} before it was ready; its output:\n{self.output()}"

    def output(self, lines: int = 20) -> str:
        """The last lines the application printed."""
        if self._log is None or not self._log.exists():
            return ""
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, steps: list[dict[str, Any]]) -> None:
        """SIGTERM to the whole group, SIGKILL after ``stop_timeout``; the step says whether it is gone."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=self.spec.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything the application left behind in its group
        steps.append(
            {
                "step": "stop application",
                "pid": process.pid,
                "ok": process.poll() is not None,
                "exit_code": process.returncode,
            }
        )
        if self._log is not None:
            steps.append({"step": "application output (last lines)", "output": self.output()})
            self._log.unlink(missing_ok=True)
        self.process = None


class RunningApp:
    """An application that is already running (a staging service): the run neither starts nor stops it."""

    def __init__(self, spec: App, journal: Journal) -> None:
        self.spec, self.journal = spec, journal

    def start(self) -> str:
        """Nothing to start; its URL."""
        self.journal("app_running", url=self.spec.url)
        return self.spec.url

    def exited(self) -> str | None:
        """It is not the run's to watch: a refusal to become ready says it is down."""
        return None

    def stop(self, steps: list[dict[str, Any]]) -> None:
        """Nothing to stop: it was running before the run and keeps running."""
        steps.append({"step": "leave the application running (it was running before)", "ok": True})


class InProcessApp:
    """``app.wsgi`` served from a thread, on moto's in-process AWS, with the hook injector armed."""

    def __init__(self, spec: App, seed: int | None, journal: Journal) -> None:
        from chaos.injectors.hook import HookInjector  # noqa: PLC0415 - botocore: only for an in-process app

        self.spec, self.journal = spec, journal
        self.injector = HookInjector((), seed=seed)
        self._saved: dict[str, str | None] | None = None
        self._mock: Any = None
        self._server: Any = None
        self._application: Any = None

    def start(self) -> str:
        """Fake credentials, moto, the hook, then the application; returns its URL."""
        from moto import mock_aws  # noqa: PLC0415 - moto: only to run
        from werkzeug.serving import make_server  # noqa: PLC0415

        assert self.spec.wsgi is not None
        self._saved = {name: os.environ.get(name) for name in (*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_PROFILE")}
        os.environ.update(FAKE_CREDENTIALS)
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.pop("AWS_PROFILE", None)
        self._mock = mock_aws()
        self._mock.start()
        self.injector.arm()
        self.journal("hook", scope="every botocore client of this process")
        module_name, _, attribute = self.spec.wsgi.partition(":")
        self.journal("app_start", wsgi=self.spec.wsgi)
        try:
            target = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise AppFailed(f"cannot import the application {self.spec.wsgi!r}: {exc}") from None
        required = [p for p in inspect.signature(target).parameters.values() if p.default is inspect.Parameter.empty]
        self._application = target() if not required else target  # a factory takes no required argument
        self._server = make_server("127.0.0.1", 0, self._application, threaded=True)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="chaos-app", daemon=True
        ).start()
        url = str(self.spec.url.replace("{port}", str(self._server.server_port)))
        self.journal("app_started", url=url)
        return url

    def exited(self) -> str | None:
        """An in-process application does not exit on its own."""
        return None

    def stop(self, steps: list[dict[str, Any]]) -> None:
        """Stop serving, close the application, restore botocore, moto and the environment."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            close = getattr(self._application, "close", None)
            if callable(close):
                close()
            steps.append({"step": "stop application", "in_process": True, "ok": True})
            self._server = None
        from chaos.injectors.hook import is_patched  # noqa: PLC0415

        self.injector.disarm()
        steps.append({"step": "restore botocore", "ok": not is_patched()})
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self._saved is not None:
            for name, value in self._saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            self._saved = None
