"""The watchdog thread: each alarm called once at its deadline, in deadline order, unless
cancelled; test_bounded.py reads drips through it end to end."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable

import pytest

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


def test_a_cancelled_alarm_lets_go_of_its_call_at_once() -> None:
    dog = Watchdog()

    class Call:
        def __call__(self) -> None:
            pass

    call = Call()
    gone = weakref.ref(call)
    dog.set(3600, call).cancel()  # a reply read long before its deadline
    del call
    gc.collect()

    assert gone() is None


def test_cancelled_alarms_do_not_pile_up() -> None:
    dog = Watchdog()
    for _ in range(1000):
        dog.set(3600, lambda: None).cancel()

    assert len(dog._due) <= 64


def test_an_alarm_too_far_off_does_not_stop_the_ones_after_it() -> None:
    dog = Watchdog()
    dog.set(float("inf"), lambda: None)
    time.sleep(0.1)  # the thread now waits for it
    done = threading.Event()
    dog.set(0.05, done.set)

    assert done.wait(5)


def test_an_idle_watchdog_stops_its_thread_and_a_new_alarm_starts_one() -> None:
    dog = Watchdog()
    first = threading.Event()
    dog.set(0.01, first.set)
    assert first.wait(5)
    thread = dog._thread
    assert thread is not None and thread.is_alive()
    dog.stop_if_idle()
    assert dog._thread is None and not thread.is_alive()
    again = threading.Event()
    dog.set(0.01, again.set)

    assert again.wait(5)


def test_a_pending_alarm_keeps_the_thread() -> None:
    dog = Watchdog()
    done = threading.Event()
    dog.set(0.3, done.set)
    dog.stop_if_idle()

    assert done.wait(5)


# A run that read a host's reply, then starts its workers (`sync --reprocess` uploads
# first; watch mode's later runs): its pool is still forked, not spawned.
READ_THEN_POOL = """
import threading, time, httpx
from imgsync.hosts.bounded import post_bounded
from imgsync.markdown.cores import process_pool
from imgsync.testing.attacker import Attacker, json_answer

with Attacker(json_answer({"status": True}, status=201)) as attacker:
    with httpx.Client(timeout=5.0) as http:
        post_bounded(http, attacker.origin + "/upload", headers={}, data={"a": "b"},
                     files=None, host="test")
stop = time.monotonic() + 5  # the fake server's threads end in a moment
while threading.active_count() > 2 and time.monotonic() < stop:
    time.sleep(0.05)
pool = process_pool()
print(pool._mp_context.get_start_method())
pool.shutdown()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks only on Linux")
def test_workers_are_still_forked_after_a_reply_was_read() -> None:
    done = subprocess.run(
        [sys.executable, "-c", READ_THEN_POOL], capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fork"]
