"""What a run shows while it runs: the live panel, the plain status lines, and their order."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

import chaos
from chaos.loading import parse_experiment
from chaos.verify.progress import PlainProgress, RichProgress, Snapshot, console_for, render_panel

FAULTS = Snapshot(
    phase="faults",
    elapsed=12.0,
    requests=200,
    failures=10,
    faults_active=2,
    aws_calls=300,
    aws_failed=120,
    active=("unavailable s3 us-east-1", "slow_down s3 us-east-1 PutObject"),
    planned=30.0,
)


def _text(renderable: object, width: int = 120) -> str:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def test_the_panel_names_the_active_faults_the_success_share_and_the_time_left() -> None:
    text = _text(render_panel(FAULTS))
    assert "faults  12.0s elapsed, 18s left of the planned load" in text
    assert "2 active: unavailable s3 us-east-1; slow_down s3 us-east-1 PutObject" in text
    assert "200, 95.0% succeeded, 10 failed" in text
    assert "300 (120 failed by faults)" in text


@pytest.mark.parametrize(
    ("phase", "step"),
    [("verify", "reading back acknowledged writes"), ("rollback", "removing the faults")],
)
def test_after_the_load_the_panel_says_which_step_is_under_way(phase: str, step: str) -> None:
    snapshot = Snapshot(phase, 41.5, 600, 12, 0, 900, 200, planned=40.0)
    text = _text(render_panel(snapshot))
    assert f"{phase}  41.5s elapsed" in text and "left" not in text
    assert step in text
    assert "none active" in text
    named = Snapshot(phase, 41.5, 600, 12, 0, 900, 200, step="reading back 64 writes")
    assert "reading back 64 writes" in _text(render_panel(named))


def test_a_snapshot_from_an_older_caller_still_renders() -> None:
    old = Snapshot("baseline", 1.0, 0, 0, 0, 0, 0)
    assert old.active == () and old.planned is None and old.step == ""
    text = _text(render_panel(old))
    assert "baseline  1.0s elapsed" in text and "0, - succeeded" in text


def test_the_live_panel_shows_the_last_snapshot_and_prints_messages_verbatim() -> None:
    stream = io.StringIO()
    console = Console(file=stream, width=120, force_terminal=True, color_system=None)
    progress = RichProgress(console)
    progress.message("refused: merged with [tool.chaos] limits")
    progress.update(FAULTS)
    progress.close()
    out = stream.getvalue()
    assert "merged with [tool.chaos] limits" in out
    assert "unavailable s3 us-east-1" in out


def test_plain_status_lines_carry_share_faults_and_time_left() -> None:
    stream = io.StringIO()
    PlainProgress(stream).update(FAULTS)
    line = stream.getvalue()
    assert line.count("\n") == 1
    assert "(95.0% ok)" in line and "(unavailable s3 us-east-1; slow_down s3 us-east-1 PutObject)" in line
    assert "18s left" in line


def test_without_a_terminal_lines_are_never_wrapped() -> None:
    stream = io.StringIO()
    console = console_for(stream)
    path = "/very/long/" + "/".join(f"directory-{index}" for index in range(12)) + "/report.html"
    console.print(f"  report {path}  (journal {path})")
    assert stream.getvalue() == f"  report {path}  (journal {path})\n"
    assert console.width != 80


EXPERIMENT = """
version: 1
title: progress
app:
  wsgi: chaos.demo.wsgi:resilient
  url: http://127.0.0.1:{port}
load:
  rate: 20
  requests:
    - {method: GET, path: "/docs/{id}", weight: 2}
    - {method: PUT, path: "/docs/{id}", body: "doc {id}"}
  ids: 10
phases: {baseline: 1s, recovery: 1s}
faults:
  - {kind: unavailable, service: s3, region: us-east-1, for: 2s}
expect:
  durability: true
"""


class Recording:
    """Every message and snapshot, in the order the display would show them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self._lock = threading.Lock()

    def message(self, text: str) -> None:
        if text.endswith("phase: faults"):
            time.sleep(0.6)  # a slow display: no status line of the phase may come before this line
        if text.endswith("phase: verify"):
            time.sleep(0.8)  # a slow step after the load: the display must keep moving meanwhile
        with self._lock:
            self.events.append(("message", text))

    def update(self, snapshot: Snapshot) -> None:
        with self._lock:
            self.events.append(("snapshot", snapshot))

    def close(self) -> None:
        """Nothing."""


def test_a_run_announces_each_phase_before_its_status_and_keeps_ticking_until_rollback(tmp_path: Path) -> None:
    progress = Recording()
    result = chaos.run_experiment(
        parse_experiment(EXPERIMENT, "progress.yaml"), journal_path=tmp_path / "j.json", progress=progress
    )
    assert result.status == "passed", result.reason
    announced: set[str] = set()
    snapshots: list[Snapshot] = []
    for kind, value in progress.events:
        if kind == "message" and "phase: " in str(value):
            announced.add(str(value).rsplit("phase: ", 1)[1])
        elif isinstance(value, Snapshot):
            assert value.phase in announced | {"rollback", "rolled_back"}, f"{value.phase} shown before announced"
            snapshots.append(value)
    after_load = [s for s in snapshots if s.phase == "steady_state_after"]
    assert len(after_load) >= 2 and after_load[-1].elapsed > after_load[0].elapsed  # still moving
    during = [s for s in snapshots if s.phase == "faults" and s.active]
    assert during and during[0].active == ("unavailable s3 us-east-1",)
    assert all(s.planned is not None and 4.0 <= s.planned <= 30.0 for s in snapshots)
    last_message = progress.events[-1]
    assert last_message[0] == "message" and str(last_message[1]).startswith("rollback complete")
