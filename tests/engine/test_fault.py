"""Faults: what is accepted, and what invalid input is told."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from chaos import Fault, FaultKind
from chaos.engine import botodata


def _error(**fields: object) -> str:
    with pytest.raises(ValidationError) as caught:
        Fault.model_validate(fields)
    return str(caught.value)


def test_every_kind_of_the_design_exists() -> None:
    assert {kind.value for kind in FaultKind} == {
        "unavailable",
        "slow_down",
        "throttle",
        "internal_error",
        "access_denied",
        "connection_error",
        "timeout",
        "latency",
        "lost_response",
    }


def test_defaults_and_normalisation() -> None:
    fault = Fault.model_validate({"kind": "unavailable", "service": "s3", "region": ["us-east-1", "eu-west-1"]})
    assert fault.service == ("s3",)
    assert fault.region == ("us-east-1", "eu-west-1")
    assert fault.probability == 1.0
    assert fault.after == 0.0
    assert fault.for_ is None
    assert fault.end is None


def test_durations_and_the_for_alias() -> None:
    fault = Fault.model_validate({"kind": "latency", "latency": "250ms", "jitter": "50ms", "after": "10s", "for": "2m"})
    assert (fault.latency, fault.jitter, fault.after, fault.for_, fault.end) == (
        0.25,
        0.05,
        10.0,
        120.0,
        130.0,
    )
    assert fault.model_dump(mode="json", by_alias=True)["for"] == "2m"


def test_unknown_kind_lists_the_valid_ones() -> None:
    message = _error(kind="unavailble")
    assert "unknown fault kind 'unavailble'; did you mean 'unavailable'?" in message
    assert "connection_error" in message and "lost_response" in message


def test_probability_outside_zero_to_one() -> None:
    assert "probability 1.5 is outside 0..1" in _error(kind="unavailable", probability=1.5)
    assert "outside 0..1" in _error(kind="unavailable", probability=-0.1)


def test_region_typo_suggests_the_real_region() -> None:
    message = _error(kind="unavailable", region="us-east1")
    assert "'us-east1' is not an AWS region" in message
    assert "did you mean 'us-east-1'?" in message


def test_unknown_service_suggests_the_nearest() -> None:
    assert "did you mean 'dynamodb'?" in _error(kind="unavailable", service="dynamdb")


def test_operation_the_model_does_not_have() -> None:
    message = _error(kind="unavailable", service="s3", operations=["GetObjekt"])
    assert "'GetObjekt' is not an operation of s3" in message
    assert "did you mean 'GetObject'?" in message


def test_buckets_only_for_s3() -> None:
    assert "apply to S3 only" in _error(kind="unavailable", service="dynamodb", buckets=["b"])


def test_latency_needs_a_duration_and_jitter_only_for_latency() -> None:
    assert "needs latency" in _error(kind="latency")
    assert "jitter applies to latency faults only" in _error(kind="unavailable", jitter="1s")
    assert "latency applies to latency, timeout and lost_response faults" in _error(kind="unavailable", latency="1s")


def test_unknown_fields_are_errors() -> None:
    assert "probabilty" in _error(kind="unavailable", probabilty=0.5)


@pytest.mark.parametrize(
    ("text", "problem"), [("-5s", "negative"), ("10 years", "unknown unit"), ("soon", "not a duration")]
)
def test_bad_durations(text: str, problem: str) -> None:
    assert problem in _error(kind="unavailable", after=text)


def test_faults_are_immutable_and_hashable() -> None:
    fault = Fault(kind=FaultKind.UNAVAILABLE)
    with pytest.raises(ValidationError):
        fault.probability = 0.5  # type: ignore[misc]
    assert hash(fault) == hash(Fault(kind=FaultKind.UNAVAILABLE))


def test_label_summarises_the_fault() -> None:
    fault = Fault.model_validate(
        {
            "kind": "slow_down",
            "service": "s3",
            "region": "us-east-1",
            "operations": ["PutObject"],
            "probability": 0.3,
        }
    )
    assert fault.label == "slow_down s3 us-east-1 PutObject p=0.3"
    assert Fault.model_validate({"kind": "timeout", "name": "the big one"}).label == "the big one"


def test_operation_names_are_botocores() -> None:
    """Read from the data files without botocore: for every service the model version botocore's loader
    picks, no sdk-extras file adds operations, and the names are those of botocore's models."""
    import botocore.loaders
    import botocore.session

    loader = botocore.loaders.Loader()
    services = sorted(botodata.known_services())
    assert len(services) > 300
    differ = [s for s in services if botodata.model_version(s) != loader.determine_latest_version(s, "service-2")]
    assert differ == []
    data = Path(botocore.__file__).parent / "data"
    extras = [json.loads(path.read_text()) for path in data.glob("*/*/service-2.sdk-extras.json")]
    assert extras and not [extra for extra in extras if "operations" in extra.get("merge", {})]
    session = botocore.session.get_session()
    for service in ("s3", "dynamodb", "sqs", "ec2", "lambda", "iam", "sts", "rds", "secretsmanager"):
        assert botodata.operation_names(service) == frozenset(session.get_service_model(service).operation_names)
