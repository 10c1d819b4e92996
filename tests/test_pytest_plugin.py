"""The pytest plugin, exercised the way users meet it: with pytester, in real test runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HEADER = """
import boto3, pytest
from botocore.config import Config
from botocore.exceptions import ClientError
import chaos as chaos_api

ONE = Config(retries={"mode": "standard", "total_max_attempts": 1})
"""


def test_fixture_passing_and_failing_tests_and_clean_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
from chaos.injectors.hook import is_patched
import botocore.endpoint

ORIGINAL = botocore.endpoint.Endpoint._do_get_response

def test_outage_seen(chaos, chaos_aws):
    s3 = boto3.client("s3", region_name="us-east-1", config=ONE)
    chaos.s3_outage("us-east-1")
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        s3.list_buckets()
    chaos.assert_fired(service="s3", region="us-east-1", operation="ListBuckets", times=1)

def test_fails_inside_an_outage(chaos, chaos_aws):
    chaos.s3_outage("us-east-1")
    boto3.client("s3", region_name="us-east-1", config=ONE).list_buckets()

def test_nothing_left_behind():
    assert not is_patched()
    assert botocore.endpoint.Endpoint._do_get_response is ORIGINAL
    client = boto3.client("s3", region_name="us-east-1")
    assert not [h for h in client.meta.events._emitter._handlers.prefix_search("before-send.s3.ListBuckets") if "chaos" in repr(h)]
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_fails_inside_an_outage*", "*ServiceUnavailable*"])


def test_assertions_say_what_was_seen_instead(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
def test_fired_but_not_there(chaos, chaos_aws):
    chaos.s3_outage("us-east-1")
    boto3.client("s3", region_name="eu-west-1", config=ONE).list_buckets()
    chaos.assert_fired(region="us-east-1")

def test_called_where_it_should_not(chaos, chaos_aws):
    boto3.client("sqs", region_name="us-east-1", config=ONE).list_queues()
    chaos.assert_not_called(region="us-east-1")

def test_calls_and_fired(chaos, chaos_aws):
    with chaos.s3_outage("eu-west-1"):
        with pytest.raises(ClientError):
            boto3.client("s3", region_name="eu-west-1", config=ONE).list_buckets()
    boto3.client("s3", region_name="eu-west-1", config=ONE).list_buckets()  # the with block removed it
    assert [e.outcome for e in chaos.calls(service="s3")] == ["ServiceUnavailable", "pass"]
    assert len(chaos.fired) == 1
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*expected a fault to fire on any service in us-east-1, but none did; seen: 1x s3.ListBuckets in eu-west-1 (pass)*",
            "*expected no call to any service in us-east-1, saw 1: 1x sqs.ListQueues in us-east-1 (pass)*",
        ]
    )


def test_marker_with_faults_an_experiment_or_one_named_fault(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        replay="""
version: 1
title: replay
seed: 7
faults:
  - {name: all down, kind: unavailable, service: s3, region: us-east-1, for: 1h}
  - {name: writes down, kind: slow_down, service: s3, region: us-east-1, operations: [PutObject], after: 1h, for: 1h}
""",
    )
    pytester.makepyfile(
        HEADER
        + """
@pytest.mark.chaos(chaos_api.region_outage("eu-west-1"))
def test_marker_faults(chaos_aws):
    with pytest.raises(Exception, match="Could not connect"):
        boto3.client("dynamodb", region_name="eu-west-1", config=ONE).list_tables()

@pytest.mark.chaos(experiment="replay.yaml")
def test_whole_timeline(chaos_aws, chaos):
    s3 = boto3.client("s3", region_name="us-east-1", config=ONE)
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        s3.list_buckets()
    assert chaos.seed == 7

@pytest.mark.chaos(experiment="replay.yaml", fault="writes down")
def test_one_named_fault_for_the_whole_test(chaos_aws):
    s3 = boto3.client("s3", region_name="us-east-1", config=ONE)
    s3.create_bucket(Bucket="bucket-b")
    with pytest.raises(ClientError, match="SlowDown"):
        s3.put_object(Bucket="bucket-b", Key="k", Body=b"x")
