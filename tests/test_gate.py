"""The per-host gate (transfer/gate.py): one pause for every worker, one probe after it, a
deadline it will not wait past, and a stop it hears while waiting."""

from __future__ import annotations

import threading
import time

import pytest

from imgsync.errors import (
    AuthError,
    Interrupted,
    RateLimited,
)
from imgsync.hosts._http import HostErrors
from imgsync.hosts._pacing import RateBudget
from imgsync.stop_signal import sending_for
from imgsync.transfer.gate import HostGate
from imgsync.transfer.pool import upload_many
from imgsync.transfer.retry_policy import RetryPolicy
from tests.scripted_host import REQUEST, FakeClock, ScriptedHost


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
    # The first answer proves the host (the first request goes alone); then four go at once.
    host = ScriptedHost(["https://h/0", *[RateLimited("429", retry_after=None)] * 4], latency=0.1)
    requests = {f"k{n}": REQUEST for n in range(5)}
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

    assert len(batch.done) == 5
    # One backoff of 0.3 s, not 0.3 + 0.6 + 1.2 + 2.4: the four limits came from one burst.
    assert time.monotonic() - started < 1.5
    assert len(waits) == 1


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


# --- the gate itself, on a clock that moves only when slept on ----------------------------


def gate_on(clock: FakeClock, policy: RetryPolicy | None = None) -> HostGate:
    """A gate whose host has answered once: it is known to be there and to take requests."""
    gate = HostGate(policy or RetryPolicy(), clock=clock, sleep=clock.sleep)
    gate.answered(gate.enter())
    return gate


def test_the_first_request_to_a_host_goes_alone_until_it_is_answered() -> None:
    gate = HostGate(RetryPolicy())
    first = gate.enter()
    entered: list[bool] = []
    follower = threading.Thread(target=lambda: entered.append(gate.enter().probe))
    follower.start()

    follower.join(timeout=0.3)
    assert first.probe and follower.is_alive()  # a wrong token would be met once, not twice
    gate.answered(first)
    follower.join(timeout=5)
    assert entered == [False]


def test_after_a_verdict_on_the_host_nothing_more_is_let_through() -> None:
    gate = HostGate(RetryPolicy())
    ticket = gate.enter()

    with pytest.raises(AuthError):
        gate.failed_host(ticket, AuthError("the token was rejected"))
    with pytest.raises(AuthError, match="the token was rejected"):
        gate.enter()
    assert isinstance(gate.verdict, AuthError)


def test_an_open_gate_lets_requests_through_at_once_and_none_is_a_probe() -> None:
    clock = FakeClock()
    gate = gate_on(clock)

    tickets = [gate.enter() for _ in range(3)]

    assert clock.slept == [] and not any(ticket.probe for ticket in tickets)


def test_a_limit_that_says_how_long_closes_the_gate_for_everyone_that_long() -> None:
    clock = FakeClock()
    gate = gate_on(clock)
    first, second = gate.enter(), gate.enter()

    delay, news = gate.limited(first, RateLimited("429", retry_after=12.0))
    gate.release(second)
    after = gate.enter()

    assert (delay, news) == (12.0, True)
    assert clock.slept == [12.0]  # the next request, from any worker, waited it out
    assert not after.probe  # the host said when: no need to test the water first


def test_limits_that_say_no_wait_back_off_doubling_and_a_probe_goes_first() -> None:
    clock = FakeClock()
    gate = gate_on(clock, RetryPolicy(rate_limit_backoff=5.0, rate_limit_wait=15.0))

    delays = []
    for _ in range(4):
        ticket = gate.enter()
        delays.append(gate.limited(ticket, RateLimited("429", retry_after=None))[0])
    probe = gate.enter()

    assert delays == [5.0, 10.0, 15.0, 15.0]  # doubling up to rate_limit_wait
    assert probe.probe
    gate.answered(probe)  # the probe got through: the host takes requests again
    assert not gate.enter().probe


def test_a_limit_met_by_a_request_of_an_older_opening_does_not_double_the_backoff() -> None:
    clock = FakeClock()
    gate = gate_on(clock, RetryPolicy(rate_limit_backoff=5.0, rate_limit_wait=60.0))
    early, late = gate.enter(), gate.enter()  # both out before the gate closed

    first = gate.limited(early, RateLimited("429", retry_after=None))
    second = gate.limited(late, RateLimited("429", retry_after=None))

    assert first == (5.0, True)
    assert second == (5.0, False)  # the same burst: no news, no doubling


def test_a_caller_whose_deadline_falls_inside_the_closure_gets_the_limit_with_a_note() -> None:
    clock = FakeClock()
    gate = gate_on(clock, RetryPolicy(max_retry_time=600.0))
    gate.limited(gate.enter(), RateLimited("quota used up", retry_after=86_400.0))

    with pytest.raises(RateLimited, match=r"quota used up; gave up .*max_retry_time \(600s\)"):
        gate.enter(deadline=clock.now + 600.0)
    assert clock.slept == []  # it said so at once instead of sleeping first


def test_a_stopped_run_is_heard_at_the_gate_and_in_its_sleeps() -> None:
    stop = threading.Event()
    gate = HostGate(RetryPolicy(), stop=stop)
    stop.set()

    with pytest.raises(Interrupted):
        gate.enter()
    with pytest.raises(Interrupted):
        gate.sleep(30.0)  # returns at once: the stop event is what it waits on
