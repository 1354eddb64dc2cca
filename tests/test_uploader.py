"""Retry and wait rules, with a scripted host standing in at the network seam."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from imgsync.errors import (
    AuthError,
    HostError,
    ImageError,
    Interrupted,
    RateLimited,
    TransientHostError,
)
from imgsync.hosts._http import HostErrors
from imgsync.hosts._pacing import RateBudget
from imgsync.hosts.base import UploadRequest, UploadResult
from imgsync.stop_signal import sending_for
from imgsync.transfer.gate import HostGate
from imgsync.transfer.pool import upload_many
from imgsync.transfer.retry import upload_with_retries
from imgsync.transfer.retry_policy import RetryPolicy

REQUEST = UploadRequest(Path("a.png"), "a.png", "image/png", 10)


class ScriptedHost:
    """Answers each upload with the next scripted outcome (thread-safe), after `latency`."""

    type_name = "scripted"
    identity = "scripted http://127.0.0.1"
    max_size = None

    def __init__(self, outcomes: list[HostError | str], latency: float = 0.0) -> None:
        self._outcomes: Iterator[HostError | str] = iter(outcomes)
        self._lock = threading.Lock()
        self.latency = latency
        self.calls: list[tuple[float, float, str]] = []  # start, end, what was answered

    def upload(self, request: UploadRequest) -> UploadResult:
        start = time.monotonic()
        with self._lock:
            outcome = next(self._outcomes, "https://h/default")
        time.sleep(self.latency)
        with self._lock:
            self.calls.append((start, time.monotonic(), type(outcome).__name__))
        if isinstance(outcome, HostError):
            raise outcome
        return UploadResult(url=outcome, handle={"key": "k" + request.filename})


class FakeClock:
    """Time that passes only when the code under test sleeps: waits are recorded, not spent."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def run(host: ScriptedHost, policy: RetryPolicy | None = None) -> tuple[object, list[float]]:
    clock = FakeClock()
    gate = HostGate(policy or RetryPolicy(), clock=clock, sleep=clock.sleep)
    try:
        result: object = upload_with_retries(host, REQUEST, gate)
    except HostError as error:
        result = error
    return result, clock.slept


def test_refusals_are_not_retried() -> None:
    host = ScriptedHost([HostError("too large"), "https://h/a.png"])

    result, slept = run(host)

    assert isinstance(result, HostError) and len(host.calls) == 1 and slept == []
    assert str(result) == "too large"


def test_bad_credentials_are_not_retried() -> None:
    result, slept = run(ScriptedHost([AuthError("bad token")]))

    assert isinstance(result, AuthError) and slept == []


def test_transient_failures_back_off_then_succeed() -> None:
    host = ScriptedHost([TransientHostError("502"), TransientHostError("timeout"), "https://h/a"])

    result, slept = run(host, RetryPolicy(max_attempts=4, backoff_base=1.0))

    assert isinstance(result, UploadResult) and result.url == "https://h/a"
    assert len(slept) == 2
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0  # exponential, with jitter


def test_transient_failures_give_up_after_max_attempts_and_say_so() -> None:
    host = ScriptedHost([TransientHostError("502 from the host", status=502)] * 5)

    result, slept = run(host, RetryPolicy(max_attempts=3))

    assert isinstance(result, TransientHostError) and len(host.calls) == 3 and len(slept) == 2
    assert str(result) == "502 from the host; gave up after 3 attempts"
    assert result.status == 502


def test_a_rate_limit_that_says_how_long_is_waited_exactly() -> None:
    host = ScriptedHost([RateLimited("quota", retry_after=7.0), "https://h/a"])

    result, slept = run(host, RetryPolicy(max_attempts=1))

    assert isinstance(result, UploadResult) and slept == [7.0]  # waits don't use up attempts


def test_rate_limits_that_say_no_wait_back_off_doubling_up_to_the_cap() -> None:
    host = ScriptedHost([RateLimited("429", retry_after=None)] * 6 + ["https://h/a"])

    result, slept = run(host, RetryPolicy(rate_limit_backoff=5.0, rate_limit_wait=60.0))

    assert isinstance(result, UploadResult)
    assert slept == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]


def test_a_success_resets_the_backoff() -> None:
    clock = FakeClock()
    gate = HostGate(RetryPolicy(rate_limit_backoff=2.0), clock=clock, sleep=clock.sleep)
    host = ScriptedHost([RateLimited("429", retry_after=None)] * 2 + ["https://h/1"])
    upload_with_retries(host, REQUEST, gate)
    host2 = ScriptedHost([RateLimited("429", retry_after=None), "https://h/2"])
    upload_with_retries(host2, REQUEST, gate)

    assert clock.slept == [2.0, 4.0, 2.0]


