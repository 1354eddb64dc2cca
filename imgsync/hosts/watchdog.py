"""One thread that calls what is due at its deadline: the watchdog of every reply read.

A threading.Timer for each reply started a thread for each upload, and each start waits
for the new thread to run while the upload holds its slot (the easy tree's first sync in
benchmarks/bench.py: 2.26 s with a Timer each, 2.19 s with this). One daemon thread, made
when first needed, keeps the deadlines in a heap instead; `stop_if_idle`
ends it when nothing is pending, so a process about to fork its workers is single-threaded
again (markdown/cores.py forks only then).
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable

LONGEST_WAIT = 3600.0  # seconds: a longer wait can overflow; a later deadline is looked at again


class Alarm:
    """A call due at a deadline, until cancelled."""

    __slots__ = ("call", "due")

    def __init__(self, due: float, call: Callable[[], None]) -> None:
        self.due = due
        self.call: Callable[[], None] | None = call

    @property
    def cancelled(self) -> bool:
        return self.call is None

    def cancel(self) -> None:
        """Not called, if not called yet (as Timer.cancel: one under way finishes); the
        function (and the socket it would shut) is let go at once."""
        self.call = None


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
        self._swept = 0  # alarms left by the last sweep of the cancelled ones
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def set(self, seconds: float, call: Callable[[], None]) -> Alarm:
        """`call()` in `seconds`, unless the alarm returned is cancelled first. RuntimeError
        if no thread can be started (as Timer.start), and then nothing is kept."""
        alarm = Alarm(time.monotonic() + seconds, call)
        with self._changed:
            if self._thread is None or not self._thread.is_alive():
                thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
                thread.start()  # it waits for this lock: it sees itself as the thread
                self._thread = thread
            heapq.heappush(self._due, (alarm.due, next(self._order), alarm))
            if len(self._due) > max(64, 2 * self._swept):
                self._sweep()  # replies read long before their deadline: let them go
            if self._due[0][2] is alarm:  # sooner than what the thread waits for
                self._changed.notify()
        return alarm

    def stop_if_idle(self) -> None:
        """End the thread if no alarm is pending; the next alarm set starts another."""
        with self._changed:
            self._sweep()
            thread = self._thread
            if self._due or thread is None:
                return
            self._thread = None
            self._changed.notify()
        thread.join()

    def _sweep(self) -> None:
        """Drop the cancelled alarms (the lock held)."""
        self._due = [entry for entry in self._due if not entry[2].cancelled]
        heapq.heapify(self._due)
        self._swept = len(self._due)

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            with self._changed:
                if self._thread is not me:  # stopped (stop_if_idle)
                    return
                while self._due and self._due[0][2].cancelled:
                    heapq.heappop(self._due)
                if not self._due:
                    self._changed.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._changed.wait(min(wait, LONGEST_WAIT))
                    continue
                call = heapq.heappop(self._due)[2].call
            if call is not None:
                try:
                    call()
                except Exception:  # one broken call must not stop every later one
                    continue


WATCHDOG = Watchdog()  # the process's one; its thread is made by the first alarm set
