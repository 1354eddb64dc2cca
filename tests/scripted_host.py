"""A host that answers from a script, and a clock that only moves when slept on: the
network seam and time of the transfer engine's unit tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from imgsync.errors import (
    HostError,
)
from imgsync.hosts.base import UploadRequest, UploadResult

REQUEST = UploadRequest(Path("a.png"), "a.png", "image/png", 10)


class ScriptedHost:
    """Answers each upload with the next scripted outcome (thread-safe), after `latency`."""

    type_name: ClassVar[str] = "scripted"
    identity = "scripted http://127.0.0.1"
    max_size = None

    def __init__(self, outcomes: Sequence[HostError | str], latency: float = 0.0) -> None:
        self._outcomes: Iterator[HostError | str] = iter(outcomes)
        self._lock = threading.Lock()
        self.latency = latency
        self.calls: list[tuple[float, float, str]] = []  # start, end, what was answered

    def upload(self, request: UploadRequest) -> UploadResult:
        start = time.monotonic()
        with self._lock:
            outcome = next(self._outcomes, "https://h/default")
        time.sleep(self.latency)
        with self._lock:
            self.calls.append((start, time.monotonic(), type(outcome).__name__))
        if isinstance(outcome, HostError):
            raise outcome
        return UploadResult(url=outcome, handle={"key": "k" + request.filename})


class ScriptedBatchHost(ScriptedHost):
    """Takes up to `batch_size` files a request; the script gives one outcome per request."""

    batch_size = 3

    def __init__(self, outcomes: Sequence[HostError | str]) -> None:
        super().__init__(outcomes)
        self.batches: list[list[str]] = []

    def upload_batch(self, requests: list[UploadRequest]) -> list[UploadResult | HostError]:
        self.batches.append([r.filename for r in requests])
        outcome = next(self._outcomes)
        if isinstance(outcome, HostError):
            raise outcome
        return [
            HostError("refused")
            if r.filename == "bad.png"
            else UploadResult(url=f"{outcome}/{r.filename}")
            for r in requests
        ]


class FakeClock:
    """Time that passes only when the code under test sleeps: waits are recorded, not spent."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds
