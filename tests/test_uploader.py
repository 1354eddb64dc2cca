"""Retry and wait rules, with a scripted host standing in at the network seam."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.errors import AuthError, HostError, ImageError, RateLimited, TransientHostError
from imgsync.hosts.base import UploadRequest, UploadResult
from imgsync.uploader import MAX_RATE_LIMIT_WAITS, RetryPolicy, upload_many, upload_with_retries

REQUEST = UploadRequest(Path("a.png"), "a.png", "image/png", 10)


class ScriptedHost:
    """Answers each upload with the next scripted outcome."""

    type_name = "scripted"
    identity = "scripted http://127.0.0.1"
    max_size = None

    def __init__(self, outcomes: list[HostError | str]) -> None:
        self._outcomes: Iterator[HostError | str] = iter(outcomes)
        self.calls = 0

    def upload(self, request: UploadRequest) -> UploadResult:
        self.calls += 1
        outcome = next(self._outcomes)
        if isinstance(outcome, HostError):
            raise outcome
        return UploadResult(url=outcome, handle={"key": "k" + request.filename})


DEFAULT_POLICY = RetryPolicy()


def run(host: ScriptedHost, policy: RetryPolicy = DEFAULT_POLICY) -> tuple[object, list[float]]:
    slept: list[float] = []
    try:
        result: object = upload_with_retries(host, REQUEST, policy, sleep=slept.append)
    except HostError as error:
        result = error
    return result, slept


def test_refusals_are_not_retried() -> None:
    host = ScriptedHost([HostError("too large"), "https://h/a.png"])

    result, slept = run(host)

    assert isinstance(result, HostError) and host.calls == 1 and slept == []


def test_bad_credentials_are_not_retried() -> None:
    result, slept = run(ScriptedHost([AuthError("bad token")]))

    assert isinstance(result, AuthError) and slept == []


def test_transient_failures_back_off_then_succeed() -> None:
    host = ScriptedHost([TransientHostError("502"), TransientHostError("timeout"), "https://h/a"])

    result, slept = run(host, RetryPolicy(max_attempts=4, backoff_base=1.0))

    assert isinstance(result, UploadResult) and result.url == "https://h/a"
    assert len(slept) == 2
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0  # exponential, with jitter


def test_transient_failures_give_up_after_max_attempts() -> None:
    host = ScriptedHost([TransientHostError("502")] * 5)

    result, slept = run(host, RetryPolicy(max_attempts=3))

    assert isinstance(result, TransientHostError) and host.calls == 3 and len(slept) == 2


def test_rate_limits_wait_as_told_or_the_configured_time() -> None:
    host = ScriptedHost(
        [
            RateLimited("429", retry_after=None),
            RateLimited("quota", retry_after=7.0),
            "https://h/a",
        ]
    )

    result, slept = run(host, RetryPolicy(max_attempts=1, rate_limit_wait=2.5))

    assert isinstance(result, UploadResult)
    assert slept == [2.5, 7.0]  # waits don't use up attempts


def test_rate_limit_waits_are_bounded() -> None:
    host = ScriptedHost([RateLimited("429", retry_after=1.0)] * (MAX_RATE_LIMIT_WAITS + 5))

    result, slept = run(host)

    assert isinstance(result, RateLimited) and len(slept) == MAX_RATE_LIMIT_WAITS


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
