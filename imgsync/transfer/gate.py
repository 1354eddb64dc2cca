"""The gate all requests to one host pass: a rate limit is one pause for every worker."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import HostError, HostUnreachable, Interrupted, RateLimited
from .retry_policy import RetryPolicy


@dataclass(frozen=True)
class Ticket:
    """A request let through the gate: whether it is the probe, and in which opening it went."""

    probe: bool
    opening: int
    outage: int = 0  # host-level failures counted when it went: an older one's is no news


class HostGate:
    """What the workers of one host share: whether the host can be used at all, and the moment
    it lets requests through again.

    Until one request has had an answer, it goes alone: a wrong token, a wrong URL or a
    host that is down is met once, not by every worker at the same moment. A failure about
    the host (AuthError, WrongEndpoint, HostUnreachable: `about_host`) is the host's
    verdict, for every upload still to go: rejected credentials and a wrong URL at once,
    an unreachable host after `unreachable_attempts` in all (none more where retrying
    cannot help, as for a name that does not resolve). Once there is a verdict, every
    request still to go raises it without being sent.

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
        self._proven = False  # a request had an answer: the host is there and takes ours
        self._outage = 0  # host-level failures in a row, each from a later attempt
        self._verdict: HostError | None = None  # the host can't be used: why

    @property
    def verdict(self) -> HostError | None:
        """Why no request goes to this host any more, once that is decided."""
        return self._verdict

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
                if self._verdict is not None:
                    raise self._verdict.copy()
                delay = self._open_at - self._clock()
                if self._open_at > deadline and self._closed_by is not None:
                    limit = f"{self.policy.max_retry_time:g}s"
                    raise self._closed_by.with_note(
                        f"gave up as the wait would last beyond max_retry_time ({limit})"
                    )
                if delay <= 0 and not self._probe_out:
                    self._probe_out = self._unstated > 0 or self._outage > 0 or not self._proven
                    return Ticket(self._probe_out, self._opening, self._outage)
                if delay <= 0:  # a probe is out: its outcome decides
                    self._changed.wait(timeout=0.05)
                    continue
            self.sleep(delay)

    def answered(self, ticket: Ticket) -> None:
        """The request got an answer that was not a rate limit: the host takes requests."""
        with self._changed:
            if ticket.opening == self._opening:
                self._unstated = 0
            self._proven = True
            self._outage = 0
            self.release(ticket)

    def failed_host(self, ticket: Ticket, error: HostError) -> tuple[float, bool]:
        """A failure about the host itself (`error.about_host`).

        Returns (seconds until the next attempt may go, whether this failure is news: the
        first of an outage) when the host is worth another attempt; otherwise the host's
        verdict is decided (if it was not already) and raised.
        """
        with self._changed:
            if ticket.probe:
                self._probe_out = False
            self._changed.notify_all()
            if self._verdict is not None:
                raise self._verdict.copy()
            attempts = min(self.policy.unreachable_attempts, self.policy.max_attempts)
            news = ticket.outage == self._outage  # not one of several requests out at once
            if news:
                self._outage += 1
            if not (isinstance(error, HostUnreachable) and error.worth_retrying):
                self._verdict = error
            elif self._outage >= attempts:
                self._verdict = error.with_note(f"gave up after {self._outage} attempts")
            if self._verdict is not None:
                raise self._verdict
            delay = self.policy.unreachable_backoff * 2 ** (self._outage - 1)
            self._open_at = max(self._open_at, self._clock() + delay)
            return delay, news and self._outage == 1

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
