"""Reports rendered from a real run's journal: Markdown, JUnit XML (parsed by junitparser), JSON, and
HTML rendered in headless Chromium; the journal's ledger of AWS calls per fault; a run whose fault
never fired."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import junitparser
import pytest
from PIL import Image, ImageChops, ImageStat
from typer.testing import CliRunner

import chaos
from chaos.cli import app
from chaos.loading import parse_experiment
from chaos.report import render_report
from tests.report.conftest import Shot, has_colour

OUTAGE = Path(sys.executable).with_name("outage")
EXPERIMENT = """
version: 1
title: short naive outage
app:
  command: [python, -m, chaos.demo, --variant, naive, --port, "{port}"]
  url: http://127.0.0.1:{port}
load:
  rate: 20
  requests:
    - {method: GET, path: "/docs/{id}", weight: 2}
    - {method: PUT, path: "/docs/{id}", body: "doc {id}"}
  ids: 10
phases: {baseline: 1s, recovery: 1s}
faults: [{name: S3 down, kind: unavailable, service: s3, region: us-east-1, for: 3s}]
expect: {availability: 0.9, durability: true}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("report")
    (folder / "exp.yaml").write_text(EXPERIMENT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        [str(OUTAGE), "run", "exp.yaml", "--journal", "journal.json", "--report", "reports"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr  # the naive service is not graceful
    assert "report: reports/report.html" in result.stdout
    return folder / "journal.json", folder / "reports", json.loads((folder / "journal.json").read_text())


def test_run_writes_every_format(run: tuple[Path, Path, dict[str, Any]]) -> None:
    _, reports, journal = run
    assert sorted(path.name for path in reports.iterdir()) == ["junit.xml", "report.html", "report.json", "report.md"]
    with_history = {**journal, "history": []}  # outage run adds the experiment's previous runs (none yet)
    for name, format in (("report.md", "md"), ("junit.xml", "junit"), ("report.json", "json")):
        assert (reports / name).read_text() == render_report(with_history, format)


def test_markdown_summary(run: tuple[Path, Path, dict[str, Any]]) -> None:
    text = (run[1] / "report.md").read_text()
    assert text.startswith("## ❌ NOT GRACEFUL: short naive outage\n")
    assert "| availability | **FAIL** |" in text
    assert "| S3 down (s3 in us-east-1) |" in text
    assert "rollback complete" in text
    assert re.search(r"\| availability \| \*\*FAIL\*\* \| \d+\.\d %", text)
    assert "AWS calls " in text and "failed by faults)" in text and "<summary>What the checks mean</summary>" in text


def test_junit_has_one_case_per_check_with_reasons(run: tuple[Path, Path, dict[str, Any]]) -> None:
    _, reports, journal = run
    xml = junitparser.JUnitXml.fromfile(str(reports / "junit.xml"))
    suites = list(xml) if isinstance(xml, junitparser.JUnitXml) else [xml]
    cases = {case.name: case for suite in suites for case in suite}
    assert set(cases) == {check["name"] for check in journal["checks"]} | {"fired: S3 down"}
    assert cases["fired: S3 down"].is_passed
    for check in journal["checks"]:
        case = cases[check["name"]]
        if check["passed"]:
            assert case.is_passed
        else:
            [failure] = [r for r in case.result if isinstance(r, junitparser.Failure)]
            assert failure.message == check["reason"]


def test_html_is_self_contained(run: tuple[Path, Path, dict[str, Any]]) -> None:
    text = (run[1] / "report.html").read_text()
    assert "<script" not in text
    for reference in ("src=", "href=", "url(", "@import", "<link", "<iframe"):
        assert reference not in text  # nothing is loaded from anywhere: the file is the whole report
    assert "<svg" in text and 'class="fault"' in text and "<polyline" in text and 'class="phase"' in text
    assert "NOT GRACEFUL" in text and "availability" in text
    assert 'class="check-marker"' in text and 'class="fault-lane"' in text
    assert '<details class="experiment"><summary>The experiment as run</summary>' in text
    assert "None" not in text and 'data-kind="never_fired"' not in text


def test_the_journal_records_what_each_fault_met(run: tuple[Path, Path, dict[str, Any]]) -> None:
    journal = run[2]
    ledger = journal["ledger"]
    [fault] = ledger["faults"]
    assert fault["label"] == "S3 down" and fault["scope"] == "s3 in us-east-1" and fault["window"] == [0.0, 3.0]
    assert 0 < fault["fired"] == fault["seen"] <= ledger["fired"] <= ledger["total"]  # every call in scope failed
    assert sum(op["fired"] for op in fault["operations"].values()) == fault["fired"]
    assert {"GetObject", "PutObject"} & set(fault["operations"])
    assert ledger["by_phase"]["faults"] >= fault["seen"] and "events" not in ledger
    page = (run[1] / "report.html").read_text()
    assert f"AWS calls {ledger['total']} ({ledger['fired']} failed by faults)" in page
    for name, counts in fault["operations"].items():
        assert f"{name} {counts['fired']}/{counts['seen']}" in page


def test_html_renders_in_chromium_with_its_chart(run: tuple[Path, Path, dict[str, Any]], tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium package is needed (make test installs it)"
    shot = tmp_path / "shot.png"
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
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1000,1400",
            (run[1] / "report.html").resolve().as_uri(),
        ],
        capture_output=True,
        timeout=90,
        check=True,
    )
    image = Image.open(shot).convert("RGB")
    assert max(ImageStat.Stat(image).stddev) > 10, "the screenshot is blank"
    colours = {colour for _, colour in image.getcolors(maxcolors=1_000_000) or []}

    def near(target: tuple[int, int, int], slack: int = 12) -> bool:
        return any(all(abs(c - t) <= slack for c, t in zip(colour, target, strict=True)) for colour in colours)

    assert near((9, 105, 218)), "the request-rate line is not drawn"  # #0969da
    assert near((250, 233, 234), 6), "no fault window is shaded"  # #cf222e at 10% on white
    assert near((26, 127, 55)), "the verdict or the success line is missing"  # #1a7f37
    assert near((130, 7, 30)), "no failed check is marked on the timeline"  # #82071e


def test_the_experiment_as_run_is_folded(run: tuple[Path, Path, dict[str, Any]], tmp_path: Path, shot: Shot) -> None:
    page = (run[1] / "report.html").read_text()
    folded, unfolded = tmp_path / "folded.html", tmp_path / "unfolded.html"
    folded.write_text(page)
    unfolded.write_text(page.replace('<details class="experiment">', '<details class="experiment" open>'))

    def height(path: Path) -> int:
        image = shot(path, 1000, 9000)
        box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
        assert box is not None
        return box[3]

    assert height(unfolded) - height(folded) > 300  # the JSON is there, a click away (then in a box that scrolls)


NEVER = """
version: 1
title: a fault on a region the application never calls
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
faults: [{name: Mumbai down, kind: unavailable, service: s3, region: ap-south-1, for: 2s}]
expect: {availability: 0.9}
"""


def test_a_run_whose_fault_never_fired_says_so_first(tmp_path: Path, shot: Shot) -> None:
    result = chaos.run_experiment(parse_experiment(NEVER, "never.yaml"), journal_path=tmp_path / "journal.json")
    assert result.status == "passed", result.reason  # graceful, and yet nothing proves the outage happened
    journal = json.loads((tmp_path / "journal.json").read_text())
    [fault] = journal["ledger"]["faults"]
    assert (fault["seen"], fault["fired"], fault["scope"]) == (0, 0, "s3 in ap-south-1")
    assert journal["ledger"]["total"] > 0 and journal["ledger"]["fired"] == 0  # it called us-east-1, not Mumbai
    page = tmp_path / "report.html"
    page.write_text(render_report(journal, "html"))
    text = page.read_text()
    assert text.index('data-kind="never_fired"') < text.index("<h2>Checks</h2>")
    assert "The fault “Mumbai down” never fired: nothing proves this outage happened" in text
    top = shot(page, 1000, 1400).crop((0, 0, 1000, 450))
    assert has_colour(top, (255, 235, 233), 3), "the banner is not at the top of the page"  # #ffebe9
    assert has_colour(top, (207, 34, 46)), "the banner's edge is not drawn"  # #cf222e
    assert render_report(journal, "md").split("\n")[2] == "> [!CAUTION]"


def test_report_command(run: tuple[Path, Path, dict[str, Any]], tmp_path: Path) -> None:
    journal = str(run[0])
    runner = CliRunner()
    result = runner.invoke(app, ["report", journal, "--format", "md"])
    assert result.exit_code == 0 and result.stdout.startswith("## ❌ NOT GRACEFUL")
    out = tmp_path / "r.html"
    assert runner.invoke(app, ["report", journal, "--format", "html", "-o", str(out)]).exit_code == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    bad = runner.invoke(app, ["report", journal, "--format", "pdf"])
    assert bad.exit_code == 2 and "not one of html, md, junit, json" in bad.stderr
    missing = runner.invoke(app, ["report", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "not a readable journal" in missing.stderr
