"""What the pytest plugin costs, and what compressed time saves, measured in one run.

1. 200 tests of 10 S3 calls each under the ``chaos`` fixture with a fault armed that matches
   nothing, against the same tests with plain ``mock_aws``: ratio of wall times (target <= 1.15).
2. One test against a 503 outage with legacy retries (5 attempts with backoff), with compressed
   time against without: how many times faster (target >= 20x).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> int:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "test_plain.py").write_text(PLAIN)
        (folder / "test_chaos.py").write_text(UNDER_CHAOS)
        (folder / "test_legacy.py").write_text(LEGACY)
        plain, chaos = [], []
        for _ in range(3):
            plain.append(_pytest(folder, "test_plain.py")[0])
            chaos.append(_pytest(folder, "test_chaos.py")[0])
        ratio = statistics.median(chaos) / statistics.median(plain)
        print(
            f"200 tests x 10 S3 calls: plain mock_aws {statistics.median(plain):.2f}s, under the chaos fixture "
            f"{statistics.median(chaos):.2f}s: ratio {ratio:.3f} (target <= 1.15)"
        )
        slow, fast = [], []
        for _ in range(3):
            slow.append(float(re.search(r"ELAPSED (\S+)", _pytest(folder, "test_legacy.py")[1]).group(1)))  # type: ignore[union-attr]
            fast.append(
                float(
                    re.search(r"ELAPSED (\S+)", _pytest(folder, "test_legacy.py", "--chaos-compress-time")[1]).group(1)
                )
            )  # type: ignore[union-attr]
        speedup = statistics.median(slow) / statistics.median(fast)
        print(
            f"503 outage, legacy retries (5 attempts): {statistics.median(slow):.3f}s real backoff, "
            f"{statistics.median(fast) * 1000:.1f}ms compressed: {speedup:.0f}x faster (target >= 20x)"
        )
    return 0 if ratio <= 1.15 and speedup >= 20 else 1


if __name__ == "__main__":
    raise SystemExit(main())
