"""What the pytest plugin costs, and what compressed time saves, measured in one run.

1. 200 tests of 10 S3 calls each under the ``chaos`` fixture with a fault armed that matches
   nothing, against the same tests with plain ``mock_aws``: ratio of wall times of the two pytest
   runs of each round (target <= 1.05).
2. One test against a 503 outage with legacy retries (5 attempts with backoff), with compressed
   time against without: how many times faster (target >= 20x).

Whole processes, interleaved in rotating order over ROUNDS rounds; ratios per round.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import figure, finish, interleave, ratios, setup

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))

PLAIN = """
import boto3, pytest
from moto import mock_aws

@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x"); monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="bench-bucket")
        yield client

@pytest.mark.parametrize("n", range(200))
def test_calls(s3, n):
    for i in range(5):
        s3.put_object(Bucket="bench-bucket", Key=f"k{i}", Body=b"x")
        s3.get_object(Bucket="bench-bucket", Key=f"k{i}")
"""
UNDER_CHAOS = PLAIN.replace("def test_calls(s3, n):", 'def test_calls(s3, n, chaos):\n    chaos.s3_outage("eu-west-1")')
LEGACY = """
import time, boto3, pytest
from botocore.config import Config
from botocore.exceptions import ClientError

def test_outage_with_legacy_retries(chaos, chaos_aws):
    chaos.s3_outage("us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1", config=Config(retries={"mode": "legacy", "total_max_attempts": 5}))
    started = time.perf_counter()
    with pytest.raises(ClientError):
        s3.list_buckets()
    assert len(chaos.calls()) == 5
    print(f"ELAPSED {time.perf_counter() - started:.6f}")
"""


def _pytest(folder: Path, name: str, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", name, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-3000:])
    return elapsed, result.stdout


def _elapsed(output: str) -> float:
    found = re.search(r"ELAPSED (\S+)", output)
    assert found is not None, output[-2000:]
    return float(found.group(1))


def main() -> int:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "test_plain.py").write_text(PLAIN)
        (folder / "test_chaos.py").write_text(UNDER_CHAOS)
        (folder / "test_legacy.py").write_text(LEGACY)
        runs = interleave(
            {
                "plain": lambda: _pytest(folder, "test_plain.py")[0],
                "chaos": lambda: _pytest(folder, "test_chaos.py")[0],
                "legacy": lambda: _elapsed(_pytest(folder, "test_legacy.py")[1]),
                "compressed": lambda: _elapsed(_pytest(folder, "test_legacy.py", "--chaos-compress-time")[1]),
            },
            ROUNDS,
        )
    setup(tests=200, calls_per_test=10, rounds=ROUNDS, attempts=5)
    figure("plain s", runs["plain"], "s", better="lower", label="200 tests with plain mock_aws, wall", digits=2)
    figure("chaos s", runs["chaos"], "s", better="lower", label="200 tests under the chaos fixture, wall", digits=2)
    ok = figure(
        "fixture ratio",
        ratios(runs["chaos"], runs["plain"]),
        "x",
        target=1.05,
        better="lower",
        label="chaos fixture / plain mock_aws",
    )
    ok &= figure(
        "compress speedup",
        ratios(runs["legacy"], runs["compressed"]),
        "x",
        target=20,
        label="503 outage with legacy retries: real backoff / compressed time",
        digits=0,
    )
    return finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
