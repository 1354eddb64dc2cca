"""Work spread over worker processes when there is enough of it, done here otherwise."""

from __future__ import annotations

import os

import pytest

from imgsync.markdown.cores import PARALLEL_FROM_CHARS, Cores


def process_of(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to spread over")
def test_much_text_is_parsed_in_worker_processes_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IMGSYNC_PARALLEL_FROM_CHARS", raising=False)
    with Cores() as cores:
        results = cores.map(process_of, list(range(40)), size=PARALLEL_FROM_CHARS)

    assert [square for square, _ in results] == [n * n for n in range(40)]
    assert os.getpid() not in {pid for _, pid in results}


def test_little_text_is_done_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMGSYNC_PARALLEL_FROM_CHARS", raising=False)
    with Cores() as cores:
        results = cores.map(process_of, [1, 2, 3], size=PARALLEL_FROM_CHARS - 1)

    assert results == [(1, os.getpid()), (4, os.getpid()), (9, os.getpid())]
