"""The guardrail gate on every path that arms a fault: the Python API, the pytest fixture, runs,
``outage inject`` for a gateway and for IAM (``outage serve`` and the control API: tests/injectors).

Each test puts limits in a project's ``[tool.chaos]`` and shows that the path refuses before
anything is armed, naming the limit.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

import chaos
from chaos.engine.fault import Fault
from chaos.gate import Refused
from chaos.guardrails import Limits
from chaos.injectors.base import Injector
from chaos.injectors.hook import is_patched
from chaos.loading import parse_experiment
from tests.injectors.gateway_helpers import Gateway, start_gateway

OUTAGE = Path(sys.executable).with_name("outage")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose [tool.chaos] allows eu-west-1 only, for at most 1 minute, 2 faults at once."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.chaos]\nregions = ["eu-west-1"]\nmax_duration = "1m"\nmax_concurrent_faults = 2\n'
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    started = start_gateway()
    yield started
    started.stop()


def test_the_python_api_refuses_beyond_the_projects_limits(project: Path, aws: None) -> None:
    with (
        pytest.raises(Refused, match=r"regions: fault 0 \(unavailable s3 us-east-1\) targets us-east-1"),
        chaos.inject(chaos.s3_outage("us-east-1", **{"for": "10s"})),
    ):
        pass
    assert not is_patched()
    with (
        pytest.raises(Refused, match=r"max_duration: fault 0 .* has no 'for' and nothing else ends it"),
        chaos.inject(chaos.s3_outage("eu-west-1")),
    ):
        pass
    with chaos.inject(chaos.s3_outage("eu-west-1", **{"for": "30s"})) as outage:
        s3 = boto3.client("s3", region_name="eu-west-1")
        with pytest.raises(s3.exceptions.ClientError):
            s3.list_buckets()
    assert outage.ledger.fired > 0


def test_a_running_injection_counts_toward_max_concurrent_faults(project: Path, aws: None) -> None:
    two = [
        chaos.s3_outage("eu-west-1", **{"for": "30s"}),
        chaos.s3_outage("eu-west-1", kind="throttle", **{"for": "30s"}),
    ]
    with chaos.inject(*two) as outage:
        with pytest.raises(
            Refused, match=r"max_concurrent_faults: 3 faults would be active at once \(2 armed already\) > 2"
        ):
            outage.arm([chaos.s3_outage("eu-west-1", kind="slow_down", **{"for": "30s"})])
        assert len(outage.faults) == 2


def test_the_pytest_fixture_refuses_beyond_the_projects_limits(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.chaos]\nregions = ["eu-west-1"]\n')
    pytester.makepyfile(
        """
        import pytest

        def test_east(chaos):
            chaos.s3_outage("us-east-1")

        @pytest.mark.chaos(experiment="exp.yaml")
        def test_marker(chaos):
            pass
        """
    )
    pytester.path.joinpath("exp.yaml").write_text(
        "version: 1\ntitle: t\nguardrails: {services: [dynamodb]}\nfaults:\n  - {kind: unavailable, service: s3, region: eu-west-1}\n"
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.chaos: refused by guardrail: services: fault 0 (unavailable s3 eu-west-1) targets s3; allowed: dynamodb*",
            "*refused by guardrail: regions: fault 0 (unavailable s3 us-east-1) targets us-east-1; allowed: eu-west-1*",
        ]
    )


def test_run_experiment_refuses_before_the_application_starts(project: Path) -> None:
    experiment = parse_experiment(
        """
version: 1
title: refused in process
app: {wsgi: "chaos.demo.wsgi:resilient", url: "http://127.0.0.1:{port}"}
load: {rate: 5, requests: [{path: /health}]}
phases: {baseline: 0s, recovery: 0s}
faults:
  - {kind: unavailable, service: s3, region: us-east-1, for: 1s}
"""
    )
    result = chaos.run_experiment(experiment, journal_path=project / "j.json")
    assert (result.status, result.exit_code) == ("aborted", 3)
    assert "regions: fault 0 (unavailable s3 us-east-1) targets us-east-1; allowed: eu-west-1" in result.reason
    assert "pyproject.toml [tool.chaos]" in result.reason
    assert not is_patched()


def test_outage_inject_into_a_gateway_is_refused_before_anything_is_sent(project: Path, gateway: Gateway) -> None:
    cases = [
        (["--fault", "{kind: unavailable, service: s3, region: us-east-1}", "--for", "10s"], "regions: fault 0"),
        (
            ["--fault", "{kind: unavailable, service: s3, region: eu-west-1}", "--for", "2m"],
            "max_duration: held for 2m > 1m",
        ),
        (["--fault", "{kind: unavailable, service: s3, region: eu-west-1}"], "max_duration: fault 0"),
    ]
    for args, message in cases:
        result = subprocess.run(
            [str(OUTAGE), "inject", "--endpoint", gateway.url, *args],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 3, (args, result.stdout + result.stderr)
        assert message in result.stderr and "refused by guardrail" in result.stderr
        assert gateway.control("GET", "/_chaos/faults")[1]["faults"] == []
    assert gateway.ledger()["total"] == 0


def test_outage_inject_gives_gateway_faults_their_own_end(gateway: Gateway, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            str(OUTAGE),
            "inject",
            "--endpoint",
            gateway.url,
            "--fault",
            "{kind: unavailable, service: s3}",
            "--for",
            "30s",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        from tests.conftest import wait_until

        wait_until(lambda: len(gateway.control("GET", "/_chaos/faults")[1]["faults"]) == 1, what="the fault")
        [listed] = gateway.control("GET", "/_chaos/faults")[1]["faults"]
        assert listed["fault"]["for"] == "30s"  # it ends in the gateway even if this command is killed
        assert 0 < listed["ends_in"] <= 30
    finally:
        process.kill()
        process.communicate()


def test_outage_inject_via_iam_is_refused_before_any_aws_call(project: Path) -> None:
    result = subprocess.run(
        [
            str(OUTAGE),
            "inject",
            "--iam-target",
            "role/app",
            "--account",
            "123456789012",
            "--fault",
            "{kind: access_denied, service: s3, region: eu-west-1}",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "max_duration: held for 1h > 1m" in result.stderr
    assert "without --for, IAM faults are held up to 1h" in result.stderr
    assert "iam_create" not in result.stdout


def test_an_injector_cannot_replace_the_gate() -> None:
    with pytest.raises(TypeError, match=r"defines arm\(\): the guardrail gate in Injector.arm is the only way"):

        class Sneaky(Injector):
            name = "sneaky"

            def arm(self, faults: object = None, **kwargs: object) -> list[int]:  # type: ignore[override]
                return []

            def _arm(self, faults: tuple[Fault, ...], limits: Limits) -> list[int]:
                return []

            def remove(self, ids: object = None) -> list[int]:
                return []

            def disarm(self) -> None:
                pass

            @property
            def faults(self) -> tuple[Fault, ...]:
                return ()

            @property
            def armed(self) -> bool:
                return False


def test_nothing_adds_faults_to_an_engine_but_the_gated_injector() -> None:
    offenders = []
    for path in (ROOT / "chaos").rglob("*.py"):
        if path.name in ("base.py", "engine.py") or "engine" in path.parts[-2:-1]:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\.engine\.(add|arm)\(", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "faults armed around the gate:\n" + "\n".join(offenders)


def test_a_nested_project_without_limits_never_hides_its_parents(tmp_path: Path) -> None:
    from chaos.guardrails import limits_for

    (tmp_path / "pyproject.toml").write_text('[tool.chaos]\nregions = ["eu-west-1"]\n')
    package = tmp_path / "packages" / "orders"
    package.mkdir(parents=True)
    (package / "pyproject.toml").write_text('[project]\nname = "orders"\n')
    limits = limits_for(None, project_dir=package)
    assert limits.guardrails.regions == ("eu-west-1",)
    assert limits.sources == (f"{tmp_path / 'pyproject.toml'} [tool.chaos]",)


def test_iam_policies_count_their_propagation_and_expiry_toward_max_duration(tmp_path: Path) -> None:
    from chaos.guardrails import check_guardrails

    experiment = parse_experiment(
        """
version: 1
title: long exposure
injector: iam
phases: {baseline: 0s, recovery: 0s}
faults:
  - {kind: access_denied, service: s3, region: us-east-1, for: 30s}
iam: {targets: [{role: app}], propagation: 40s, expiry_margin: 2h}
guardrails: {accounts: ["123456789012"], max_duration: 1m}
"""
    )
    check = check_guardrails(experiment, tmp_path)
    assert [violation.limit for violation in check.violations] == ["max_duration"]
    message = str(check.violations[0])
    assert "the deny policies could be in force for 7270s (propagation 40s + 30s + expiry margin 2h" in message


def test_outage_inject_counts_what_the_gateway_has_armed(project: Path, gateway: Gateway) -> None:
    gateway.arm({"kind": "unavailable", "service": "s3", "region": "eu-west-1", "for": "30s"})
    gateway.arm({"kind": "throttle", "service": "s3", "region": "eu-west-1", "for": "30s"})
    result = subprocess.run(
        [
            str(OUTAGE),
            "inject",
            "--endpoint",
            gateway.url,
            "--fault",
            "{kind: slow_down, service: s3, region: eu-west-1}",
            "--for",
            "10s",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "max_concurrent_faults: 3 faults would be active at once (2 armed already) > 2" in result.stderr
    assert len(gateway.control("GET", "/_chaos/faults")[1]["faults"]) == 2


def test_max_concurrent_faults_counts_every_injection_of_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws: None
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.chaos]\nmax_concurrent_faults = 1\n")
    monkeypatch.chdir(tmp_path)
    session = boto3.Session(region_name="us-east-1")
    with chaos.inject(chaos.s3_outage("us-east-1")):
        with (
            pytest.raises(
                Refused, match=r"max_concurrent_faults: 2 faults would be active at once \(1 armed already\)"
            ),
            chaos.inject(chaos.s3_outage("eu-west-1")),
        ):
            pass
        with (
            pytest.raises(Refused, match="max_concurrent_faults"),
            chaos.inject(chaos.s3_outage("eu-west-1"), session=session),
        ):
            pass
    assert not is_patched()


def test_the_pytest_fixture_reads_the_limits_of_the_project_under_test(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.chaos]\nregions = ["eu-west-1"]\n')
    (project / "tests" / "test_east.py").write_text("def test_east(chaos):\n    chaos.s3_outage('us-east-1')\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(  # pytest run from another directory, the project's tests named as its argument
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(project / "tests")],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "refused by guardrail: regions: fault 0 (unavailable s3 us-east-1)" in result.stdout
