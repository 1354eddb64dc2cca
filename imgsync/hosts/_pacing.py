"""A host's request budget as its X-RateLimit headers tell it: limits obeyed before they bite."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import httpx

from ..errors import HostError, Interrupted
from ..stop_signal import stopped
from ._http import MAX_DIGITS, HostErrors, retry_after, whole_number

_RESET = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}(?:\.[0-9]{{1,9}})?")


class RateBudget:
    """What a host still lets us send, shared by the threads of one host.

    The server counts X-RateLimit-Remaining down until X-RateLimit-Reset (a Unix
    time, or seconds from now). Units sent and not answered yet count as spent, so
    threads can't overdraw the budget between replies; as the answers come, the
    server's own count takes over again, so no local error builds up. A unit is
    what the host counts: a request (Lsky), a file (PicHub). Without a reset time
    (Lsky sends none) the budget only keeps the units in flight within the limit:
    the rate limit itself is then met as a 429 and waited out by the caller.
    """

    def __init__(
        self, what: str, errors: HostErrors, clock: Callable[[], float] = time.time
    ) -> None:
        self._what = what  # e.g. "PicHub's upload limit", for messages
        self._errors, self._clock = errors, clock
        self._changed = threading.Condition()
        self._limit: int | None = None
        self._remaining = 0  # the least the server said within the window ending at _reset
        self._reset: float | None = None
        self._in_flight = 0  # units sent whose reply has not come yet
        self._answered = False  # whether any reply came yet
        self._left: int | None = None  # X-RateLimit-Remaining when no reset time is told

    def reserve(self, count: int) -> None:
        """Count `count` units as sent; RateLimited, before sending, if the budget is spent."""
        with self._changed:
            while (wait := self._wait(count)) is not None:
                if wait != 0:
                    size = "" if self._limit is None else f" ({self._limit} a window)"
                    said = wait if wait > 0 else None  # < 0: used up, and no word of when
                    self._errors.rate_limited(f"{self._what}{size} is used up", said, None, None)
                self._changed.wait(timeout=1.0)  # for a reply in flight to tell the budget
            if stopped():  # Ctrl-C, maybe while waiting here: nothing was sent, nothing will be
                raise Interrupted
            self._in_flight += count

    def _wait(self, count: int) -> float | None:
        """None to send now, 0 to wait for a reply in flight, else seconds until the reset
        (-1 when the budget is spent and the host never says when it comes back)."""
        now, limit = self._clock(), self._limit
        if limit is not None and count > limit:
            advice = f"set batch_size to {limit} or fewer in the host profile"
            message = f"a batch of {count} is more than {self._what} allows a window: {advice}"
            self._errors.fail(HostError, message, None)
        if self._reset is not None and now < self._reset:
            if self._remaining - self._in_flight >= count:
                return None
            # Only units in flight stand in the way: their replies may give some back.
            return 0.0 if self._remaining >= count else self._reset - now
        if self._reset is None and self._left is not None and self._left - self._in_flight < count:
            # Spent, says X-RateLimit-Remaining, with no reset time (Lsky): the caller backs
            # off, then the next request goes to learn the budget afresh.
            self._left = None
            return -1.0
        # No window known to be open: a new one starts with the whole limit, when known.
        # Until the first reply tells whether there is one, a single request goes alone;
        # a host whose replies say nothing of limits has none to obey.
        if not self._in_flight or (limit is None and self._answered):
            return None
        return None if (limit or 0) - self._in_flight >= count else 0.0

    def settle(self, count: int, response: httpx.Response | None) -> None:
        """Take `count` units off those in flight, and learn the budget from the reply."""
        with self._changed:
            self._in_flight -= count
            if response is not None:
                self._answered = True
                self._learn(response.status_code, response.headers)
            self._changed.notify_all()

    def _learn(self, status: int, headers: httpx.Headers) -> None:
        now = self._clock()
        limit = whole_number(headers.get("X-RateLimit-Limit"))
        remaining = whole_number(headers.get("X-RateLimit-Remaining"))
        reset = reset_at(headers, now)
        self._limit = limit or self._limit  # a limit of 0 would forbid every batch: not trusted
        if status == 429:
            remaining = 0 if remaining is None else remaining
            wait = retry_after(headers.get("Retry-After"))
            reset = now + wait if reset is None and wait is not None else reset
        if reset is None:
            self._left = remaining  # the budget, of a window whose end is not told
        if remaining is None or reset is None:
            return
        # Servers that compute the reset from their clock may round it either way by a second.
        if self._reset is None or reset > self._reset + 1:
            self._reset, self._remaining = reset, remaining
        elif reset >= self._reset - 1:
            self._reset, self._remaining = max(reset, self._reset), min(remaining, self._remaining)
        # Else a late reply from a window already closed: it says nothing about this one.


def reset_at(headers: httpx.Headers, now: float) -> float | None:
    """When the window ends, as a Unix time, from X-RateLimit-Reset; None if absent or odd."""
    # ASCII digits, maybe a fraction, and not many: float() would take "inf", "nan", "1e999",
    # non-ASCII digits or thousands of digits, none of them a time.
    match = _RESET.fullmatch(headers.get("X-RateLimit-Reset", "").strip())
    if match is None:
        return None
    reset = float(match.group())
    if reset > 1e11:  # milliseconds, as some servers send
        return reset / 1000
    return reset if reset > 1e9 else now + reset  # a count of seconds, as others send
