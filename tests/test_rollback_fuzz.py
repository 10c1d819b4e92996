"""Property: whatever journal is given to ``outage rollback``, it ends in a clear outcome.

A journal is untrusted input (a crashed run's file, a copy, something forged). Random documents,
random resource records (process, file, gateway faults, IAM policies with hostile values: huge
numbers, NULs, CRLF, non-ASCII, malformed URLs) and mutations of a real journal go through
``outage rollback --journal``; the only outcomes allowed are 0 (rolled back, or nothing to do), 2
(not a journal, located), 3 (its run is alive) or 4 (incomplete, each step named), never a traceback;
no file outside the tool's own temporary logs is touched and no process of ours is signalled.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from typer.testing import CliRunner

from chaos.cli import app
from chaos.recovery import recover

runner = CliRunner()
HOSTILE_TEXT = st.sampled_from(["", "\x00", "a\r\nb", "ü€😀", "../../etc/passwd", "x" * 5000, " ", "%s%n"]) | st.text(
    max_size=30
)
NUMBERS = st.sampled_from([0, -1, 1, 2**31, 2**63, 2**70, 10**400]) | st.integers() | st.floats()
ANY_SCALAR = st.none() | st.booleans() | NUMBERS | HOSTILE_TEXT
ENDPOINTS = st.sampled_from(
    [
        "http://[::1",
        "http://[zz]:1",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:0",
        "http://127.0.0.1:9/\r\nX-Injected: 1",
        "http://127.0.0.1\x00:9",
        "http://localhost:9/ü",
        "https://[::1]:9",
        "http://gateway.invalid:4566",
        "ftp://127.0.0.1:9",
        "http://",
        "http://:9",
    ]
) | HOSTILE_TEXT.map(lambda text: f"http://{text}")
RUN_IDS = st.sampled_from(["0123456789ab", "0123456789AB", "0123456789ab\n", "x" * 12, ""]) | HOSTILE_TEXT


def _pids() -> st.SearchStrategy[Any]:
    """Pids that are not ours to signal: this process, its parent, init, and numbers no process has."""
    return st.sampled_from([os.getpid(), os.getppid(), 1, 0, -1, 2**22, 2**31]) | NUMBERS


def _process() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"kind": st.just("process")},
        optional={
            "pid": _pids(),
            "pgid": _pids(),
            "start_ticks": NUMBERS | st.none(),
            "boot_id": HOSTILE_TEXT | st.none(),
            "marker": HOSTILE_TEXT | NUMBERS,
            "stop_timeout": ANY_SCALAR,
        },
    )


def _file(protected: str) -> st.SearchStrategy[dict[str, Any]]:
    tmp = tempfile.gettempdir()
    paths = st.sampled_from(
        [protected, f"{tmp}/chaos-app-..log", f"{tmp}/../etc/passwd", f"{tmp}/chaos-app-\x00.log", tmp, "/"]
    )
    return st.fixed_dictionaries({"kind": st.just("file")}, optional={"path": paths | ANY_SCALAR})


def _gateway() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"kind": st.just("gateway_faults")}, optional={"endpoint": ENDPOINTS | ANY_SCALAR, "run": RUN_IDS | NUMBERS}
    )


def _policy() -> st.SearchStrategy[dict[str, Any]]:
    arns = st.sampled_from(
        ["arn:aws:iam::123456789012:policy/chaos-outage-0123456789ab-0", "arn:aws:iam::123456789012:policy/x\x00"]
    )
    return st.fixed_dictionaries(
        {"kind": st.just("iam_policy")}, optional={"arn": arns | ANY_SCALAR, "run_id": RUN_IDS | NUMBERS}
    )


def _journals(protected: str) -> st.SearchStrategy[Any]:
    resource = _process() | _file(protected) | _gateway() | _policy() | ANY_SCALAR
    junk = st.recursive(
        ANY_SCALAR,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
        max_leaves=12,
    )
    journal = st.fixed_dictionaries(
        {
            "status": st.one_of(
                st.just("running"), st.just("running"), st.sampled_from(["aborted", "graceful"]), ANY_SCALAR
            )
        },
        optional={
            "resources": st.one_of(
                st.lists(resource, min_size=1, max_size=6), st.lists(resource, max_size=6), ANY_SCALAR
            ),
            "runner": st.fixed_dictionaries(
                {}, optional={"pid": _pids(), "start_ticks": NUMBERS, "boot_id": ANY_SCALAR}
            )
            | ANY_SCALAR,
            "rollback": st.fixed_dictionaries({}, optional={"complete": ANY_SCALAR}) | ANY_SCALAR,
            "timeline": st.lists(junk, max_size=3) | ANY_SCALAR,
            "ended_at": ANY_SCALAR,
        },
    )
    return st.one_of(journal, journal, journal, junk)


@pytest.fixture(scope="module")
def fake_aws() -> Iterator[None]:
    """IAM calls from forged policy records go to moto, never to an account."""
    keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {name: os.environ.get(name) for name in keys}
    os.environ.update(keys)
    with mock_aws():
        yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _dump(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, default=str)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_journals_end_in_a_clear_outcome(data: st.DataObject, fake_aws: None) -> None:
    signalled: list[int] = []
    real_kill = os.kill

    def kill(pid: int, sig: int) -> None:
        if sig != 0:
            signalled.append(pid)
        real_kill(pid, 0) if sig != 0 else real_kill(pid, sig)  # existence only: never signal anything

    with tempfile.TemporaryDirectory() as folder:
        protected = Path(folder) / "keep.txt"
        protected.write_text("keep")
        document = data.draw(_journals(str(protected)), label="journal")
        path = Path(folder) / "forged.json"
        path.write_text(_dump(document), encoding="utf-8", errors="surrogatepass")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, "kill", kill)
            result = runner.invoke(app, ["rollback", "--journal", str(path)])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code in (0, 2, 3, 4), result.output
        event(f"exit {result.exit_code}")
        assert "Traceback" not in result.output
        if result.exit_code == 2:
            assert re.match(rf"^{re.escape(str(path))}:\d+:\d+: ", result.stderr), result.stderr
        assert protected.read_text() == "keep"
        ours = {os.getpid(), os.getppid(), 1}
        assert not ours & set(signalled), f"signalled {signalled}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(0, 10_000),
    insert=st.binary(min_size=0, max_size=12)
    | st.sampled_from([b"\x00", b"\r\n", b"\xff\xfe", b"9" * 500, b"[" * 5000]),
)
def test_mutated_real_journals_never_traceback(cut: int, insert: bytes) -> None:
    journal = {
        "status": "running",
        "runner": {"pid": 2**22 - 1, "pgid": None, "start_ticks": 1, "boot_id": None},
        "resources": [
            {"kind": "process", "pid": 2**22 - 1, "pgid": 2**22 - 1, "start_ticks": 1, "boot_id": None, "marker": "m"},
            {"kind": "file", "path": f"{tempfile.gettempdir()}/chaos-app-fuzz.log"},
            {"kind": "gateway_faults", "endpoint": "http://127.0.0.1:9", "run": "0123456789ab"},
        ],
        "timeline": [{"event": "start", "at": "2026-11-29T00:00:00+00:00"}],
    }
    raw = json.dumps(journal, indent=2).encode()
    position = cut % (len(raw) + 1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutated.json"
        path.write_bytes(raw[:position] + insert + raw[position:])
        result = runner.invoke(app, ["rollback", "--journal", str(path)])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code in (0, 2, 4), result.output
        if result.exit_code == 2:
            assert re.match(rf"^{re.escape(str(path))}:\d+:\d+: ", result.stderr), result.stderr


@pytest.mark.parametrize("endpoint", ["http://[::1", "http://[zz]:1", "http://127.0.0.1:99999", "http://a b:9"])
def test_a_malformed_gateway_url_is_a_failed_step_not_a_traceback(endpoint: str, tmp_path: Path) -> None:
    path = tmp_path / "j.json"
    resource = {"kind": "gateway_faults", "endpoint": endpoint, "run": "0123456789ab"}
    path.write_text(json.dumps({"status": "running", "resources": [resource]}))
    result = recover(path)
    assert not result.complete
    [step] = result.steps
    assert not step.ok and step.detail