"""
    )
    pytester.runpytest().assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("@pytest.mark.chaos(experment='x.yaml')", "unknown argument 'experment'; did you mean 'experiment'?"),
        ("@pytest.mark.chaos(experiment='missing.yaml')", "missing.yaml*cannot read the file"),
        ("@pytest.mark.chaos_matrix(regoin='eu-west-1')", "unknown argument 'regoin'; did you mean 'region'?"),
    ],
)
def test_a_misspelled_marker_argument_is_a_clear_error(pytester: pytest.Pytester, marker: str, message: str) -> None:
    pytester.makepyfile(f"import pytest\n\n{marker}\ndef test_it():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret != 0
    assert re.search(
        message.replace("*", ".*").replace("(", r"\(").replace(")", r"\)").replace("?", r"\?"),
        result.stdout.str() + result.stderr.str(),
    )


def test_clients_created_before_and_several_sessions(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
@pytest.fixture
def early_client(chaos_aws):
    return boto3.client("sqs", region_name="us-east-1", config=ONE)

def test_early_client_is_covered(early_client, chaos):
    chaos.inject(chaos_api.Fault(kind="throttle", service="sqs"))
    with pytest.raises(ClientError, match="RequestThrottled"):
        early_client.list_queues()

def test_one_session_of_two(chaos_aws, chaos):
    scoped, other = boto3.Session(region_name="us-east-1"), boto3.Session(region_name="us-east-1")
    chaos.s3_outage("us-east-1", session=scoped)
    with pytest.raises(ClientError):
        scoped.client("s3", config=ONE).list_buckets()
    other.client("s3", config=ONE).list_buckets()
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_matrix_runs_once_per_fault_with_ids_that_name_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
@pytest.mark.chaos_matrix("s3_errors", region="eu-west-1")
@pytest.mark.chaos(compress_time=True)
def test_each_error(chaos_aws, chaos_fault, chaos):
    with pytest.raises(Exception):
        boto3.client("s3", region_name="eu-west-1", config=Config(retries={"total_max_attempts": 1}, read_timeout=1)).list_buckets()
    chaos.assert_fired(region="eu-west-1")
    assert chaos_fault.region == ("eu-west-1",)

@pytest.mark.chaos_matrix(faults=[chaos_api.Fault(kind="throttle", service="dynamodb", name="ddb throttled")])
def test_explicit(chaos_aws):
    with pytest.raises(ClientError, match="Throttling"):
        boto3.client("dynamodb", region_name="us-east-1", config=ONE).list_tables()
"""
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(
        [
            "*test_each_error[[]unavailable-s3-eu-west-1[]] PASSED*",
            "*test_each_error[[]timeout-s3-eu-west-1[]] PASSED*",
            "*test_explicit[[]ddb-throttled[]] PASSED*",
        ]
    )


