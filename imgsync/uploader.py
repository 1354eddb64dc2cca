"""Uploading images with patience: wait on rate limits, retry transient failures, in parallel."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TypeVar

from .errors import HostError, ImageError, RateLimited
from .hosts.base import BatchHost, Host, UploadRequest, UploadResult

T = TypeVar("T")
Outcome = UploadResult | HostError
# Claims the images of a group before they are sent; yields the keys still to upload
# (another process may have uploaded some meanwhile), or None when told to stop.
Claim = Callable[[Sequence[str], threading.Event], AbstractContextManager[list[str] | None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts for transient failures, waits for rate limits, time for both."""

    max_attempts: int = 6
    max_retry_time: float = 1800.0  # seconds one upload may spend waiting and retrying
    rate_limit_wait: float = 60.0  # the longest wait after a rate limit that doesn't say how long
    rate_limit_backoff: float = 5.0  # the first such wait; it doubles up to rate_limit_wait
    backoff_base: float = 1.0
    backoff_cap: float = 30.0


class Interrupted(Exception):
    """The run was stopped (Ctrl-C) while this upload waited to be sent: it never was."""


@dataclass(frozen=True)
class Ticket:
    """A request let through the gate: whether it is the probe, and in which opening it went."""

    probe: bool
    opening: int


class HostGate:
    """What the workers of one host share: the moment the host lets requests through again.

    A rate limit closes the gate for every worker, not only the one that met it.
    After a limit that said no wait (Lsky's bare 429, Chevereto's flood refusal)
    the gate stays closed for a backoff that doubles each time, and then lets one
    request through first as a probe: the others follow once it gets through, so
    a host still limiting sees one request, not one per worker. Requests that
    were already out when the gate closed may come back limited too; they don't
    double the backoff again.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.policy = policy
        self.stop = stop or threading.Event()
        self._clock = clock
        self._sleep = sleep or self.stop.wait
        self._changed = threading.Condition()
        self._open_at = 0.0
        self._opening = 0  # counts closings: a ticket from an older opening is stale
        self._unstated = 0  # rate limits in a row that said no wait
        self._probe_out = False
        self._closed_by: RateLimited | None = None  # the limit that last closed the gate

    def now(self) -> float:
        return self._clock()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`; Interrupted if the run is stopped meanwhile."""
        self._sleep(seconds)
        if self.stop.is_set():
            raise Interrupted

    def enter(self, deadline: float = math.inf) -> Ticket:
        """Wait until a request may go (Interrupted if the run stops first).

        A caller that must give up at `deadline` (its max_retry_time) gets the rate
        limit that closed the gate, noted, if the gate stays closed beyond it.
        """
        while True:
            if self.stop.is_set():
                raise Interrupted
            with self._changed:
                delay = self._open_at - self._clock()
                if self._open_at > deadline and self._closed_by is not None:
                    limit = f"{self.policy.max_retry_time:g}s"
                    raise self._closed_by.with_note(
                        f"gave up as the wait would last beyond max_retry_time ({limit})"
                    )
                if delay <= 0 and not self._probe_out:
                    self._probe_out = self._unstated > 0
                    return Ticket(self._probe_out, self._opening)
                if delay <= 0:  # a probe is out: its outcome decides
                    self._changed.wait(timeout=0.05)
                    continue
            self.sleep(delay)

    def answered(self, ticket: Ticket) -> None:
        """The request got an answer that was not a rate limit: the host takes requests."""
        with self._changed:
            if ticket.opening == self._opening:
                self._unstated = 0
            self.release(ticket)

    def release(self, ticket: Ticket) -> None:
        """The request ended without telling anything about the host (a file error, say)."""
        with self._changed:
            if ticket.probe:
                self._probe_out = False
            self._changed.notify_all()

    def limited(self, ticket: Ticket, error: RateLimited) -> tuple[float, bool]:
        """Close the gate as `error` asks: (seconds closed from now, whether that is news)."""
        with self._changed:
            if ticket.probe:
                self._probe_out = False
            if error.retry_after is not None and error.retry_after > 0:
                delay = error.retry_after
            else:  # said no wait, or none at all (a reset already past): back off
                if ticket.opening == self._opening:
                    self._unstated += 1
                first, cap = self.policy.rate_limit_backoff, self.policy.rate_limit_wait
                delay = min(cap, first * 2 ** (max(1, self._unstated) - 1))
            now = self._clock()
            news = now + delay > self._open_at + 1.0
            if news:
                self._opening += 1
            self._open_at = max(self._open_at, now + delay)
            if news:
                self._closed_by = error
            self._changed.notify_all()
            return self._open_at - now, news


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
