"""One thread that calls what is due at its deadline: the watchdog of every reply read.

A threading.Timer for each reply started a thread for each upload (300 in a first sync
of 300 images), and each start waits for the new thread to run. One daemon thread, made
when first needed, keeps the deadlines in a heap instead.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable


class Alarm:
    """A call due at a deadline, until cancelled."""

    __slots__ = ("call", "cancelled", "due")

    def __init__(self, due: float, call: Callable[[], None]) -> None:
        self.due = due
        self.call = call
        self.cancelled = False

    def cancel(self) -> None:
        """Not called, if not called yet (as Timer.cancel: one under way finishes)."""
        self.cancelled = True


class Watchdog:
    """Calls each alarm's function once its deadline (time.monotonic) has passed, in a
    daemon thread of its own; a function must be quick (one that raises is passed over:
    the thread goes on, for the alarms after it)."""

    def __init__(self) -> None:
        self._order = itertools.count()  # equal deadlines: first set, first called
        self._start_afresh()
        # A forked child has none of the parent's threads: its first alarm makes its own.
        os.register_at_fork(after_in_child=self._start_afresh)

    def _start_afresh(self) -> None:
        self._due: list[tuple[float, int, Alarm]] = []
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def set(self, seconds: float, call: Callable[[], None]) -> Alarm:
        """`call()` in `seconds`, unless the alarm returned is cancelled first."""
        alarm = Alarm(time.monotonic() + seconds, call)
        with self._changed:
            heapq.heappush(self._due, (alarm.due, next(self._order), alarm))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
                self._thread.start()
            elif self._due[0][2] is alarm:  # sooner than what the thread waits for
                self._changed.notify()
        return alarm

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._due and self._due[0][2].cancelled:
                    heapq.heappop(self._due)
                if not self._due:
                    self._changed.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                alarm = heapq.heappop(self._due)[2]
            if not alarm.cancelled:
                try:
                    alarm.call()
                except Exception:  # one broken call must not stop every later one
                    continue


WATCHDOG = Watchdog()  # the process's one; its thread is made by the first alarm set
