"""``outage audit -- COMMAND``: the demo variants, Python subprocesses, the environment's own sitecustomize,
services stopped after a while, and programs that answer the same with and without the audit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.audit import AuditReport, audit
from chaos.audit.command import BOOT_DIRECTORY, audit_environment, read_records

PROGRAMS = Path(__file__).resolve().parent / "programs"
ROOT = Path(__file__).resolve().parents[2]
DEMO = [sys.executable, "-m", "chaos.demo.drive", "--variant"]


def _plain(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def naive() -> AuditReport:
    code, report = audit([*DEMO, "naive"], stdout=subprocess.DEVNULL)
    assert code == 0
    return report


def test_the_naive_demo_is_flagged_single_region(naive: AuditReport) -> None:
    report = naive
    [finding] = report.findings_of("single_region")
    assert (finding.service, finding.region) == ("s3", "us-east-1")
    assert "every S3 call went to us-east-1 on bucket chaos-demo-primary" in finding.message
    assert "GetObject 3" in finding.message and "PutObject 3" in finding.message
    assert "no other region seen" in finding.message
    assert any(place.startswith("chaos/demo/store.py:") for place in finding.where)
    kinds = {f.kind for f in report.findings}
    assert {"global_endpoint", "no_timeout"} <= kinds  # s3.amazonaws.com, and botocore's 60 s default


def test_the_resilient_demo_is_not_single_region() -> None:
    code, report = audit([*DEMO, "resilient"], stdout=subprocess.DEVNULL)
    assert code == 0
    assert report.findings_of("single_region") == []
    regions = {(d.region, d.resource) for d in report.dependencies if d.service == "s3"}
    assert regions == {("us-east-1", "chaos-demo-primary"), ("eu-west-1", "chaos-demo-replica")}
    assert report.findings_of("no_timeout") == []  # its clients set 2 s read timeouts


def test_the_audit_changes_no_answer(tmp_path: Path) -> None:
    plain = _plain([*DEMO, "naive"])
    with_audit = _plain([*DEMO, "naive"], env=audit_environment(tmp_path, os.environ))
    assert plain.returncode == with_audit.returncode == 0
    assert plain.stdout == with_audit.stdout
    assert plain.stdout.count("200 OK") == 7
    [record] = read_records(tmp_path)  # it was audited: the same answers, and every call counted
    assert record.error is None and record.calls >= 7


def test_calls_of_a_python_subprocess_are_seen() -> None:
    code, report = audit([sys.executable, str(PROGRAMS / "with_child.py")], stdout=subprocess.DEVNULL)
    assert code == 0
    assert len([p for p in report.processes if p.calls]) == 2
    places = {(d.service, d.region, d.resource) for d in report.dependencies}
    assert ("s3", "eu-west-1", "parent-bucket") in places
    assert ("dynamodb", "ap-south-1", "orders") in places
    child = next(d for d in report.dependencies if d.service == "dynamodb")
    assert child.operations == {"CreateTable": 1, "PutItem": 1, "GetItem": 1}
    assert child.first_call is not None and child.first_call.file.endswith("with_child.py")


def test_the_environments_own_sitecustomize_still_runs(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    marker = tmp_path / "marker"
    (theirs / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\nVALUE = 42\n")
    program = "import sitecustomize; print(sitecustomize.VALUE)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(theirs), os.environ.get("PYTHONPATH", "")])}
    code, _ = audit([sys.executable, "-c", program], stdout=subprocess.DEVNULL, environ=env)
    assert code == 0 and marker.read_text() == "ran"
    assert audit_environment(tmp_path, env)["PYTHONPATH"].split(os.pathsep)[:2] == [str(BOOT_DIRECTORY), str(theirs)]
    result = _plain([sys.executable, "-c", program], env=audit_environment(tmp_path, env))
    assert result.stdout.strip() == "42", result.stderr


def test_a_process_that_never_loads_botocore_pays_nothing_and_writes_nothing() -> None:
    code, report = audit([sys.executable, "-c", "import sys; sys.exit('botocore' in sys.modules and 9 or 3)"])
    assert code == 3  # the command's own exit code; botocore was not imported by the audit
    assert report.processes == () and report.dependencies == ()
    assert "no Python process reported" in report.notes[0]


def test_a_service_is_stopped_after_its_duration_and_still_reports() -> None:
    code, report = audit([sys.executable, str(PROGRAMS / "service.py")], duration=3.0, stdout=subprocess.DEVNULL)
    assert code == 0  # it caught the SIGINT and ended cleanly
    [bucket] = [d for d in report.dependencies if d.resource == "service-bucket"]
    assert (
        bucket.region == "us-west-2" and bucket.operations["CreateBucket"] == 1 and bucket.operations["HeadBucket"] >= 3
    )


def test_a_missing_command_is_a_clear_error() -> None:
    from chaos.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot run 'no-such-program-here'"):
        audit(["no-such-program-here"])
