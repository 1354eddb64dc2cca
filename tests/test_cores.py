"""Work spread over worker processes when there is enough of it, done here otherwise."""

from __future__ import annotations

import os
from collections.abc import Iterator

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


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to spread over")
def test_a_stream_gives_each_result_in_order_reading_items_only_as_workers_need_them() -> None:
    read: list[int] = []

    def items() -> Iterator[tuple[str, int]]:
        for n in range(200):
            read.append(n)
            yield f"key {n}", n

    with Cores() as cores:
        results = cores.stream(process_of, items(), size=PARALLEL_FROM_CHARS, count=200)
        key, (square, pid) = next(results)
        read_at_first = len(read)
        rest = list(results)

    assert (key, square) == ("key 0", 0) and pid != os.getpid()
    assert read_at_first < 200  # the first result came before every item was read
    assert [(k, s) for k, (s, _) in rest] == [(f"key {n}", n * n) for n in range(1, 200)]


def test_a_stream_of_little_text_is_done_here_one_item_at_a_time() -> None:
    read: list[int] = []

    def items() -> Iterator[tuple[int, int]]:
        for n in range(3):
            read.append(n)
            yield n, n

    with Cores() as cores:
        results = cores.stream(process_of, items(), size=PARALLEL_FROM_CHARS - 1, count=3)
        assert next(results) == (0, (0, os.getpid())) and read == [0]
        assert list(results) == [(1, (1, os.getpid())), (2, (4, os.getpid()))]
