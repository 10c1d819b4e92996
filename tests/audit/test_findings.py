"""Findings from observations: each kind, when it is raised, when not, and the evidence it gives."""

from __future__ import annotations

from typing import Any

from chaos.audit import analyse, render_text
from chaos.audit.observe import ClientSettings, Observation, Site

SAFE = ClientSettings(2, 1, "standard", 3)


def obs(
    service: str = "s3",
    region: str = "us-east-1",
    operation: str = "GetObject",
    resource: str | None = "data",
    calls: int = 1,
    settings: ClientSettings | None = SAFE,
    monitoring: Site | None = None,
    endpoint: str = "",
    global_endpoint: bool = False,
    line: int = 10,
) -> Observation:
    kind = None if resource is None else ("bucket" if service == "s3" else "table")
    site = Site("app/store.py", line, "Store.read")
    return Observation(
        service,
        region,
        operation,
        kind,
        resource,
        endpoint,
        global_endpoint,
        settings,
        monitoring,
        calls,
        0,
        line,
        site,
    )


def kinds(*observations: Observation) -> list[tuple[str, str, Any]]:
    return [(f.kind, f.service, f.region) for f in analyse(observations, source="test").findings]


def test_every_call_of_a_service_in_one_region_is_single_region() -> None:
    report = analyse([obs(calls=30), obs(operation="PutObject", calls=10)], source="test")
    [finding] = report.findings
    assert (finding.kind, finding.service, finding.region, finding.calls) == ("single_region", "s3", "us-east-1", 40)
    assert finding.message == (
        "every S3 call went to us-east-1 on bucket data: 30 reads (GetObject 30); "
        "10 writes and other calls (PutObject 10); no other region seen"
    )
    assert finding.where == ("app/store.py:10 in Store.read",)


def test_a_second_region_is_enough_and_each_service_is_judged_alone() -> None:
    assert kinds(obs(), obs(region="eu-west-1", resource="replica")) == []
    assert kinds(obs(), obs(region="eu-west-1"), obs(service="dynamodb", resource="t")) == [
        ("single_region", "dynamodb", "us-east-1")
    ]


def test_global_endpoints() -> None:
    found = analyse(
        [
            obs(
                service="iam",
                region="aws-global",
                operation="ListRoles",
                resource=None,
                global_endpoint=True,
                endpoint="iam.amazonaws.com",
            ),
            obs(region="eu-west-1", endpoint="s3.eu-west-1.amazonaws.com"),
            obs(region="eu-central-1", endpoint="s3.eu-central-1.amazonaws.com"),
        ],
        source="test",
    ).findings
    [finding] = found
    assert (finding.kind, finding.service, finding.region) == ("global_endpoint", "iam", "us-east-1")
    assert finding.message.startswith("1 IAM calls went to iam.amazonaws.com, served from us-east-1 only")


def test_default_timeouts_and_legacy_retries_are_findings_only_where_the_config_shows_them() -> None:
    default = ClientSettings(60, 60, "standard", None)
    legacy = ClientSettings(5, 2, "legacy", 5)
    found = kinds(
        obs(settings=default), obs(region="eu-west-1", settings=legacy), obs(region="ap-south-1", settings=None)
    )
    assert found == [("no_timeout", "s3", "us-east-1"), ("no_retry_budget", "s3", "eu-west-1")]
    [timeout] = analyse([obs(settings=default)], source="t").findings_of("no_timeout")
    assert "read 60 s / connect 60 s" in timeout.message


def test_monitoring_that_calls_the_data_paths_service_and_region_shares_its_fate() -> None:
    health = Site("app/web.py", 40, "health")
    report = analyse(
        [obs(calls=20), obs(operation="HeadBucket", monitoring=health, line=41), obs(region="eu-west-1")],
        source="test",
    )
    [finding] = report.findings_of("monitoring_shares_fate")
    assert (finding.service, finding.region, finding.calls) == ("s3", "us-east-1", 1)
    assert "monitoring code (app/web.py:40 in health)" in finding.message
    assert "where the data path makes 20" in finding.message
    # monitoring alone in a region (its own metrics store) is not shared fate
    assert (
        analyse([obs(monitoring=health), obs(region="eu-west-1")], source="t").findings_of("monitoring_shares_fate")
        == []
    )


def test_the_text_report_lists_dependencies_and_findings_with_evidence() -> None:
    text = render_text(analyse([obs(calls=3, endpoint="s3.amazonaws.com", global_endpoint=True)], source="app"))
    assert "Audit of app" in text
    assert "bucket data" in text and "GetObject 3" in text
    assert "endpoint s3.amazonaws.com (global, served from us-east-1)" in text
    assert "first call app/store.py:10 in Store.read" in text
    assert "single_region: s3 us-east-1" in text and "global_endpoint: s3 us-east-1" in text


def test_json_has_dependencies_and_findings() -> None:
    data = analyse([obs()], source="app").to_dict()
    assert data["dependencies"][0]["resource"] == "data"
    assert data["findings"][0]["kind"] == "single_region"
    assert {"service", "region", "message", "calls", "where"} <= set(data["findings"][0])
