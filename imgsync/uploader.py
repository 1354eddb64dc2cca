"""Uploading one image with patience: wait on rate limits, retry transient failures."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from .errors import HostError, RateLimited
from .hosts.base import Host, UploadRequest, UploadResult

MAX_RATE_LIMIT_WAITS = 10


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts for transient failures, waits for rate limits."""

    max_attempts: int = 4
    rate_limit_wait: float = 60.0  # after a rate limit that doesn't say how long
    backoff_base: float = 1.0
    backoff_cap: float = 30.0


def upload_with_retries(
    host: Host,
    request: UploadRequest,
    policy: RetryPolicy,
    *,
    on_wait: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
) -> UploadResult:
    """Upload `request`; the last HostError if every attempt failed.

    Refusals (bad key, bad type, too large) raise at once; rate limits are
    waited out (not counted as attempts, but bounded); timeouts, dropped
    connections and 5xx are retried with exponential backoff and jitter.
    """
    attempt = 0
    waits = 0
    while True:
        try:
            return host.upload(request)
        except RateLimited as error:
            waits += 1
            if waits > MAX_RATE_LIMIT_WAITS:
                raise
            said = error.retry_after
            delay = policy.rate_limit_wait if said is None else said
            until = time.strftime("%H:%M:%S", time.localtime(time.time() + delay))
            on_wait(f"{request.filename}: {error}; waiting {delay:.0f}s (until {until})")
            sleep(delay)
        except HostError as error:
            attempt += 1
            if not error.retryable or attempt >= policy.max_attempts:
                raise
            delay = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.0)
            on_wait(f"{request.filename}: {error}; retrying in {delay:.1f}s")
            sleep(delay)


@dataclass
class BatchResult:
    """What became of a batch: results and errors by the caller's key."""

    done: dict[str, UploadResult]
    failed: dict[str, HostError]
    interrupted: bool = False


def upload_many(
    host: Host,
    requests: dict[str, UploadRequest],
    policy: RetryPolicy,
    *,
    jobs: int,
    on_success: Callable[[str, UploadResult], None],
    on_finished: Callable[[str, UploadResult | HostError], None] = lambda key, outcome: None,
    on_wait: Callable[[str], None] = lambda message: None,
) -> BatchResult:
    """Upload `requests` (keyed by the caller), at most `jobs` at a time.

    `on_success` runs in the worker right after each upload, before anything
    else: that is where the cache records it. Ctrl-C stops new uploads, lets
    the ones in flight finish (and be recorded), and returns what was done.
    """
    batch = BatchResult(done={}, failed={})

    def one(key: str) -> UploadResult:
        try:
            result = upload_with_retries(host, requests[key], policy, on_wait=on_wait)
        except OSError as error:  # the file went away or became unreadable mid-run
            raise HostError(f"could not be read while uploading: {error}") from None
        on_success(key, result)
        return result

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    futures = {pool.submit(one, key): key for key in requests}
    try:
        for future in as_completed(futures):
            _settle(future, futures[future], batch, on_finished)
    except KeyboardInterrupt:
        batch.interrupted = True
        pool.shutdown(wait=True, cancel_futures=True)
        for future, key in futures.items():
            settled = key in batch.done or key in batch.failed
            if future.done() and not future.cancelled() and not settled:
                _settle(future, key, batch, on_finished)
    finally:
        pool.shutdown(wait=True)
    return batch


def _settle(
    future: Future[UploadResult],
    key: str,
    batch: BatchResult,
    on_finished: Callable[[str, UploadResult | HostError], None],
) -> None:
    try:
        result = future.result()
    except HostError as error:
        batch.failed[key] = error
        on_finished(key, error)
        return
    batch.done[key] = result
    on_finished(key, result)
