"""Retrying one request (transfer/retry.py): refusals at once, transient failures backed off,
rate limits waited out, everything within max_attempts and max_retry_time."""

from __future__ import annotations

from imgsync.errors import (
    AuthError,
    HostError,
    RateLimited,
    TransientHostError,
)
from imgsync.hosts.base import UploadResult
from imgsync.transfer.gate import HostGate
from imgsync.transfer.retry import upload_with_retries
from imgsync.transfer.retry_policy import RetryPolicy
from tests.scripted_host import REQUEST, FakeClock, ScriptedHost


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


def test_a_wait_said_to_be_zero_is_backed_off_not_hammered() -> None:
    host = ScriptedHost([RateLimited("429", retry_after=0.0), "https://h/a"])

    result, slept = run(host, RetryPolicy(rate_limit_backoff=5.0))

    assert isinstance(result, UploadResult) and slept == [5.0] and len(host.calls) == 2