def test_waiting_and_retrying_stop_at_max_retry_time() -> None:
    host = ScriptedHost([RateLimited("slow down", retry_after=100.0)] * 10)

    result, slept = run(host, RetryPolicy(max_retry_time=250.0))

    assert isinstance(result, RateLimited) and slept == [100.0, 100.0]
    assert str(result) == (
        "slow down; gave up as retrying would take longer than max_retry_time (250s)"
    )


def test_upload_many_records_each_success_and_keeps_failures_apart() -> None:
    host = ScriptedHost(["https://h/1", HostError("refused"), "https://h/3"])
    requests = {key: REQUEST for key in ("one", "two", "three")}
    recorded: list[str] = []

    batch = upload_many(
        host, requests, RetryPolicy(), jobs=1, on_success=lambda key, result: recorded.append(key)
    )

    assert sorted(batch.done) == sorted(recorded)
    assert len(batch.done) == 2 and len(batch.failed) == 1
    assert not batch.interrupted


def test_a_rate_limit_holds_every_worker_and_one_probe_goes_first() -> None:
    # Four workers; the first request meets a 429 that says no wait.
    host = ScriptedHost([RateLimited("429", retry_after=None)], latency=0.05)
    requests = {f"k{n}": REQUEST for n in range(8)}
    waits: list[str] = []

    batch = upload_many(
        host,
        requests,
        RetryPolicy(rate_limit_backoff=0.3),
        jobs=4,
        on_success=lambda key, result: None,
        on_wait=waits.append,
    )

    assert len(batch.done) == 8 and len(host.calls) == 9
    limited_at = next(end for start, end, what in host.calls if what == "RateLimited")
    later = sorted(call for call in host.calls if call[0] > limited_at)
    # Nothing was sent during the backoff, and the first request after it went alone.
    assert later and all(start >= limited_at + 0.29 for start, _, _ in later)
    probe_end = later[0][1]
    assert all(start >= probe_end for start, _, _ in later[1:])
    assert len(waits) == 1 and "waiting" in waits[0]


def test_limits_met_by_requests_already_in_flight_do_not_double_the_backoff() -> None:
    host = ScriptedHost([RateLimited("429", retry_after=None)] * 4, latency=0.1)
    requests = {f"k{n}": REQUEST for n in range(4)}
    waits: list[str] = []
    started = time.monotonic()

    batch = upload_many(
        host,
        requests,
        RetryPolicy(rate_limit_backoff=0.3, rate_limit_wait=10.0),
        jobs=4,
        on_success=lambda key, result: None,
        on_wait=waits.append,
    )

    assert len(batch.done) == 4
    # One backoff of 0.3 s, not 0.3 + 0.6 + 1.2 + 2.4: the four limits came from one burst.
    assert time.monotonic() - started < 1.5
    assert len(waits) == 1


def test_stopping_abandons_uploads_that_wait_and_gives_them_no_outcome() -> None:
    host = ScriptedHost([RateLimited("slow down", retry_after=30.0)])
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()

    batch = upload_many(
        host,
        {"a": REQUEST, "b": REQUEST},
        RetryPolicy(),
        jobs=2,
        on_success=lambda key, result: None,
        stop=stop,
    )

    assert time.monotonic() - started < 3
    assert "a" not in batch.done and "a" not in batch.failed
    assert len(host.calls) <= 2


def test_a_claim_can_settle_keys_before_they_are_sent() -> None:
    host = ScriptedHost([])
    claimed: list[list[str]] = []

    @contextmanager
    def claim(keys: list[str], stop: threading.Event) -> Iterator[list[str] | None]:
        claimed.append(list(keys))
        yield [key for key in keys if key != "elsewhere"]

    batch = upload_many(
        host,
        {"here": REQUEST, "elsewhere": REQUEST},
        RetryPolicy(),
        jobs=1,
        on_success=lambda key, result: None,
        claim=claim,
    )

    assert sorted(claimed) == [["elsewhere"], ["here"]]
    assert list(batch.done) == ["here"] and len(host.calls) == 1


