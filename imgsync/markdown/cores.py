"""Running pure, CPU-bound work (parsing Markdown) on every core when there is enough of it."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

K = TypeVar("K")
T = TypeVar("T")
R = TypeVar("R")

# Starting workers costs about 0.2 s; below this much text one core is quicker.
PARALLEL_FROM_CHARS = 1_000_000
MAX_WORKERS = 8
# Items in the first chunk of `Cores.stream`: small, for the first results to come soon.
FIRST_CHUNK = 4


def worth_more_cores(size: int, items: int, threshold: int = PARALLEL_FROM_CHARS) -> bool:
    """Whether `items` pieces of work on `size` characters of text are worth other cores."""
    return size >= threshold and items >= 2 and (os.cpu_count() or 1) >= 2


def process_pool() -> ProcessPoolExecutor:
    """Worker processes, one per core (at most MAX_WORKERS).

    Workers are forked while this process runs a single thread (on Linux: they start
    at once with all that is loaded), else spawned: a fork would copy other threads
    (uploads, watch mode's observer) in whatever state they were. They ignore
    Ctrl-C: the main process hears it, stops giving them work and says so.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, wait

    from ..hosts.watchdog import WATCHDOG

    workers = max(1, min(os.cpu_count() or 1, MAX_WORKERS))
    WATCHDOG.stop_if_idle()  # the replies' watchdog, if it waits for none: single-threaded again
    alone = threading.active_count() == 1 and sys.platform.startswith("linux")
    context = multiprocessing.get_context("fork" if alone else "spawn")
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
    )
    # Start every worker now, with Ctrl-C held back in this thread: a child inherits the
    # mask, so a Ctrl-C while it starts can't kill it with a traceback before its
    # initializer ignores the signal. Held back, not lost: it arrives when unmasked.
    with _ctrl_c_held():
        wait([pool.submit(os.getpid) for _ in range(workers)])
    return pool


class Cores:
    """Worker processes, started on first use and shared by a run's parsing and rewriting.

    `with Cores() as cores:`; the workers are stopped when the block ends.
    `threshold`: the characters of text from which other cores are worth starting.
    """

    def __init__(self, threshold: int = PARALLEL_FROM_CHARS) -> None:
        self.threshold = threshold
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = process_pool()
            return self._pool

    def map(self, work: Callable[[T], R], items: Sequence[T], size: int) -> list[R]:
        """`[work(item) for item in items]`, spread over the cores when `size` (chars) is large.

        `work` must be a module-level function, its items and results picklable.
        """
        if not worth_more_cores(size, len(items), self.threshold):
            return [work(item) for item in items]
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
        chunk = max(1, len(items) // (workers * 4))
        return list(self.pool().map(work, items, chunksize=chunk))

    def stream(
        self, work: Callable[[T], R], items: Iterable[tuple[K, T]], size: int, count: int
    ) -> Iterator[tuple[K, R]]:
        """`(key, work(item))` for each of `count` `items`, in order, each as soon as it is done.

        Spread over the cores as `map` is when `size` (chars) is large, a few chunks ahead
        of the caller, small ones first: `items` is read only as the workers need more, and
        the first results come while later items are still to be read (or parsed). The keys
        stay here.
        """
        if not worth_more_cores(size, count, self.threshold):
            for key, item in items:
                yield key, work(item)
            return
        pool = self.pool()
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
        # Small chunks first, for the first results to come soon; then each twice the last,
        # up to map's, so that a large tree costs no more messages than with map.
        chunk, largest = FIRST_CHUNK, max(FIRST_CHUNK, count // (workers * 4))
        source = iter(items)
        ahead: deque[tuple[list[K], Future[list[R]]]] = deque()
        while True:
            while len(ahead) < workers * 2:
                keys, batch = [], []
                for key, item in itertools.islice(source, chunk):
                    keys.append(key)
                    batch.append(item)
                if not batch:
                    break
                chunk = min(chunk * 2, largest)
                ahead.append((keys, pool.submit(_each, work, batch)))
            if not ahead:
                return
            keys, done = ahead.popleft()
            yield from zip(keys, done.result(), strict=True)

    def __enter__(self) -> Cores:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _each(work: Callable[[T], R], batch: list[T]) -> list[R]:
    """One chunk of `Cores.stream`, in a worker."""
    return [work(item) for item in batch]


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _start_worker(parent: int) -> None:
    """In each worker: ignore Ctrl-C (the parent hears it), and die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with(parent)


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when `parent` dies, SIGKILL included (Linux).

    A killed imgsync would otherwise leave its parsing workers behind, each holding tens
    of MB, waiting on a pipe that no one writes. Elsewhere the workers notice the broken
    pipe at their next read, as before.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # only here: the one platform call this needs

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took hold
        os._exit(1)
