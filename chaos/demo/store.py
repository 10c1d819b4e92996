"""Where the demo application keeps its documents: written the way real teams write them.

``NaiveStore``: one bucket in us-east-1, the SDK's default retries, no fallback.
``ResilientStore``: a primary bucket in us-east-1 and a replica in eu-west-1; reads fall back to
the replica; writes that cannot reach the primary go to a durable local spool and are replayed
when it recovers; retries with a budget and jitter (tenacity); a circuit breaker per bucket so a
dead region is not hammered.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_random

__all__ = [
    "PRIMARY",
    "REPLICA",
    "CircuitBreaker",
    "NaiveStore",
    "NotFound",
    "ResilientStore",
    "RetryBudget",
    "Unavailable",
]

PRIMARY = ("chaos-demo-primary", "us-east-1")
REPLICA = ("chaos-demo-replica", "eu-west-1")
T = TypeVar("T")


class NotFound(Exception):
    """No such document."""


class Unavailable(Exception):
    """The store cannot answer now."""


def _create_bucket(client: Any, bucket: str, region: str) -> None:
    """Create the bucket at start-up, retrying a slow or not yet listening S3 for a few seconds: a service
    that dies because its storage took two seconds to answer at boot is not the one to rehearse."""
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    for attempt in Retrying(
        stop=stop_after_delay(15),
        wait=wait_random(0.1, 0.5),
        retry=retry_if_exception(lambda exc: isinstance(exc, BotoCoreError)),
        reraise=True,
    ):
        with attempt:
            try:
                client.create_bucket(Bucket=bucket, **extra)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise


def _missing(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound")


class NaiveStore:
    """One bucket, one region, the SDK's defaults: what most applications start as.

    Writes are acknowledged at once and uploaded in the background ("S3 is slow, users should not
    wait"); an upload that fails is logged and dropped. Reads go to the one bucket; any error
    propagates.
    """

    def __init__(self) -> None:
        self.bucket, region = PRIMARY
        self.s3 = boto3.client("s3", region_name=region)
        self.uploads = ThreadPoolExecutor(4, thread_name_prefix="upload")
        _create_bucket(self.s3, self.bucket, region)

    def _upload(self, doc_id: str, body: bytes) -> None:
        try:
            self.s3.put_object(Bucket=self.bucket, Key=f"docs/{doc_id}", Body=body)
        except Exception as exc:
            print(f"upload of {doc_id} failed: {exc}", file=sys.stderr, flush=True)

    def put(self, doc_id: str, body: bytes) -> str:
        self.uploads.submit(self._upload, doc_id, body)
        return "stored"

    def get(self, doc_id: str) -> bytes:
        try:
            return bytes(self.s3.get_object(Bucket=self.bucket, Key=f"docs/{doc_id}")["Body"].read())
        except ClientError as exc:
            if _missing(exc):
                raise NotFound(doc_id) from exc
            raise

    def health(self) -> dict[str, Any]:
        return {"status": "ok"}  # says ok whatever S3 is doing: the status page that shares the outage

    def close(self) -> None:
        self.uploads.shutdown(wait=True, cancel_futures=False)


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; lets one trial call through after ``cooldown``."""

    def __init__(self, threshold: int = 3, cooldown: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold, self.cooldown, self.clock = threshold, cooldown, clock
        self.failures = 0
        self.opened_at: float | None = None
        self._lock = threading.Lock()
        self._trial = False

    @property
    def open(self) -> bool:
        """Whether calls are being refused."""
        return self.opened_at is not None

    def allow(self) -> bool:
        """Whether a call may go out now."""
        with self._lock:
            if self.opened_at is None:
                return True
            if self.clock() - self.opened_at >= self.cooldown and not self._trial:
                self._trial = True
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self.failures, self.opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            self._trial = False
            if self.failures >= self.threshold:
                self.opened_at = self.clock()


class RetryBudget:
    """Retries may be at most ``ratio`` of requests (plus a small reserve): no retry storms."""

    def __init__(self, ratio: float = 0.2, reserve: float = 5.0) -> None:
        self.ratio, self.reserve = ratio, reserve
        self.tokens = reserve
        self._lock = threading.Lock()

    def deposit(self) -> None:
        with self._lock:
            self.tokens = min(self.reserve, self.tokens + self.ratio)

    def withdraw(self) -> bool:
        with self._lock:
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class _Bucket:
    """One bucket behind its own breaker."""

    def __init__(self, bucket: str, region: str, budget: RetryBudget) -> None:
        config = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=2)
        self.name, self.region = bucket, region
        self.s3 = boto3.client("s3", region_name=region, config=config)
        self.breaker = CircuitBreaker()
        self.budget = budget
        _create_bucket(self.s3, bucket, region)

    def call(self, operation: Callable[[], T]) -> T:
        if not self.breaker.allow():
            raise Unavailable(f"{self.name} ({self.region}) circuit open")

        def retryable(exc: BaseException) -> bool:
            transient = isinstance(exc, BotoCoreError) or (isinstance(exc, ClientError) and not _missing(exc))
            return transient and self.budget.withdraw()

        self.budget.deposit()
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(2),
                wait=wait_random(0.02, 0.1),
                retry=retry_if_exception(retryable),
                reraise=True,
            ):
                with attempt:
                    result = operation()
        except ClientError as exc:
            if _missing(exc):
                self.breaker.success()
                raise NotFound(self.name) from exc
            self.breaker.failure()
            raise Unavailable(f"{self.name}: {exc.response['Error']['Code']}") from exc
        except BotoCoreError as exc:
            self.breaker.failure()
            raise Unavailable(f"{self.name}: {type(exc).__name__}") from exc
        self.breaker.success()
        return result


