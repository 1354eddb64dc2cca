"""A run's stop signal (Ctrl-C) as each thread sees it: the engine sets it, hosts ask it.

The transfer engine wraps every host request in `sending_for(stop)`; a host that
waits inside its own pacing (hosts/_pacing.py) asks `stopped()` before sending,
so it hears Ctrl-C without importing the engine or changing its signature.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The stop event of the run a thread is sending for.
_running_for: ContextVar[threading.Event | None] = ContextVar("imgsync_stop", default=None)


@contextmanager
def sending_for(stop: threading.Event) -> Iterator[None]:
    """While a host request runs in this thread: `stopped()` tells whether `stop` is set."""
    token = _running_for.set(stop)
    try:
        yield
    finally:
        _running_for.reset(token)


def stopped() -> bool:
    """Whether the run this thread sends for was stopped (Ctrl-C): send nothing more."""
    stop = _running_for.get()
    return stop is not None and stop.is_set()
