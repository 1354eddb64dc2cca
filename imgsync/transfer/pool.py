"""The worker pool: many uploads to one host at once, each recorded the moment it succeeds."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from ..errors import HostError, ImageError, Interrupted
from ..hosted_url import identity_allows_http, quoted, rooted_base, url_problem
from ..hosts._http import HostErrors
from ..hosts.base import BatchHost, Host, UploadRequest, UploadResult
from .gate import HostGate
from .retry import call_with_retries, upload_with_retries
from .retry_policy import RetryPolicy

Outcome = UploadResult | HostError
# Claims the images of a group before they are sent; yields the keys still to upload
# (another process may have uploaded some meanwhile), or None when told to stop.
Claim = Callable[[Sequence[str], threading.Event], AbstractContextManager[list[str] | None]]


@dataclass
class BatchResult:
    """What became of the uploads: results and errors by the caller's key."""

    done: dict[str, UploadResult]
    failed: dict[str, HostError]
    interrupted: bool = False
    # Why the host was given up (bad credentials, wrong URL, unreachable): every key failed
    # with it was refused by the host once, or never sent.
    verdict: HostError | None = None


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
    allow_http: bool | None = None,
) -> BatchResult:
    """Upload `requests` (keyed by the caller), at most `jobs` requests at a time.

    A host that takes several files a request (BatchHost) gets them in groups
    of its `batch_size`. `jobs` bounds the requests in flight, not the workers: a worker
    recording its success (a journal fsync, a cache write) has given its slot to the next
    request, so recording costs the host's pace nothing. Each group is first claimed
    with `claim`, which may drop keys it settled itself (another process uploaded them).
    `on_success` runs in the worker right after each upload, before anything else: that
    is where the cache records it. A failure about the host itself (credentials, URL,
    no connection) fails every key still to go with that verdict (transfer/gate.py).
    Ctrl-C (or setting `stop`) stops new uploads and
    waits, lets the ones in flight finish (and be recorded), and returns what
    was done; keys never sent have no outcome.

    Every URL a host sends passes `url_problem` before `on_success` hears of it: one
    that fails is that file's HostError, never recorded. http:// passes with
    `allow_http`; by default (None) only from a host that is itself http on loopback and
    hands no upload on elsewhere (identity_allows_http: not PicGo).
    """
    uploads = UploadStream(
        host,
        policy,
        jobs=jobs,
        on_success=on_success,
        on_finished=on_finished,
        on_wait=on_wait,
        claim=claim,
        stop=stop,
        allow_http=allow_http,
    )
    with uploads:
        for key, request in requests.items():
            uploads.add(key, request)
        return uploads.finish()


class UploadStream:
    """Uploads to one host fed one at a time, sent while more are still being found.

    `add` queues a request and starts it as soon as a worker is free (a BatchHost's in
    groups of its `batch_size`, each sent once full or at `finish`); `settle_done`
    settles, in the caller's thread, what finished meanwhile; `finish` waits for the
    rest and returns the batch, as `upload_many` does. Used as a context manager: an
    error or a Ctrl-C that leaves the block early stops the stream and lets what is in
    flight finish (`interrupt`, for a Ctrl-C heard by the caller, returns the batch).
    """

    def __init__(
        self,
        host: Host,
        policy: RetryPolicy,
        *,
        jobs: int,
        on_success: Callable[[str, UploadResult], None],
        on_finished: Callable[[str, Outcome], None] = lambda key, outcome: None,
        on_wait: Callable[[str], None] = lambda message: None,
        claim: Claim = _no_claim,
        stop: threading.Event | None = None,
        allow_http: bool | None = None,
    ) -> None:
        if allow_http is None:
            allow_http = identity_allows_http(host.identity)
        self.gate = HostGate(policy, stop=stop)
        self.requests: dict[str, UploadRequest] = {}
        self._pool = _Pool(
            host, self.requests, self.gate, claim, on_success, on_wait, allow_http=allow_http
        )
        self._on_finished = on_finished
        self._on_wait = on_wait
        self._size = host.batch_size if isinstance(host, BatchHost) else 1
        self._group: list[str] = []
        # `jobs` slots, twice as many workers: while some record what came back, the others
        # keep every slot busy (the slot is given back with the reply, before recording).
        self._pool.slots = threading.BoundedSemaphore(max(1, jobs))
        self._executor = ThreadPoolExecutor(max_workers=2 * max(1, jobs))
        # A dict as an ordered set: what is settled after Ctrl-C is told in the order sent.
        self._unsettled: dict[Future[list[tuple[str, Outcome]]], None] = {}
        self._sent: list[Future[list[tuple[str, Outcome]]]] = []  # in the order sent
        self._abandon = False

    @property
    def batch(self) -> BatchResult:
        return self._pool.batch

    def add(self, key: str, request: UploadRequest) -> None:
        """Queue one upload; a group is sent once it is full."""
        self.requests[key] = request
        self._group.append(key)
        if len(self._group) >= self._size:
            self._submit()

    def _submit(self) -> None:
        if self._group:
            group, self._group = self._group, []
            future = self._executor.submit(self._pool.send, group)
            self._sent.append(future)
            self._unsettled[future] = None

    def _settle(self, future: Future[list[tuple[str, Outcome]]]) -> None:
        self._unsettled.pop(future, None)  # a Ctrl-C inside: interrupt() settles the rest
        _settle(future, self._pool.batch, self._on_finished)

    def settle_done(self) -> None:
        """Settle the uploads finished so far, without waiting for the others."""
        for future in [future for future in self._unsettled if future.done()]:
            self._settle(future)

    def finish(self) -> BatchResult:
        """Send what is left, wait for every upload, and return what became of them."""
        self._submit()
        try:
            for future in as_completed(list(self._unsettled)):
                self._settle(future)
        except KeyboardInterrupt:
            return self.interrupt()
        return self._done()

    def interrupt(self) -> BatchResult:
        """Ctrl-C: send nothing more, let the requests in flight finish and be recorded."""
        self._pool.batch.interrupted = True
        self.gate.stop.set()
        self._group = []
        running = self._pool.in_flight
        if running:
            self._on_wait(
                f"interrupted: letting the {running} request(s) in flight finish and be"
                " recorded (Ctrl-C again to abandon them)"
            )
        try:
            self._executor.shutdown(wait=True, cancel_futures=True)
        except KeyboardInterrupt:  # the second Ctrl-C: what is still in flight is abandoned
            self._abandon = True
        for future in self._sent:
            if future.done() and not future.cancelled():
                self._settle(future)
        # And every outcome a worker kept: a Ctrl-C that came while a request was being
        # handed to a worker, or settled, left its future unknown or half settled here.
        batch = self._pool.batch
        for key in self.requests:  # in the order sent
            outcome = self._pool.outcomes.get(key)
            if outcome is not None and key not in batch.done and key not in batch.failed:
                _settle_one(key, outcome, batch, self._on_finished)
        return self._done()

    def _done(self) -> BatchResult:
        self._pool.batch.verdict = self.gate.verdict
        return self._pool.batch

    def __enter__(self) -> UploadStream:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None:
            # A worker failed in a way that is not one upload's (the cache can't be written),
            # or the caller did: start nothing more, and let the error end the run.
            self.abandon()
        self._executor.shutdown(wait=not self._abandon, cancel_futures=True)

    def abandon(self) -> None:
        """Send nothing more, and wait for nothing in flight (the run ends with an error)."""
        self.gate.stop.set()
        self._abandon = True
        self._executor.shutdown(wait=False, cancel_futures=True)


class _Pool:
    """One batch of uploads: how each group is sent, and what became of them."""

    def __init__(
        self,
        host: Host,
        requests: dict[str, UploadRequest],
        gate: HostGate,
        claim: Claim,
        on_success: Callable[[str, UploadResult], None],
        on_wait: Callable[[str], None],
        *,
        allow_http: bool,
    ) -> None:
        self.host, self.requests, self.gate = host, requests, gate
        self.claim, self.on_success, self.on_wait = claim, on_success, on_wait
        self.batch = BatchResult(done={}, failed={})
        self.allow_http = allow_http
        self.outcomes: dict[str, Outcome] = {}  # each request's, kept by its worker
        self.slots = threading.BoundedSemaphore(1)  # requests in flight: `jobs`
        self._counting = threading.Lock()
        self.in_flight = 0

    def send(self, group: list[str]) -> list[tuple[str, Outcome]]:
        """In a worker: claim the group, send what is still to send, record each success."""
        verdict = self.gate.verdict
        if verdict is not None:  # the host was given up: not even worth a claim
            return [(key, verdict.copy()) for key in group]
        with self.claim(group, self.gate.stop) as todo:
            if not todo or self.gate.stop.is_set():
                return []
            try:
                files = [self.requests[key] for key in todo]
                outcomes = self._send_in_a_slot(files)
            except Interrupted:
                return []
            outcomes = [_usable(outcome, self.host, self.allow_http) for outcome in outcomes]
            for key, outcome in zip(todo, outcomes, strict=True):
                if isinstance(outcome, UploadResult):
                    self.on_success(key, outcome)
                self.outcomes[key] = outcome
            return list(zip(todo, outcomes, strict=True))

    def _send_in_a_slot(self, files: list[UploadRequest]) -> list[Outcome]:
        """Send once one of the `jobs` slots is free; the slot is given back with the reply,
        before the outcome is recorded. Interrupted if the run stops while waiting."""
        while not self.slots.acquire(timeout=0.05):
            if self.gate.stop.is_set():
                raise Interrupted
        if self.gate.stop.is_set():
            self.slots.release()
            raise Interrupted
        with self._counting:
            self.in_flight += 1
        try:
            return _send(self.host, files, self.gate, self.on_wait)
        finally:
            with self._counting:
                self.in_flight -= 1
            self.slots.release()


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


def _usable(outcome: Outcome, host: Host, allow_http: bool) -> Outcome:
    """The outcome, or a HostError when the host's URL can't go into Markdown or the cache."""
    if isinstance(outcome, HostError):
        return outcome
    problem = url_problem(
        outcome.url, allow_http=allow_http, rooted_under=rooted_base(host.identity)
    )
    if problem is None:
        return outcome
    message = (
        f"the host sent an unusable URL {quoted(outcome.url)} ({problem}): it is neither "
        "recorded nor written; is the host misconfigured or hostile?"
    )
    errors = getattr(host, "errors", None)  # a kit host's: it redacts an echoed secret
    if isinstance(errors, HostErrors):
        message = errors.redact(message)
    return HostError(message, host=host.identity)


def _settle(
    future: Future[list[tuple[str, Outcome]]],
    batch: BatchResult,
    on_finished: Callable[[str, Outcome], None],
) -> None:
    for key, outcome in future.result():
        if key not in batch.done and key not in batch.failed:  # else settled before a Ctrl-C
            _settle_one(key, outcome, batch, on_finished)


def _settle_one(
    key: str, outcome: Outcome, batch: BatchResult, on_finished: Callable[[str, Outcome], None]
) -> None:
    if isinstance(outcome, HostError):
        batch.failed[key] = outcome
    else:
        batch.done[key] = outcome
    on_finished(key, outcome)