def test_marker_and_matrix_faults_apply_to_the_test_body_only(pytester: pytest.Pytester) -> None:
    # The suite's own fixtures make buckets before or after `chaos` in the signature and remove
    # them at teardown: setup and teardown run outside the outage, the body inside it.
    pytester.makepyfile(
        HEADER
        + """
@pytest.fixture
def buckets(chaos_aws):
    s3 = boto3.client("s3", region_name="us-east-1", config=ONE)
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="k", Body=b"x")
    yield s3
    s3.delete_object(Bucket="data", Key="k")
    s3.delete_bucket(Bucket="data")
    print("CLEANED UP")

def inside_the_outage(chaos, s3):
    with pytest.raises(Exception):
        s3.get_object(Bucket="data", Key="k")
    chaos.assert_fired(service="s3", times=1)  # the body's call; the fixtures' calls passed

@pytest.mark.chaos_matrix("s3_errors")
def test_matrix_chaos_first(chaos, buckets, chaos_fault):
    inside_the_outage(chaos, buckets)

@pytest.mark.chaos_matrix("s3_errors")
def test_matrix_chaos_last(buckets, chaos_fault, chaos):
    inside_the_outage(chaos, buckets)

@pytest.mark.chaos(chaos_api.s3_outage("us-east-1"))
def test_marker_chaos_first(chaos, buckets):
    inside_the_outage(chaos, buckets)

@pytest.mark.chaos(chaos_api.s3_outage("us-east-1", kind="slow_down"))
def test_marker_chaos_last(buckets, chaos):
    inside_the_outage(chaos, buckets)

@pytest.mark.chaos(chaos_api.s3_outage("us-east-1"))
def test_marker_without_the_fixture(buckets):
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        buckets.get_object(Bucket="data", Key="k")

def test_the_body_arms_its_own(chaos, buckets):
    chaos.s3_outage("us-east-1")  # until the end of the body: the teardown of buckets runs after it
    inside_the_outage(chaos, buckets)
"""
    )
    result = pytester.runpytest("-v", "-s", "--chaos-compress-time", "-p", "no:randomly")
    result.assert_outcomes(passed=18)
    result.stdout.fnmatch_lines(
        [
            "*test_matrix_chaos_first[[]unavailable-s3-us-east-1[]] PASSEDCLEANED UP",
            "*test_matrix_chaos_first[[]timeout-s3-us-east-1[]] PASSEDCLEANED UP",
            "*test_matrix_chaos_last[[]access_denied-s3-us-east-1[]] PASSEDCLEANED UP",
            "*test_marker_chaos_first PASSEDCLEANED UP",
            "*test_the_body_arms_its_own PASSEDCLEANED UP",
        ]
    )


def test_marker_faults_beyond_the_guardrails_with_a_fixtures_fault_fail_the_test(pytester: pytest.Pytester) -> None:
    # Checked at setup (nothing armed then), the marker's fault is refused when the body begins:
    # a fixture armed one already and the project allows one at a time. Its teardown still runs.
    pytester.makepyprojecttoml("[tool.chaos]\nmax_concurrent_faults = 1\n")
    pytester.makepyfile(
        HEADER
        + """
@pytest.fixture
def throttled_sqs(chaos):
    chaos.inject(chaos_api.Fault(kind="throttle", service="sqs"))

@pytest.mark.chaos(chaos_api.s3_outage("us-east-1"))
def test_two_at_once(chaos, throttled_sqs):
    raise AssertionError("the body must not run")
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.chaos: refused by guardrail: max_concurrent_faults: 2 faults would be active at once*"]
    )
    assert "the body must not run" not in result.stdout.str()


def test_a_session_scoped_fault_is_counted_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
SCOPED = boto3.Session(region_name="us-east-1")

def test_from_the_body(chaos, chaos_aws):
    scoped = boto3.Session(region_name="us-east-1")
    chaos.s3_outage("us-east-1", session=scoped)
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        scoped.client("s3", config=ONE).list_buckets()
    boto3.client("s3", region_name="us-east-1", config=ONE).list_buckets()  # another session's
    chaos.assert_fired(times=1)
    assert [e.outcome for e in chaos.calls()] == ["ServiceUnavailable", "pass"]
    assert "2 AWS calls, faults fired on 1;" in chaos.summary()

@pytest.mark.chaos(chaos_api.s3_outage("us-east-1"), session=SCOPED)
def test_from_the_marker(chaos, chaos_aws):
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        SCOPED.client("s3", config=ONE).list_buckets()
    chaos.assert_fired(service="s3", times=1)
    assert len(chaos.calls()) == 1
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_compressed_time_keeps_attempts_and_takes_no_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
from chaos.injectors import timewarp
LEGACY = Config(retries={"mode": "legacy", "total_max_attempts": 5})

def test_legacy_five_attempts(chaos, chaos_aws):
    assert timewarp.is_compressed()
    chaos.s3_outage("us-east-1")
    with pytest.raises(ClientError):
        boto3.client("s3", region_name="us-east-1", config=LEGACY).list_buckets()
    assert len(chaos.calls(service="s3")) == 5
    assert [e.attempt for e in chaos.calls()] == [1, 2, 3, 4, 5]
    assert timewarp.skipped_seconds() > 0  # botocore's four backoff sleeps were skipped, not slept
"""
    )
    pytester.runpytest("--chaos-compress-time").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\nchaos_compress_time = true\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_seed_option_makes_probability_faults_reproducible(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
def test_record(chaos, chaos_aws, tmp_path_factory):
    chaos.s3_outage("us-east-1", probability=0.5)
    s3 = boto3.client("s3", region_name="us-east-1", config=ONE)
    outcomes = []
    for _ in range(40):
        try:
            s3.list_buckets()
            outcomes.append("ok")
        except ClientError:
            outcomes.append("down")
    print("OUTCOMES", "".join(o[0] for o in outcomes), "SEED", chaos.seed)
"""
    )
    runs = [pytester.runpytest("-s", "--chaos-seed", "99").stdout.str() for _ in range(2)]
    outcomes = [re.search(r"OUTCOMES (\w+) SEED 99", run).group(1) for run in runs]  # type: ignore[union-attr]
    assert outcomes[0] == outcomes[1] and "o" in outcomes[0] and "d" in outcomes[0]
    pytester.makeini("[pytest]\nchaos_seed = 99\n")
    assert re.search(r"OUTCOMES (\w+) SEED 99", pytester.runpytest("-s").stdout.str()).group(1) == outcomes[0]  # type: ignore[union-attr]


def test_xdist_workers_keep_their_faults_to_themselves(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
import os, time

@pytest.mark.parametrize("n", range(4))
def test_with_outage(chaos, chaos_aws, n):
    chaos.s3_outage("us-east-1")
    time.sleep(0.2)
    with pytest.raises(ClientError):
        boto3.client("s3", region_name="us-east-1", config=ONE).list_buckets()

@pytest.mark.parametrize("n", range(4))
def test_without(chaos_aws, n):
    time.sleep(0.2)
    boto3.client("s3", region_name="us-east-1", config=ONE).list_buckets()
"""
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=8)


