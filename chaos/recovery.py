"""Finishing a run that died: everything its journal says it left behind, removed and checked.

``outage rollback`` reads journals whose status is ``running`` and whose runner is gone (its lock
on the journal is free), and undoes each resource the journal recorded ahead: the application's
process group (signalled only if the process is the very one the run started: same pid, start time
and boot, and the run's marker in its environment), the run's temporary files (only the tool's own
names in the temporary directory), the run's deny policies (only those carrying the tool's
signature for that run), the run's faults in a shared gateway. The journal is then marked rolled
back with every step; a second rollback finds nothing left.

A journal is untrusted input: nothing it names is touched unless it checks out as the run's own.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chaos.errors import ConfigError
from chaos.injectors.admission import is_loopback
from chaos.journal import RUN_MARKER, Journal, JournalBusy, ProcessIdentity, held_by_a_live_run

__all__ = ["Recovery", "Step", "crashed_journals", "recover"]

_APP_LOG = re.compile(r"^chaos-app-[0-9a-f]{16}\.log$")
_MAX_JOURNAL = 64 * 1024 * 1024


@dataclass(frozen=True)
class Step:
    """One thing rollback did or checked."""

    what: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"step": self.what, "ok": self.ok, "detail": self.detail}


@dataclass
class Recovery:
    """What rollback did for one journal."""

    journal: Path
    status_before: str
    steps: list[Step] = field(default_factory=list)
    nothing_to_do: bool = False

    @property
    def complete(self) -> bool:
        """Whether every step was carried out and checked."""
        return all(step.ok for step in self.steps)


def load(path: Path) -> dict[str, Any]:
    """A journal given to rollback: a regular JSON file of a sane size, or a ConfigError saying why not."""
    from chaos.documents import DocumentError, parse_document  # noqa: PLC0415
    from chaos.loading import read_regular_file  # noqa: PLC0415

    raw = read_regular_file(path, _MAX_JOURNAL, what="journals")
    try:
        data, _ = parse_document(raw, json_only=True)
    except DocumentError as exc:
        raise ConfigError(f"{path}:{exc.line}:{exc.column}: not a journal: {exc}") from None
    if not isinstance(data, dict) or "status" not in data:
        raise ConfigError(f"{path}:1:1: not a journal: no 'status' (a journal is written by outage run)")
    return data


def crashed_journals(directory: Path) -> list[Path]:
    """Journals under ``directory`` whose status is ``running`` and whose runner is gone."""
    found: list[Path] = []
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.json")):
        try:
            data = load(path)
        except ConfigError:
            continue
        runner = _identity(data.get("runner"))
        alive = runner is not None and runner.pid != os.getpid() and runner.alive()
        if needs_recovery(data) and not alive and held_by_a_live_run(path.resolve()) is None:
            found.append(path)
    return found


def _identity(record: Any) -> ProcessIdentity | None:
    """A ProcessIdentity from a journal's record, or None when it is not one."""
    if not isinstance(record, dict):
        return None
    try:
        pid = int(record["pid"])
        pgid = int(record["pgid"]) if record.get("pgid") is not None else None
        ticks = int(record["start_ticks"]) if record.get("start_ticks") is not None else None
        boot = str(record["boot_id"]) if record.get("boot_id") is not None else None
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if not 1 <= pid < 2**22 or (pgid is not None and not 1 <= pgid < 2**22):
        return None
    return ProcessIdentity(pid, pgid, ticks, boot)


