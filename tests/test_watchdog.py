"""The watchdog thread: each alarm called once at its deadline, in deadline order, unless
cancelled; test_bounded.py reads drips through it end to end."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from imgsync.hosts.watchdog import Watchdog


def test_alarms_are_called_in_deadline_order_whatever_the_order_set() -> None:
    dog = Watchdog()
    called: list[str] = []
    done = threading.Event()

    def note(name: str) -> Callable[[], None]:
        return lambda: called.append(name)

    def last() -> None:
        called.append("late")
        done.set()

    dog.set(0.30, last)
    dog.set(0.10, note("soon"))  # sooner than what the thread waits for
    dog.set(0.20, note("middle"))

    assert done.wait(5)
    assert called == ["soon", "middle", "late"]


def test_a_cancelled_alarm_is_never_called() -> None:
    dog = Watchdog()
    called: list[str] = []
    done = threading.Event()
    dog.set(0.05, lambda: called.append("cancelled")).cancel()
    dog.set(0.15, done.set)

    assert done.wait(5)
    time.sleep(0.05)
    assert called == []


def test_an_alarm_is_not_called_before_its_deadline() -> None:
    dog = Watchdog()
    at: list[float] = []
    done = threading.Event()
    start = time.monotonic()

    def ring() -> None:
        at.append(time.monotonic())
        done.set()

    dog.set(0.2, ring)

    assert done.wait(5)
    assert at[0] - start >= 0.2


def test_a_forked_child_has_a_watchdog_of_its_own() -> None:
    dog = Watchdog()
    done = threading.Event()
    dog.set(0.01, done.set)  # the parent's thread now runs
    assert done.wait(5)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit status
        fired = threading.Event()
        dog.set(0.01, fired.set)
        os._exit(0 if fired.wait(5) else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_an_alarm_that_raises_does_not_stop_the_ones_after_it() -> None:
    dog = Watchdog()
    done = threading.Event()

    def broken() -> None:
        raise RuntimeError("a bug in one alarm")

    dog.set(0.01, broken)
    dog.set(0.05, done.set)

    assert done.wait(5)