def test_the_example_application_and_its_tests(pytester: pytest.Pytester) -> None:
    for path in (ROOT / "docs" / "examples" / "fallback").glob("*.py"):
        shutil.copy(path, pytester.path / path.name)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines(["*test_every_kind_of_primary_failure_falls_back[[]timeout-s3-us-east-1[]] PASSED*"])


def test_import_chaos_does_not_import_pytest() -> None:
    import subprocess
    import sys

    code = "import sys, chaos, chaos.controller; print('pytest' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def _doc_examples() -> list[str]:
    text = (ROOT / "docs" / "pytest.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    return [block for block in blocks if "def test_" in block]


def test_the_manual_page_examples_run(pytester: pytest.Pytester) -> None:
    examples = _doc_examples()
    assert len(examples) >= 3
    for index, source in enumerate(examples):
        pytester.makepyfile(**{f"test_doc_example_{index}": source})
    expected = sum(block.count("\ndef test_") for block in examples)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=expected + 6)  # the matrix example runs once per S3 error kind (7)


@pytest.mark.parametrize(
    ("marker", "collected"),
    [("chaos(experiment='huge.yaml')", True), ("chaos_matrix(experiment='huge.yaml')", False)],
)
def test_an_invalid_experiment_file_is_a_clean_error_without_a_traceback(
    pytester: pytest.Pytester, marker: str, collected: bool
) -> None:
    # A 5,000-digit seed once escaped as a ValueError traceback from deep inside the YAML loader.
    pytester.makefile(".yaml", huge="version: 1\ntitle: t\nseed: " + "1" * 5000 + "\nfaults: [{kind: unavailable}]\n")
    pytester.makepyfile(f"import pytest\n\n@pytest.mark.{marker}\ndef test_it(chaos_fault=None):\n    pass\n")
    result = pytester.runpytest()
    output = result.stdout.str() + result.stderr.str()
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        [
            f"@pytest.mark.{marker}:",
            "huge.yaml:3:7: this number is 5,000 characters long: integers in experiment files*",
        ]
    )
    assert "Traceback" not in output and "pytest_plugin.py" not in output and "During handling" not in output
    if collected:
        result.assert_outcomes(errors=1)