def _members(group: int, marker: str) -> list[int]:
    """Processes in process group ``group`` that carry the run's marker (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
        except (OSError, ValueError):
            continue
        if len(fields) > 2 and fields[2] == str(group) and _carries(int(entry.name), marker):
            found.append(int(entry.name))
    return found


def _stop_process(resource: dict[str, Any], sleep: Callable[[float], None]) -> Step:
    identity = _identity(resource)
    marker = resource.get("marker")
    if identity is None or not isinstance(marker, str) or not marker:
        return Step("stop application", False, f"the journal's process record is malformed: {resource!r}"[:300])
    try:
        timeout = min(max(float(resource.get("stop_timeout", 10.0)), 0.0), 60.0)
    except (TypeError, ValueError):
        timeout = 10.0
    what = f"stop application (pid {identity.pid})"
    leader = identity.alive() and _carries(identity.pid, marker)
    group = identity.pgid if identity.pgid == identity.pid else None  # the application leads its own group
    members = set(_members(group, marker)) if group is not None else set()
    if leader:
        members.add(identity.pid)
    if not members:
        return Step(what, True, "gone: no process of the run is left (pid and marker checked)")
    _kill(members, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(members) and time.monotonic() < deadline:
        sleep(0.05)
    if _alive(members):
        _kill(members, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _alive(members) and time.monotonic() < deadline:
            sleep(0.05)
    left = sorted(pid for pid in members if _carries(pid, marker))
    if left:
        return Step(what, False, f"still running after SIGKILL: {left}")
    return Step(what, True, f"stopped {len(members)} process(es) of the run (SIGTERM, SIGKILL after the stop timeout)")


def _kill(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _alive(pids: set[int]) -> bool:
    alive = False
    for pid in pids:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            continue
        try:
            state = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        alive = alive or state[state.rindex(")") + 2 :].split()[0] != "Z"  # a zombie is gone, only unreaped
    return alive


def _carries(pid: int, marker: str) -> bool:
    """Whether process ``pid`` has the run's marker in its environment (Linux /proc)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{RUN_MARKER}={marker}".encode() in environ.split(b"\0")


def _delete_file(resource: dict[str, Any]) -> Step:
    raw = resource.get("path")
    if not isinstance(raw, str):
        return Step("delete temporary file", False, f"malformed record {resource!r}"[:300])
    path = Path(raw)
    if path.parent != Path(tempfile.gettempdir()) or not _APP_LOG.match(path.name):
        return Step(f"delete {raw}", True, "not one of the tool's temporary files: left alone")
    with contextlib.suppress(FileNotFoundError):
        if path.is_symlink() or not path.is_file():
            return Step(f"delete {raw}", True, "not a regular file: left alone")
        path.unlink()
    return Step(f"delete {raw}", not path.exists(), "deleted" if not path.exists() else "still there")


def _remove_policies(
    resources: list[dict[str, Any]], session_factory: Callable[[], Any], runner: ProcessIdentity | None
) -> list[Step]:
    from chaos.iam.ownership import RUN_ID_PATTERN, remove  # noqa: PLC0415 - boto3: only with policies

    by_run: dict[str, list[str]] = {}
    for resource in resources:
        run_id, arn = str(resource.get("run_id", "")), str(resource.get("arn", ""))
        if RUN_ID_PATTERN.match(run_id) and arn.startswith("arn:aws"):
            by_run.setdefault(run_id, []).append(arn)
    steps = []
    for run_id, arns in by_run.items():
        report = remove(session_factory().client("iam"), arns, run_id=run_id, runner=_runner_tag(runner))
        for arn in report.removed:
            steps.append(Step(f"remove {arn}", True, "removed and checked gone"))
        for candidate in report.not_ours:
            steps.append(Step(f"leave {candidate.arn}", True, f"not ours, left alone: {candidate.why_not}"))
        for error in report.errors:
            steps.append(Step(f"remove policy of run {run_id}", False, str(error)))
    return steps


def _runner_tag(runner: ProcessIdentity | None) -> str | None:
    from chaos.iam.ownership import runner_tag  # noqa: PLC0415

    return None if runner is None else runner_tag(runner)


def _remove_gateway_faults(resource: dict[str, Any], allowed: Sequence[str]) -> Step:
    """The run's faults in a shared gateway, removed by the run's id (the token from OUTAGE_TOKEN).

    A journal is untrusted: a gateway off this machine is contacted (and sent the token) only when the
    user names it with ``--gateway``.
    """
    endpoint, run = resource.get("endpoint"), resource.get("run")
    if not isinstance(endpoint, str) or not re.match(r"^https?://", endpoint) or not isinstance(run, str):
        return Step("remove gateway faults", False, f"malformed record {resource!r}"[:300])
    if not re.fullmatch(r"[0-9a-f]{12}", run):
        return Step("remove gateway faults", False, f"{run!r} is not a run id of this tool")
    what = f"remove run {run}'s faults from {endpoint}"
    try:
        host = urllib.parse.urlsplit(endpoint).hostname or ""
    except ValueError as exc:  # "http://[::1" and its like
        return Step(what, False, f"not a URL: {exc}")
    if not is_loopback(host) and endpoint.rstrip("/") not in {url.rstrip("/") for url in allowed}:
        return Step(what, False, f"{host} is not this machine: run 'outage rollback --gateway {endpoint}' to allow it")
    token = os.environ.get("OUTAGE_TOKEN")
    query = urllib.parse.urlencode({"run": run})
    try:
        for method, path in (("DELETE", f"/_chaos/faults?{query}"), ("GET", "/_chaos/faults")):
            request = urllib.request.Request(f"{endpoint.rstrip('/')}{path}", method=method)
            request.add_header("Content-Type", "application/json")
            if token:
                request.add_header("Authorization", f"Bearer {token}")
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        exc.close()
        return Step(what, False, f"the gateway answered {exc.code} (set OUTAGE_TOKEN if it has a token)")
    except (OSError, ValueError) as exc:
        return Step(what, False, f"cannot reach the gateway: {exc}")
    left = [item.get("id") for item in answer.get("faults", []) if isinstance(item, dict) and item.get("run") == run]
    return Step(what, not left, f"still armed: {left}" if left else "removed, none left (checked)")


