"""What each report says about a check, a fault and a run, from journals made by hand: units, one sentence
per check, the verdict's word, the banners, the per-phase load, the application's output, IAM and
crashed runs. Every format says the same."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import junitparser
import pytest

from chaos.report import render_report
from chaos.report.explain import description, failure_moments, limit_text, measured_text
from chaos.report.view import Check, ReportView

Journal = Callable[..., dict[str, Any]]

#: Every check the verifier and the IAM run produce.
CHECK_NAMES = (
    "steady_state_before",
    "availability",
    "graceful_errors",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "durability",
    "recovery",
    "retry_amplification",
    "health_honesty",
    "steady_state_after",
    "denial_in_effect",
    "access_restored",
)


def _cases(xml: str) -> dict[str, junitparser.TestCase]:
    parsed = junitparser.JUnitXml.fromstring(xml)
    suites = list(parsed) if isinstance(parsed, junitparser.JUnitXml) else [parsed]
    return {case.name: case for suite in suites for case in suite}


def _check(name: str, measured: Any, limit: Any, reason: str = "", passed: bool = False) -> Check:
    return Check(name, passed, measured, limit, reason)


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_every_check_has_one_sentence_on_what_it_means_and_why(name: str) -> None:
    sentence = description(name)
    assert sentence.endswith(".") and sentence.count(". ") == 0 and ":" in sentence, sentence


@pytest.mark.parametrize(
    ("check", "measured", "limit"),
    [
        (_check("availability", 0.4108, 0.95), "41.1 %", "≥ 95 %"),
        (_check("latency_p99", 0.6512, "2s"), "651 ms", "≤ 2 s"),
        (_check("latency_p95", 2.345, "250ms"), "2.35 s", "≤ 250 ms"),
        (_check("recovery", 2.3, "10s"), "2.3 s", "≤ 10 s"),
        (_check("recovery", 0.0, "10s", passed=True), "0 s: no failure after the faults", "≤ 10 s"),
        (
            _check("recovery", None, "4s", "never recovered within the 6 s recovery phase: requests were still"),
            "never recovered within the 6 s recovery phase",
            "≤ 4 s",
        ),
        (
            _check("recovery", None, "4s", "still failing at the end of the 6s recovery phase"),  # older journals
            "never recovered within the 6 s recovery phase",
            "≤ 4 s",
        ),
        (_check("recovery", None, "4s", "no request was made after the faults: no data"), "no data", "≤ 4 s"),
        (_check("retry_amplification", 0.7612, 4.0), "0.76×", "≤ 4×"),  # noqa: RUF001
        (
            _check("graceful_errors", 177, "only 429, 503 and no hangs"),
            "177 ungraceful answers",
            "only 429, 503 and no hangs",
        ),
        (_check("graceful_errors", 0, "only 503", passed=True), "none", "only 503"),
        (_check("durability", 1, "0 lost"), "1 write lost", "none lost"),
        (
            _check("health_honesty", "24/24 answered, 0 said degraded", "answers, says degraded"),
            "24/24 answered, 0 said degraded",
            "answers every poll, says degraded",
        ),
        (_check("steady_state_after", "1/1 passed", "all probes pass"), "1 of 1 probe passed", "all probes pass"),
        (_check("denial_in_effect", 4.2, 30.0, passed=True), "in effect after 4.2 s", "within 30 s"),
        (_check("denial_in_effect", None, 30.0), "never seen in effect", "within 30 s"),
        (_check("access_restored", None, 30.0), "not restored", "within 30 s"),
        (_check("something_new", None, None), "no data", "—"),
    ],
)
def test_measured_values_and_limits_carry_units(check: Check, measured: str, limit: str) -> None:
    assert (measured_text(check), limit_text(check)) == (measured, limit)


def test_no_format_shows_a_raw_ratio_or_none(journal: Journal) -> None:
    data = journal()
    for format in ("html", "md", "junit"):
        text = render_report(data, format)
        assert "None" not in text and "0.4108" not in text, format
        assert "41.1 %" in text and "≥ 95 %" in text and "never recovered within the 6 s recovery phase" in text
        assert "0.76×" in text and "≤ 4×" in text, format  # noqa: RUF001


def test_a_retry_amplification_below_one_is_explained(journal: Journal) -> None:
    data = journal()
    for format in ("html", "md", "junit"):
        assert "fewer AWS calls per request during the outage than before" in render_report(data, format), format


def test_every_format_describes_each_check(journal: Journal) -> None:
    data = journal()
    for format in ("html", "md", "junit"):
        text = render_report(data, format)
        for check in data["checks"]:
            assert description(check["name"]) in text, (format, check["name"])


def test_the_verdict_word_of_each_status(journal: Journal) -> None:
    words = {"passed": "GRACEFUL", "failed": "NOT GRACEFUL", "unverified": "UNVERIFIED", "aborted": "ABORTED"}
    words |= {"error": "ERROR", "running": "NOT FINISHED"}
    for status, word in words.items():
        data = journal(status=status)
        assert f'class="verdict {status}">{word}<' in render_report(data, "html")
        assert render_report(data, "md").startswith(
            f"## {'✅' if status == 'passed' else '❌' if status == 'failed' else '⚠️'} {word}: "
        )
        assert f'name="verdict" value="{word}"' in render_report(data, "junit")


def test_unverified_iam_run(journal: Journal) -> None:
    reason = "the deny policies were attached for the fault phase and removed, but nothing verified that the denial"
    data = journal(status="unverified", reason=reason, injector="iam", checks=[], ledger=None, load={})
    page = render_report(data, "html")
    assert 'data-kind="unverified"' in page and "UNVERIFIED: the faults were injected and removed" in page
    assert "The IAM injector sees no calls" in page and "nothing verified the faults" in page
    run = _cases(render_report(data, "junit"))["run"]
    assert isinstance(run.result[0], junitparser.Error) and run.result[0].type == "unverified"
    assert "> [!WARNING]" in render_report(data, "md")


def test_iam_checks(journal: Journal) -> None:
    checks = [
        {
            "name": "denial_in_effect",
            "passed": True,
            "measured": 4.2,
            "limit": 30.0,
            "reason": "denial in effect after 4.2 s",
        },
        {
            "name": "access_restored",
            "passed": False,
            "measured": None,
            "limit": 30.0,
            "reason": "still denied 30 s after",
        },
    ]
    data = journal(status="failed", injector="iam", checks=checks, ledger=None)
    page = render_report(data, "html")
    assert "in effect after 4.2 s" in page and "not restored" in page and "within 30 s" in page
    assert description("access_restored") in page
    moments, _ = failure_moments(ReportView.from_journal(data))
    assert [(m.check, m.t) for m in moments] == [("access_restored", 17.0)]  # from the removal of the policies


def test_rolled_back_after_a_crash(journal: Journal) -> None:
    rollback = {
        "complete": True,
        "after_crash": True,
        "steps": [{"step": "stop process group", "pid": 42, "ok": True}],
    }
    data = journal(status="aborted", reason="rolled back after a crash", rollback=rollback, checks=[], ledger=None)
    page = render_report(data, "html")
    assert 'data-kind="after_crash"' in page and "Rolled back after a crash" in page
    assert "done by outage rollback after the runner crashed" in page and "stop process group" in page
    assert "rollback complete, after a crash" in render_report(data, "md")
    assert "Rolled back after a crash" in render_report(data, "junit")


def test_an_incomplete_rollback_and_a_run_that_never_finished(journal: Journal) -> None:
    rollback = {"complete": False, "steps": [{"step": "stop gateway", "ok": False, "error": "still answering"}]}
    page = render_report(journal(rollback=rollback), "html")
    assert 'data-kind="rollback_incomplete"' in page and "FAILED" in page and "error still answering" in page
    running = render_report(journal(status="running", checks=[], rollback={"complete": None, "steps": []}), "html")
    assert 'data-kind="not_finished"' in running and "outage rollback --journal" in running


def test_the_load_per_phase_and_the_application_output(journal: Journal) -> None:
    data = journal()
    page = render_report(data, "html")
    assert re.search(
        r"<td>faults</td><td class=\"num\">160</td><td class=\"num\">64 \(40.0 %\)</td><td>96x 500, 64x 200</td>", page
    )
    assert "<h2>Application output (last lines)</h2>" in page and "upload of 41 failed\nupload of 7 failed" in page
    text = render_report(data, "md")
    assert "| faults | 160 | 64 (40.0 %) | 96x 500, 64x 200 |" in text and "upload of 41 failed" in text


def test_the_faults_and_the_aws_calls_they_met(journal: Journal) -> None:
    data = journal()
    page = render_report(data, "html")
    assert "AWS calls 1002 (168 failed by faults)" in page
    assert "GetObject 150/150" in page and "PutObject 18/18" in page and "s3 in us-east-1, operations PutObject" in page
    assert "AWS calls 1002 (168 failed by faults)" in render_report(data, "md")
    cases = _cases(render_report(data, "junit"))
    assert cases["fired: S3 down"].is_passed and "fired on 150 of 150 calls" in cases["fired: S3 down"].system_out


def test_a_fault_that_never_fired_is_the_first_thing_every_format_says(journal: Journal) -> None:
    data = journal(status="passed", reason="degraded gracefully")
    data["ledger"]["faults"][1].update(seen=0, fired=0, operations={})
    page = render_report(data, "html")
    banner = page.index('data-kind="never_fired"')
    assert banner < page.index("<h2>Checks</h2>")
    assert "The fault “writes down” never fired: nothing proves this outage happened" in page
    assert "made no AWS call in its scope (s3 in us-east-1, operations PutObject)" in page
    assert ": never fired" in page  # its lane on the timeline
    text = render_report(data, "md")
    assert text.index("> [!CAUTION]") < text.index("| check |") and "never fired" in text
    xml = render_report(data, "junit")
    skipped = _cases(xml)["fired: writes down"]
    assert isinstance(skipped.result[0], junitparser.Skipped)
    assert "<system-err>The fault “writes down” never fired" in xml


def test_a_fault_another_fault_always_preempted(journal: Journal) -> None:
    data = journal()
    data["ledger"]["faults"][1].update(seen=18, fired=0, fired_by_other=18)
    page = render_report(data, "html")
    assert "All 18 calls in its scope" in page and "were failed by another fault first" in page


def test_a_journal_of_an_older_version_renders(journal: Journal) -> None:
    data = journal()
    for key in ("ledger", "load", "plan", "experiment"):
        del data[key]
    for check in data["checks"]:
        check.pop("at", None)
    page = render_report(data, "html")
    assert "This journal has no ledger of AWS calls" in page and 'data-kind="never_fired"' not in page
    assert "durability" in page.split("without a moment to mark:")[1]  # no acknowledgement time recorded


@pytest.mark.parametrize(
    "data",
    [
        {"status": "running"},
        {"status": "aborted", "reason": "refused: region eu-west-1 is not allowed", "rollback": {"complete": True}},
        {"status": "error", "checks": [{"name": "availability", "passed": False}], "faults": [{"label": "x"}]},
        {"status": "failed", "timeseries": [{"t": 1, "requests": 2, "extra": "from a later version"}]},
    ],
    ids=["crashed at once", "refused", "errored", "newer timeseries"],
)
def test_any_journal_renders_in_every_format(data: dict[str, Any]) -> None:
    for format in ("html", "md", "junit", "json"):
        assert render_report(data, format)