@pytest.mark.parametrize("jobs", [1, 4])
@pytest.mark.parametrize(
    "error",
    [FileNotFoundError(2, "No such file or directory", "a.png"), ImageError("a.png: gone")],
)
def test_upload_many_turns_unreadable_files_into_failures(jobs: int, error: Exception) -> None:
    class VanishingHost(ScriptedHost):
        def upload(self, request: UploadRequest) -> UploadResult:
            raise error

    batch = upload_many(
        VanishingHost([]),
        {"a": REQUEST},
        RetryPolicy(),
        jobs=jobs,
        on_success=lambda key, result: None,
    )

    assert "could not be read while uploading" in str(batch.failed["a"])


class ScriptedBatchHost(ScriptedHost):
    """Takes up to `batch_size` files a request; the script gives one outcome per request."""

    batch_size = 3

    def __init__(self, outcomes: list[HostError | str]) -> None:
        super().__init__(outcomes)
        self.batches: list[list[str]] = []

    def upload_batch(self, requests: list[UploadRequest]) -> list[UploadResult | HostError]:
        self.batches.append([r.filename for r in requests])
        outcome = next(self._outcomes)
        if isinstance(outcome, HostError):
            raise outcome
        return [
            HostError("refused")
            if r.filename == "bad.png"
            else UploadResult(url=f"{outcome}/{r.filename}")
            for r in requests
        ]


def test_a_batch_host_gets_files_in_groups_and_per_file_outcomes() -> None:
    names = ["a.png", "b.png", "bad.png", "c.png", "d.png"]
    requests = {name: UploadRequest(Path(name), name, "image/png", 1) for name in names}
    host = ScriptedBatchHost([TransientHostError("502"), "https://h", "https://h"])
    recorded: list[str] = []

    batch = upload_many(
        host,
        requests,
        RetryPolicy(backoff_base=0.001),
        jobs=1,
        on_success=lambda key, result: recorded.append(key),
    )

    assert host.batches == [
        ["a.png", "b.png", "bad.png"],
        ["a.png", "b.png", "bad.png"],
        ["c.png", "d.png"],
    ]  # the failed request was retried whole
    assert sorted(batch.done) == sorted(recorded) == ["a.png", "b.png", "c.png", "d.png"]
    assert list(batch.failed) == ["bad.png"]
    assert batch.done["c.png"].url == "https://h/c.png"


def test_a_wait_said_to_be_zero_is_backed_off_not_hammered() -> None:
    host = ScriptedHost([RateLimited("429", retry_after=0.0), "https://h/a"])

    result, slept = run(host, RetryPolicy(rate_limit_backoff=5.0))

    assert isinstance(result, UploadResult) and slept == [5.0] and len(host.calls) == 2


def test_a_wait_beyond_max_retry_time_fails_every_upload_at_once() -> None:
    # A daily quota: one reply closes the gate for a day; nobody may sleep through it.
    host = ScriptedHost([RateLimited("quota used up", retry_after=86_400.0)], latency=0.05)
    requests = {f"k{n}": REQUEST for n in range(8)}
    started = time.monotonic()

    batch = upload_many(
        host,
        requests,
        RetryPolicy(max_retry_time=600.0),
        jobs=4,
        on_success=lambda key, result: None,
    )

    assert time.monotonic() - started < 5
    assert len(batch.failed) + len(batch.done) == 8 and batch.failed
    assert all("max_retry_time (600s)" in str(error) for error in batch.failed.values())


def test_a_recording_failure_stops_the_uploads_not_yet_started() -> None:
    host = ScriptedHost([], latency=0.02)
    requests = {f"k{n}": REQUEST for n in range(20)}

    def record(key: str, result: UploadResult) -> None:
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space left"):
        upload_many(host, requests, RetryPolicy(), jobs=2, on_success=record)

    assert len(host.calls) <= 4  # those in flight, not the 20


def test_a_request_waiting_in_a_hosts_own_pacing_is_not_sent_after_a_stop() -> None:
    budget = RateBudget("the test host's limit", HostErrors("test"))
    budget.reserve(1)  # in flight, unanswered: the next one waits for its reply
    stop = threading.Event()
    outcome: list[object] = []

    def second_request() -> None:
        with sending_for(stop):
            try:
                budget.reserve(1)
                outcome.append("sent")
            except Interrupted:
                outcome.append("interrupted")

    waiting = threading.Thread(target=second_request)
    waiting.start()
    time.sleep(0.2)
    stop.set()
    budget.settle(1, None)  # the first one's reply comes: the budget would let it go now
    waiting.join(timeout=5)

    assert outcome == ["interrupted"]