def needs_recovery(data: dict[str, Any]) -> bool:
    """A run that never finished, or whose rollback did not complete."""
    rollback = data.get("rollback")
    incomplete = isinstance(rollback, dict) and rollback.get("complete") is False
    return data.get("status") == "running" or incomplete


def recover(
    path: Path,
    *,
    session_factory: Callable[[], Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    gateways: Sequence[str] = (),
) -> Recovery:
    """Undo what the crashed (or incompletely rolled back) run of journal ``path`` left, check it, and
    mark the journal rolled back.

    ``gateways``: gateways off this machine that the user allows rollback to contact (a loopback one
    needs no consent). Raises ConfigError for a path that is not a journal, JournalBusy while the run
    is alive (its lock is held, or its runner process still exists).
    """
    data = load(path)
    if not needs_recovery(data):
        return Recovery(path, str(data.get("status")), nothing_to_do=True)
    runner = _identity(data.get("runner"))
    if runner is not None and runner.pid != os.getpid() and runner.alive():
        raise JournalBusy(
            f"{path}: its run (pid {runner.pid}) is still going; "
            "stop it (Ctrl-C or SIGTERM) and it rolls back by itself"
        )
    real = path.resolve()  # the lock belongs to the journal itself, not to a link to it
    try:
        journal = Journal.resume(real, data)
    except JournalBusy:
        holder = held_by_a_live_run(real)
        raise JournalBusy(
            f"{path}: the run (pid {holder}) is still going; stop it (Ctrl-C or SIGTERM) and it rolls back by itself"
        ) from None
    try:
        data = load(real)  # as it is now that we hold it
        if not needs_recovery(data):
            return Recovery(path, str(data.get("status")), nothing_to_do=True)
        result = Recovery(path, str(data.get("status")))
        raw = data.get("resources", [])
        if not isinstance(raw, list):
            result.steps.append(Step("read the journal's resources", False, "not a list: nothing can be checked"))
            raw = []
        resources = [item for item in raw if isinstance(item, dict)]
        for resource in resources:
            kind = resource.get("kind")
            if kind == "process":
                result.steps.append(_stop_process(resource, sleep))
            elif kind == "file":
                result.steps.append(_delete_file(resource))
            elif kind == "gateway_faults":
                result.steps.append(_remove_gateway_faults(resource, gateways))
        policies = [item for item in resources if item.get("kind") == "iam_policy"]
        if policies:
            if session_factory is None:
                import boto3  # noqa: PLC0415 - only a run that armed deny policies needs AWS

                session_factory = boto3.Session
            result.steps += _remove_policies(policies, session_factory, runner)
        _mark(journal, data, result)
        return result
    finally:
        journal.release()


def _mark(journal: Journal, data: dict[str, Any], result: Recovery) -> None:
    """Rewrite the journal: rolled back after a crash, with every step."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    data["status"] = "aborted"
    data["reason"] = "rolled back after a crash" + ("" if result.complete else " (incomplete: see rollback.steps)")
    data["ended_at"] = data.get("ended_at") or now
    data["rollback"] = {
        "complete": result.complete,
        "after_crash": True,
        "steps": [step.to_dict() for step in result.steps],
    }
    timeline = data.get("timeline")
    if isinstance(timeline, list):
        timeline.append({"event": "rollback", "at": now, "complete": result.complete, "after_crash": True})
    journal.data = data
    journal.write()
    for stale in journal.path.parent.glob(f".{journal.path.name}.*.tmp"):  # a write the crash interrupted
        stale.unlink(missing_ok=True)
