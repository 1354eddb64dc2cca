"""Uploading images with patience: wait on rate limits, retry transient failures, in parallel."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TypeVar

from .errors import HostError, ImageError, RateLimited
from .hosts.base import BatchHost, Host, UploadRequest, UploadResult

MAX_RATE_LIMIT_WAITS = 10
T = TypeVar("T")
Outcome = UploadResult | HostError


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts for transient failures, waits for rate limits."""

    max_attempts: int = 4
    rate_limit_wait: float = 60.0  # after a rate limit that doesn't say how long
    backoff_base: float = 1.0
    backoff_cap: float = 30.0


def call_with_retries(
    action: Callable[[], T],
    policy: RetryPolicy,
    *,
    label: str,
    on_wait: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run one host request; the last HostError if every attempt failed.

    Refusals (bad key, bad type, too large) raise at once; rate limits are
    waited out (not counted as attempts, but bounded); timeouts, dropped
    connections and 5xx are retried with exponential backoff and jitter.
    """
    attempt = 0
    waits = 0
    while True:
        try:
            return action()
        except RateLimited as error:
            waits += 1
            if waits > MAX_RATE_LIMIT_WAITS:
                raise
            said = error.retry_after
            delay = policy.rate_limit_wait if said is None else said
            until = time.strftime("%H:%M:%S", time.localtime(time.time() + delay))
            on_wait(f"{label}: {error}; waiting {delay:.0f}s (until {until})")
            sleep(delay)
        except HostError as error:
            attempt += 1
            if not error.retryable or attempt >= policy.max_attempts:
                raise
            delay = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.0)
            on_wait(f"{label}: {error}; retrying in {delay:.1f}s")
            sleep(delay)


def upload_with_retries(
    host: Host,
    request: UploadRequest,
    policy: RetryPolicy,
    *,
    on_wait: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
) -> UploadResult:
    """Upload one file under `policy` (see call_with_retries)."""
    return call_with_retries(
        lambda: host.upload(request), policy, label=request.filename, on_wait=on_wait, sleep=sleep
    )


@dataclass
class BatchResult:
    """What became of the uploads: results and errors by the caller's key."""

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
    on_finished: Callable[[str, Outcome], None] = lambda key, outcome: None,
    on_wait: Callable[[str], None] = lambda message: None,
) -> BatchResult:
    """Upload `requests` (keyed by the caller), at most `jobs` requests at a time.

    A host that takes several files a request (BatchHost) gets them in groups
    of its `batch_size`. `on_success` runs in the worker right after each
    upload, before anything else: that is where the cache records it. Ctrl-C
    stops new uploads, lets the ones in flight finish (and be recorded), and
    returns what was done.
    """
    batch = BatchResult(done={}, failed={})
    size = host.batch_size if isinstance(host, BatchHost) else 1
    keys = list(requests)
    groups = [keys[i : i + size] for i in range(0, len(keys), size)]

    def send(group: list[str]) -> list[Outcome]:
        try:
            if isinstance(host, BatchHost) and len(group) > 1:
                files = [requests[key] for key in group]
                label = f"{files[0].filename} and {len(files) - 1} more"
                outcomes = call_with_retries(
                    lambda: host.upload_batch(files), policy, label=label, on_wait=on_wait
                )
            else:
                outcomes = [upload_with_retries(host, requests[group[0]], policy, on_wait=on_wait)]
        except HostError as error:
            return [error] * len(group)
        except (OSError, ImageError) as error:  # a file went away or became unreadable mid-run
            return [HostError(f"could not be read while uploading: {error}")] * len(group)
        for key, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, UploadResult):
                on_success(key, outcome)
        return outcomes

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    futures = {pool.submit(send, group): group for group in groups}
    try:
        for future in as_completed(futures):
            _settle(future, futures[future], batch, on_finished)
    except KeyboardInterrupt:
        batch.interrupted = True
        pool.shutdown(wait=True, cancel_futures=True)
        for future, group in futures.items():
            settled = group[0] in batch.done or group[0] in batch.failed
            if future.done() and not future.cancelled() and not settled:
                _settle(future, group, batch, on_finished)
    finally:
        pool.shutdown(wait=True)
    return batch


def _settle(
    future: Future[list[Outcome]],
    group: Sequence[str],
    batch: BatchResult,
    on_finished: Callable[[str, Outcome], None],
) -> None:
    for key, outcome in zip(group, future.result(), strict=True):
        if isinstance(outcome, HostError):
            batch.failed[key] = outcome
        else:
            batch.done[key] = outcome
        on_finished(key, outcome)
