"""A run's report shows the experiment's previous runs: verdicts and a small availability trend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

OUTAGE = Path(sys.executable).with_name("outage")
EXPERIMENT = """
version: 1
title: trend {variant}
app: {{wsgi: "chaos.demo.wsgi:{variant}", url: "http://127.0.0.1:{{port}}"}}
load: {{rate: 20, requests: [{{method: GET, path: "/docs/{{id}}"}}, {{method: PUT, path: "/docs/{{id}}", body: "d"}}], ids: 10}}
phases: {{baseline: 0.3s, recovery: 0.5s}}
faults:
  - {{kind: unavailable, service: s3, region: us-east-1, for: 1s}}
expect: {{availability: 0.9}}
"""


def test_the_report_shows_the_previous_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for variant in ("resilient", "naive"):  # the same title twice: a graceful run, then a regression
        (tmp_path / "exp.yaml").write_text(EXPERIMENT.format(variant=variant).replace(f"trend {variant}", "trend"))
        subprocess.run(
            [str(OUTAGE), "run", "exp.yaml", "--db", "h.db", "--report", f"rep-{variant}"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    html = (tmp_path / "rep-naive" / "report.html").read_text()
    assert "This experiment over time" in html
    assert html.index('<li class="chip passed"') < html.index('<li class="chip failed"')  # oldest first
    assert '<svg class="trend"' in html
    markdown = (tmp_path / "rep-naive" / "report.md").read_text()
    assert "Previous runs, oldest first, then this one: GRACEFUL (" in markdown and "NOT GRACEFUL (" in markdown
    data = json.loads((tmp_path / "rep-naive" / "report.json").read_text())
    assert [run["status"] for run in data["history"]] == ["passed"]
