"""The team's own tests of its fallback, with the chaos-outage pytest plugin."""

from __future__ import annotations

import pytest
from docstore import DocStore

import chaos


@pytest.fixture
def store(chaos_aws: None) -> DocStore:
    store = DocStore()
    store.create_buckets()
    store.save("report.pdf", b"%PDF")
    return store


def test_reads_fall_back_to_eu_west_1_when_us_east_1_is_down(store: DocStore, chaos: chaos.ChaosController) -> None:
    chaos.s3_outage("us-east-1")
    assert store.load("report.pdf") == b"%PDF"
    chaos.assert_fired(service="s3", region="us-east-1", operation="GetObject")


def test_reads_do_not_touch_the_replica_while_the_primary_works(store: DocStore, chaos: chaos.ChaosController) -> None:
    assert store.load("report.pdf") == b"%PDF"
    chaos.assert_not_called(region="eu-west-1")


@pytest.mark.chaos(chaos.s3_outage(["us-east-1", "eu-west-1"]), compress_time=True)
def test_both_regions_down_is_an_error_not_a_hang(store: DocStore) -> None:
    with pytest.raises(RuntimeError, match="both regions"):
        store.load("report.pdf")


@pytest.mark.chaos_matrix("s3_errors", region="us-east-1")
@pytest.mark.chaos(compress_time=True)  # timeouts and backoff take no wall-clock time
def test_every_kind_of_primary_failure_falls_back(store: DocStore, chaos_fault: chaos.Fault) -> None:
    assert store.load("report.pdf") == b"%PDF"
