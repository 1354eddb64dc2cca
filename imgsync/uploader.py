"""Uploading images with patience: wait on rate limits, retry transient failures, in parallel."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TypeVar

from .errors import HostError, ImageError, RateLimited
from .gate import HostGate, Interrupted, RetryPolicy, sending_for
from .hosts.base import BatchHost, Host, UploadRequest, UploadResult

__all__ = [
    "BatchResult",
    "HostGate",
    "RetryPolicy",
    "call_with_retries",
    "upload_many",
    "upload_with_retries",
]

T = TypeVar("T")
Outcome = UploadResult | HostError
# Claims the images of a group before they are sent; yields the keys still to upload
# (another process may have uploaded some meanwhile), or None when told to stop.
Claim = Callable[[Sequence[str], threading.Event], AbstractContextManager[list[str] | None]]


def call_with_retries(
    action: Callable[[], T],
    gate: HostGate,
    *,
    label: str,
    on_wait: Callable[[str], None] = lambda message: None,
) -> T:
    """Run one host request through `gate`; the last HostError if every attempt failed.

    Refusals (bad key, bad type, too large) raise at once; rate limits are
    waited out without counting as attempts; timeouts, dropped connections and
    5xx are retried with exponential backoff and jitter. Both stop at the
    policy's attempts and time; Interrupted if the run is stopped while waiting.
    """
    policy = gate.policy
    started = gate.now()
    attempt = 0
    while True:
        ticket = gate.enter(deadline=started + policy.max_retry_time)
        try:
            with sending_for(gate.stop):
                result = action()
        except RateLimited as error:
            delay, news = gate.limited(ticket, error)
            _give_up_after(policy, started, gate.now() + delay, error)
            if news:
                until = time.strftime("%H:%M:%S", time.localtime(time.time() + delay))
                shown = f"{delay:.1f}" if delay < 9.95 else f"{delay:.0f}"
                on_wait(f"{label}: {error}; waiting {shown}s (until {until})")
            continue  # enter() waits the gate out, with every other worker
        except HostError as error:
            gate.answered(ticket)
            attempt += 1
            if not error.retryable:
                raise
            if attempt >= policy.max_attempts:
                raise _gave_up(error, f"after {attempt} attempts") from None
            delay = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.0)
            _give_up_after(policy, started, gate.now() + delay, error)
            on_wait(f"{label}: {error}; retrying in {delay:.1f}s")
            gate.sleep(delay)
            continue
        except BaseException:
            gate.release(ticket)
            raise
        gate.answered(ticket)
        return result


def _give_up_after(policy: RetryPolicy, started: float, resume: float, error: HostError) -> None:
    if resume - started > policy.max_retry_time:
        limit = f"{policy.max_retry_time:g}s"
        raise _gave_up(error, f"as retrying would take longer than max_retry_time ({limit})")


def _gave_up(error: HostError, why: str) -> HostError:
    return error.with_note(f"gave up {why}")


def upload_with_retries(
    host: Host,
    request: UploadRequest,
    gate: HostGate,
    *,
    on_wait: Callable[[str], None] = lambda message: None,
) -> UploadResult:
    """Upload one file through `gate` (see call_with_retries)."""
    return call_with_retries(
        lambda: host.upload(request), gate, label=request.filename, on_wait=on_wait
    )


@dataclass
class BatchResult:
    """What became of the uploads: results and errors by the caller's key."""

    done: dict[str, UploadResult]
    failed: dict[str, HostError]
    interrupted: bool = False


@contextmanager
def _no_claim(keys: Sequence[str], stop: threading.Event) -> Iterator[list[str] | None]:
    yield list(keys)


def upload_many(
    host: Host,
    requests: dict[str, UploadRequest],
    policy: RetryPolicy,
    *,
    jobs: int,
    on_success: Callable[[str, UploadResult], None],
    on_finished: Callable[[str, Outcome], None] = lambda key, outcome: None,
    on_wait: Callable[[str], None] = lambda message: None,
    claim: Claim = _no_claim,
    stop: threading.Event | None = None,
) -> BatchResult:
    """Upload `requests` (keyed by the caller), at most `jobs` requests at a time.

    A host that takes several files a request (BatchHost) gets them in groups
    of its `batch_size`. Each group is first claimed with `claim`, which may
    drop keys it settled itself (another process uploaded them). `on_success`
    runs in the worker right after each upload, before anything else: that is
    where the cache records it. Ctrl-C (or setting `stop`) stops new uploads and
    waits, lets the ones in flight finish (and be recorded), and returns what
    was done; keys never sent have no outcome.
    """
    batch = BatchResult(done={}, failed={})
    gate = HostGate(policy, stop=stop)
    size = host.batch_size if isinstance(host, BatchHost) else 1
    keys = list(requests)
    groups = [keys[i : i + size] for i in range(0, len(keys), size)]

    def send(group: list[str]) -> list[tuple[str, Outcome]]:
        with claim(group, gate.stop) as todo:
            if not todo or gate.stop.is_set():
                return []
            try:
                outcomes = _send(host, [requests[key] for key in todo], gate, on_wait)
            except Interrupted:
                return []
            for key, outcome in zip(todo, outcomes, strict=True):
                if isinstance(outcome, UploadResult):
                    on_success(key, outcome)
            return list(zip(todo, outcomes, strict=True))

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    futures = [pool.submit(send, group) for group in groups]
    settled: set[int] = set()

    def settle_done() -> None:
        for future in futures:
            if future.done() and not future.cancelled() and id(future) not in settled:
                settled.add(id(future))
                _settle(future, batch, on_finished)

    abandon = False
    try:
        for future in as_completed(futures):
            settled.add(id(future))  # first: a Ctrl-C inside must not settle it twice
            _settle(future, batch, on_finished)
    except KeyboardInterrupt:
        batch.interrupted = True
        gate.stop.set()
        running = sum(1 for future in futures if future.running())
        if running:
            on_wait(
                f"interrupted: letting the {running} request(s) in flight finish and be recorded"
                " (Ctrl-C again to abandon them)"
            )
        try:
            pool.shutdown(wait=True, cancel_futures=True)
        except KeyboardInterrupt:  # the second Ctrl-C: what is still in flight is abandoned
            abandon = True
        settle_done()
    except BaseException:
        # A worker failed in a way that is not one upload's (the cache can't be written):
        # start nothing more, and let the error end the run.
        gate.stop.set()
        abandon = True
        raise
    finally:
        pool.shutdown(wait=not abandon, cancel_futures=True)
    return batch


def _send(
    host: Host, files: list[UploadRequest], gate: HostGate, on_wait: Callable[[str], None]
) -> list[Outcome]:
    """One request's outcomes, one per file; a failure of the whole request fails each file."""
    try:
        if isinstance(host, BatchHost) and len(files) > 1:
            label = f"{files[0].filename} and {len(files) - 1} more"
            return call_with_retries(
                lambda: host.upload_batch(files), gate, label=label, on_wait=on_wait
            )
        return [upload_with_retries(host, files[0], gate, on_wait=on_wait)]
    except HostError as error:
        return [error] * len(files)
    except (OSError, ImageError) as error:  # a file went away or became unreadable mid-run
        return [HostError(f"could not be read while uploading: {error}")] * len(files)


def _settle(
    future: Future[list[tuple[str, Outcome]]],
    batch: BatchResult,
    on_finished: Callable[[str, Outcome], None],
) -> None:
    for key, outcome in future.result():
        if isinstance(outcome, HostError):
            batch.failed[key] = outcome
        else:
            batch.done[key] = outcome
        on_finished(key, outcome)
