"""Sending one request with patience: rate limits waited out, transient failures retried."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import HostError, RateLimited
from ..hosts.base import Host, UploadRequest, UploadResult
from ..stop_signal import sending_for
from .gate import HostGate
from .retry_policy import RetryPolicy

T = TypeVar("T")


def call_with_retries(
    action: Callable[[], T],
    gate: HostGate,
    *,
    label: str,
    on_wait: Callable[[str], None] = lambda message: None,
) -> T:
    """Run one host request through `gate`; the last HostError if every attempt failed.

    Refusals (bad type, too large) raise at once; rate limits are waited out
    without counting as attempts; timeouts, dropped connections and 5xx are
    retried with exponential backoff and jitter. Both stop at the policy's
    attempts and time; Interrupted if the run is stopped while waiting. A failure
    about the host (bad credentials, wrong URL, no connection) is the gate's to
    decide, for every request to that host (HostGate.failed_host).
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
            if error.about_host:
                delay, news = gate.failed_host(ticket, error)  # raises once decided
                if news:
                    again = min(policy.unreachable_attempts, policy.max_attempts) - 1
                    on_wait(f"{error}; trying again in {delay:.0f}s (at most {again} more times)")
                continue  # enter() waits the gate out, with every other worker
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
