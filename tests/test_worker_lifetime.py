"""Parsing workers die with imgsync: a SIGKILLed run leaves no worker process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

# A parent that starts the workers as a run does, says their PIDs, then waits to be killed.
PARENT = """
import os, time
from imgsync.markdown.cores import Cores

with Cores(threshold=0) as cores:
    pool = cores.pool()
    pids = {pool.submit(os.getpid).result() for _ in range(8)}
    print(" ".join(map(str, sorted(pids))), flush=True)
    time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its status file says it is dead.
    with open(f"/proc/{pid}/status") as status:
        return "zombie" not in status.read()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's death signal")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no worker processes")
def test_workers_die_when_their_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert parent.stdout is not None
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert workers and parent.pid not in workers and all(alive(pid) for pid in workers)

    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)

    left = [pid for pid in workers if alive(pid)]
    for pid in left:  # don't leave them to the machine if the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == []
