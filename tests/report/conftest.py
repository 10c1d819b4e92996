"""Reports' test helpers: journals made by hand (a small factory) and headless Chromium screenshots."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

Shot = Callable[..., Image.Image]


def make_journal(**fields: Any) -> dict[str, Any]:
    """A journal as a finished gateway run writes it: two overlapping faults, one failed check of each kind."""
    journal: dict[str, Any] = {
        "journal_version": 1,
        "tool": {"name": "chaos-outage", "version": "0.1.0"},
        "status": "failed",
        "reason": "not graceful: availability failed",
        "title": "hand-made",
        "source": "hand.yaml",
        "injector": "gateway",
        "seed": 7,
        "started_at": "2026-01-01T00:00:00.000+00:00",
        "duration": 20.0,
        "experiment": {"version": 1, "title": "hand-made", "description": "A journal made by a test."},
        "plan": {"faults": [{"index": 0, "effect": "calls to s3 in us-east-1 answer 503"}]},
        "faults": [
            {"id": 0, "label": "S3 down", "start": 5.0, "end": 13.0},
            {"id": 1, "label": "writes down", "start": 13.0, "end": 17.0},
        ],
        "timeline": [
            {"event": "phase", "phase": "baseline", "run_t": 2.0},
            {"event": "phase", "phase": "faults", "run_t": 5.0},
            {"event": "phase", "phase": "recovery", "run_t": 17.0},
            {"event": "phase", "phase": "steady_state_after", "run_t": 19.5},
            {"event": "phase", "phase": "verify", "run_t": 19.6},
        ],
        "timeseries": [
            {
                "t": t,
                "requests": 20,
                "successes": 8 if 5 <= t < 13 else 20,
                "graceful": 0,
                "failures": 12 if 6 <= t < 13 else 0,
                "latency_mean": 0.05,
                "latency_max": 2.5 if t == 9 else 0.2,
            }
            for t in range(2, 19)
        ],
        "load": {
            "baseline": {"requests": 60, "successes": 60, "statuses": {"200": 60}},
            "faults": {"requests": 160, "successes": 64, "statuses": {"200": 64, "500": 96}},
        },
        "checks": [
            {"name": "availability", "passed": False, "measured": 0.4108, "limit": 0.95, "reason": "66 of 160"},
            {"name": "latency_p99", "passed": False, "measured": 2.5, "limit": "2s", "reason": "p99 was 2.5 s"},
            {"name": "durability", "passed": False, "measured": 3, "limit": "0 lost", "reason": "3 lost", "at": 7.25},
            {
                "name": "recovery",
                "passed": False,
                "measured": None,
                "limit": "4s",
                "reason": "never recovered within the 6 s recovery phase: requests were still failing when it ended",
                "at": 19.4,
            },
            {"name": "retry_amplification", "passed": True, "measured": 0.76, "limit": 4.0, "reason": "0.76x"},
        ],
        "ledger": {
            "total": 1002,
            "fired": 168,
            "by_phase": {"baseline": 300, "faults": 402, "recovery": 300},
            "counts": [
                {"service": "s3", "region": "us-east-1", "operation": "GetObject", "outcome": "pass", "count": 834},
                {
                    "service": "s3",
                    "region": "us-east-1",
                    "operation": "GetObject",
                    "outcome": "ServiceUnavailable",
                    "count": 168,
                },
            ],
            "resolution": 0.25,
            "faults": [
                {
                    "id": 0,
                    "label": "S3 down",
                    "scope": "s3 in us-east-1",
                    "window": [0, 8],
                    "seen": 150,
                    "fired": 150,
                    "fired_by_other": 0,
                    "operations": {"GetObject": {"seen": 150, "fired": 150}},
                },
                {
                    "id": 1,
                    "label": "writes down",
                    "scope": "s3 in us-east-1, operations PutObject",
                    "window": [8, 12],
                    "seen": 18,
                    "fired": 18,
                    "fired_by_other": 0,
                    "operations": {"PutObject": {"seen": 18, "fired": 18}},
                },
            ],
        },
        "rollback": {
            "complete": True,
            "steps": [
                {"step": "remove faults", "removed": [], "left": 0, "ok": True},
                {"step": "stop application", "pid": 42, "ok": True, "exit_code": 0},
                {"step": "application output (last lines)", "output": "upload of 41 failed\nupload of 7 failed"},
            ],
        },
    }
    journal.update(fields)
    return journal


@pytest.fixture
def journal() -> Callable[..., dict[str, Any]]:
    """The factory :func:`make_journal`."""
    return make_journal


@pytest.fixture
def shot(tmp_path: Path) -> Shot:
    """Render an HTML file in headless Chromium: ``shot(path, width=1000, height=1400)`` -> the screenshot."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium package is needed (.ci/run installs it)"

    def render(page: Path, width: int = 1000, height: int = 1400) -> Image.Image:
        picture = tmp_path / f"{page.stem}-{width}x{height}.png"
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={tmp_path / 'profile'}",
                f"--screenshot={picture}",
                f"--window-size={width},{height}",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            timeout=90,
            check=True,
        )
        return Image.open(picture).convert("RGB")

    return render


def has_colour(image: Image.Image, target: tuple[int, int, int], slack: int = 12) -> bool:
    """Whether some pixel of ``image`` is within ``slack`` of ``target`` in every channel."""
    colours = {colour for _, colour in image.getcolors(maxcolors=4_000_000) or []}
    return any(all(abs(c - t) <= slack for c, t in zip(colour, target, strict=True)) for colour in colours)
