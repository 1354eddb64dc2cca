"""The worker pool (transfer/pool.py): uploads at once, each success recorded in its worker,
failures kept apart, claims honoured, a stop or a broken record ending the batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from imgsync.errors import (
    HostError,
    ImageError,
    RateLimited,
    TransientHostError,
)
from imgsync.hosts.base import UploadRequest, UploadResult
from imgsync.transfer.pool import upload_many
from imgsync.transfer.retry_policy import RetryPolicy
from tests.scripted_host import REQUEST, ScriptedBatchHost, ScriptedHost


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
    def claim(keys: Sequence[str], stop: threading.Event) -> Iterator[list[str] | None]:
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


def test_a_recording_failure_stops_the_uploads_not_yet_started() -> None:
    host = ScriptedHost([], latency=0.02)
    requests = {f"k{n}": REQUEST for n in range(20)}

    def record(key: str, result: UploadResult) -> None:
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space left"):
        upload_many(host, requests, RetryPolicy(), jobs=2, on_success=record)

    assert len(host.calls) <= 4  # those in flight, not the 20


def test_a_slow_record_holds_no_request_slot() -> None:
    """While a worker records its success (a journal fsync, a cache write), the next
    request goes: with jobs=1, the second upload is sent before the first is recorded."""
    host = ScriptedHost([], latency=0.01)
    second_sent = threading.Event()
    recorded: list[tuple[str, bool]] = []

    def record(key: str, result: UploadResult) -> None:
        if not recorded:  # the first success waits for the next request to go out
            second_sent.wait(timeout=5)
        recorded.append((key, second_sent.is_set()))

    def upload(request: UploadRequest) -> UploadResult:
        if host.calls:
            second_sent.set()
        return ScriptedHost.upload(host, request)

    host.upload = upload  # type: ignore[method-assign]
    batch = upload_many(
        host, {"a": REQUEST, "b": REQUEST}, RetryPolicy(), jobs=1, on_success=record
    )

    assert len(batch.done) == 2
    assert recorded[0][1], "the first record waited for nothing: the second went meanwhile"


@pytest.mark.parametrize("jobs", [1, 3])
def test_jobs_bounds_the_requests_in_flight(jobs: int) -> None:
    host = ScriptedHost([], latency=0.02)
    requests = {str(n): REQUEST for n in range(12)}

    batch = upload_many(
        host, requests, RetryPolicy(), jobs=jobs, on_success=lambda key, r: time.sleep(0.01)
    )

    assert len(batch.done) == 12
    edges = sorted(
        [(start, 1) for start, _, _ in host.calls] + [(end, -1) for _, end, _ in host.calls]
    )
    in_flight = peak = 0
    for _, step in edges:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak <= jobs