def _read(bucket: _Bucket, key: str) -> bytes:
    return bytes(bucket.s3.get_object(Bucket=bucket.name, Key=key)["Body"].read())


class ResilientStore:
    """Primary in us-east-1, replica in eu-west-1, a durable spool, replay on recovery."""

    def __init__(self, spool: Path, replay_interval: float = 0.25, temporary: bool = False) -> None:
        """``temporary``: the spool is a directory made for this store alone, removed by :meth:`close`
        when no write waits in it (one that does is kept: it is the only copy)."""
        self.temporary = temporary
        budget = RetryBudget()
        self.primary = _Bucket(*PRIMARY, budget)
        self.replica = _Bucket(*REPLICA, budget)
        self.spool = spool
        self.spool.mkdir(parents=True, exist_ok=True)
        self._stop = threading.Event()
        self._replayer = threading.Thread(target=self._replay_loop, args=(replay_interval,), daemon=True)
        self._replayer.start()

    def _spool_path(self, doc_id: str) -> Path:
        return self.spool / f"{doc_id.replace('/', '_')}.doc"

    def _spool_write(self, doc_id: str, body: bytes) -> None:
        path = self._spool_path(doc_id)
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)  # atomic: a reader sees the old or the new document, never half

    def put(self, doc_id: str, body: bytes) -> str:
        key = f"docs/{doc_id}"
        try:
            self.primary.call(lambda: self.primary.s3.put_object(Bucket=self.primary.name, Key=key, Body=body))
        except Unavailable:
            self._spool_write(doc_id, body)
            with contextlib.suppress(Unavailable, NotFound):
                self.replica.call(lambda: self.replica.s3.put_object(Bucket=self.replica.name, Key=key, Body=body))
            return "spooled"
        self._spool_path(doc_id).unlink(missing_ok=True)  # a newer write supersedes a spooled one
        with contextlib.suppress(Unavailable, NotFound):  # replication, best effort
            self.replica.call(lambda: self.replica.s3.put_object(Bucket=self.replica.name, Key=key, Body=body))
        return "stored"

    def get(self, doc_id: str) -> bytes:
        spooled = self._spool_path(doc_id)
        with contextlib.suppress(FileNotFoundError):
            return spooled.read_bytes()  # read your own writes while they wait for the primary
        key = f"docs/{doc_id}"
        for bucket in (self.primary, self.replica):
            try:
                return bucket.call(functools.partial(_read, bucket, key))
            except Unavailable:
                continue
        raise Unavailable("primary and replica both unavailable")

    def spooled(self) -> int:
        return sum(1 for _ in self.spool.glob("*.doc"))

    def health(self) -> dict[str, Any]:
        # Only local state: the health endpoint must not share the outage it reports on.
        spooled = self.spooled()
        degraded = self.primary.breaker.open or spooled > 0
        return {
            "status": "degraded" if degraded else "ok",
            "primary": "unavailable" if self.primary.breaker.open else "ok",
            "replica": "unavailable" if self.replica.breaker.open else "ok",
            "spooled_writes": spooled,
        }

    def _replay_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            for path in sorted(self.spool.glob("*.doc"), key=lambda p: p.stat().st_mtime if p.exists() else 0):
                doc_id = path.stem
                try:
                    body = path.read_bytes()
                    self.primary.call(
                        functools.partial(
                            self.primary.s3.put_object, Bucket=self.primary.name, Key=f"docs/{doc_id}", Body=body
                        )
                    )
                except (Unavailable, NotFound, FileNotFoundError):
                    break  # still down: try again at the next tick
                with contextlib.suppress(FileNotFoundError):
                    if path.read_bytes() == body:  # not rewritten meanwhile
                        path.unlink()
            if not any(self.spool.glob("*.doc")) and self.primary.breaker.open:
                # Nothing to replay: probe the primary so health recovers without traffic.
                with contextlib.suppress(Unavailable, NotFound):
                    self.primary.call(lambda: self.primary.s3.head_bucket(Bucket=self.primary.name))

    def close(self) -> None:
        self._stop.set()
        self._replayer.join(timeout=5)
        if self.temporary and self.spooled() == 0:
            shutil.rmtree(self.spool, ignore_errors=True)
