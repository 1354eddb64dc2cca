"""Write-back (writeback.py): each file rewritten once its images settle, checked, written whole."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

from imgsync.markdown.cores import Cores
from imgsync.markdown.text_file import read_markdown
from imgsync.report import Report
from imgsync.scan import scan_markdown
from imgsync.state.stamps import Stamps
from imgsync.writeback import FileToRewrite, Writeback

URL_A, URL_B = "https://img.test/a.png", "https://img.test/b.png"
T = TypeVar("T")


def post(root: Path, name: str, text: str) -> FileToRewrite:
    """A post on disk, read and scanned; its images a.png and b.png stand for MD5s "a" and "b"."""
    path = root / name
    path.write_bytes(text.encode())
    markdown = read_markdown(path)
    scan = scan_markdown(markdown.text)
    return FileToRewrite(markdown, scan, [(ref, ref.url[0]) for ref in scan.local_refs])


def writeback(
    root: Path,
    files: list[FileToRewrite],
    cores: Cores,
    heard: list[tuple[Path, bytes]] | None = None,
) -> tuple[Writeback, Report]:
    """A write-back of `files` and the report it fills; `heard` gets each file it writes."""
    report, stamps = Report(), Stamps.load(root / ".imgsync")

    def written(path: Path, data: bytes) -> None:
        if heard is not None:
            heard.append((path, data))

    return Writeback(files, report, stamps, cores, written), report


def test_every_file_is_rewritten_with_the_urls_once_finished(tmp_path: Path) -> None:
    one = post(tmp_path, "one.md", '# One\r\n\r\n![a](a.png) and ![b](b.png "B")\r\n')
    two = post(tmp_path, "two.md", "![again](a.png)\n")
    heard: list[tuple[Path, bytes]] = []
    with Cores(threshold=10**12) as cores:  # one core: nothing is written before finish()
        back, report = writeback(tmp_path, [one, two], cores, heard=heard)
        back.settled("a", URL_A)
        back.settled("b", URL_B)
        assert b"a.png)" in (tmp_path / "one.md").read_bytes()
        back.finish()

    assert (tmp_path / "one.md").read_bytes() == (
        b'# One\r\n\r\n![a](https://img.test/a.png) and ![b](https://img.test/b.png "B")\r\n'
    )
    assert (tmp_path / "two.md").read_bytes() == b"![again](https://img.test/a.png)\n"
    assert report.files_changed == [one.markdown.path, two.markdown.path]
    assert report.links_rewritten == 3 and report.failures == []
    assert heard == [(p, p.read_bytes()) for p in report.files_changed]


def test_with_other_cores_a_file_is_written_while_other_images_are_still_uploading(
    tmp_path: Path,
) -> None:
    ready = post(tmp_path, "ready.md", "![a](a.png)\n")
    waiting = post(tmp_path, "waiting.md", "![b](b.png)\n")
    with Cores(threshold=0) as cores:
        back, report = writeback(tmp_path, [ready, waiting], cores)
        back.settled("a", URL_A)  # b is still going up
        deadline = time.monotonic() + 30
        while b"img.test" not in ready.markdown.path.read_bytes():
            assert time.monotonic() < deadline, "ready.md was not written before finish()"
            time.sleep(0.02)
        assert waiting.markdown.path.read_bytes() == b"![b](b.png)\n"
        back.settled("b", URL_B)
        back.finish()

    assert waiting.markdown.path.read_bytes() == b"![b](https://img.test/b.png)\n"
    assert report.files_changed == [ready.markdown.path, waiting.markdown.path]


def test_a_failed_image_leaves_its_reference_and_the_rest_is_rewritten(tmp_path: Path) -> None:
    mixed = post(tmp_path, "mixed.md", "![a](a.png)\n![b](b.png)\n")
    failed_only = post(tmp_path, "failed.md", "![b](b.png)\n")
    before = os.stat(failed_only.markdown.path).st_mtime_ns
    with Cores(threshold=10**12) as cores:
        back, report = writeback(tmp_path, [mixed, failed_only], cores)
        back.settled("a", URL_A)
        back.settled("b", None)
        back.finish()

    assert mixed.markdown.path.read_bytes() == b"![a](https://img.test/a.png)\n![b](b.png)\n"
    assert os.stat(failed_only.markdown.path).st_mtime_ns == before  # nothing to write: untouched
    assert report.files_changed == [mixed.markdown.path] and report.links_rewritten == 1


def test_a_file_saved_since_it_was_read_is_left_alone_and_reported(tmp_path: Path) -> None:
    edited = post(tmp_path, "edited.md", "![a](a.png)\n")
    edited.markdown.path.write_bytes(b"![a](a.png)\n\nA new paragraph, saved meanwhile.\n")
    with Cores(threshold=10**12) as cores:
        back, report = writeback(tmp_path, [edited], cores)
        back.settled("a", URL_A)
        back.finish()

    assert edited.markdown.path.read_bytes().endswith(b"saved meanwhile.\n")
    assert b"img.test" not in edited.markdown.path.read_bytes()
    assert report.files_changed == [] and len(report.failures) == 1
    assert report.failures[0].where.path == edited.markdown.path


class CountingWorkers(Cores):
    """Workers in threads of this process that count the jobs they are given."""

    def __init__(self, threshold: int) -> None:
        super().__init__(threshold)
        self.jobs = 0
        self._threads = _CountingPool(self)

    def pool(self) -> ProcessPoolExecutor:
        return self._threads  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        self._threads.shutdown(wait=True)


class _CountingPool(ThreadPoolExecutor):
    def __init__(self, owner: CountingWorkers) -> None:
        super().__init__(max_workers=2)
        self.owner = owner

    def submit(self, fn: Callable[..., T], /, *args: object, **kwargs: object) -> Future[T]:
        self.owner.jobs += 1
        return super().submit(fn, *args, **kwargs)


class NoWorkers(Cores):
    """Other cores are worth it, but no worker process can be started (a failed fork)."""

    def pool(self) -> ProcessPoolExecutor:
        raise OSError(11, "Resource temporarily unavailable")


class DyingWorkers(Cores):
    """Workers that die on every job, as a pool does when the OS kills its processes."""

    def pool(self) -> ProcessPoolExecutor:
        return _DyingPool()


class _DyingPool(ProcessPoolExecutor):
    def __init__(self) -> None:  # no processes: every job's future has already failed
        pass

    def submit(self, fn: Callable[..., T], /, *args: object, **kwargs: object) -> Future[T]:
        future: Future[T] = Future()
        future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
        return future


def test_without_worker_processes_every_file_is_written_in_this_process(tmp_path: Path) -> None:
    one, two = post(tmp_path, "one.md", "![a](a.png)\n"), post(tmp_path, "two.md", "![b](b.png)\n")
    for cores in (NoWorkers(threshold=0), DyingWorkers(threshold=0)):
        for file in (one, two):
            file.markdown.path.write_bytes(file.markdown.text.encode())
        back, report = writeback(tmp_path, [one, two], cores)
        back.settled("a", URL_A)
        back.settled("b", URL_B)
        back.finish()

        assert one.markdown.path.read_bytes() == b"![a](https://img.test/a.png)\n", cores
        assert two.markdown.path.read_bytes() == b"![b](https://img.test/b.png)\n", cores
        assert report.failures == [] and report.links_rewritten == 2


def test_a_file_naming_one_image_twice_is_written_once_and_counted(tmp_path: Path) -> None:
    # Its image settles once, but the file is listed under it twice: it must be queued once,
    # or the second job finds the file written and its "unchanged" replaces the first's result.
    twice = post(tmp_path, "twice.md", "![a](a.png)\n\n![again](a.png)\n")
    other = post(tmp_path, "other.md", "![b](b.png)\n")
    cores = CountingWorkers(threshold=0)
    with cores:
        back, report = writeback(tmp_path, [twice, other], cores)
        back.settled("a", URL_A)
        back.settled("b", URL_B)
        back.finish()

    assert twice.markdown.path.read_bytes() == (
        b"![a](https://img.test/a.png)\n\n![again](https://img.test/a.png)\n"
    )
    assert report.files_changed == [twice.markdown.path, other.markdown.path]
    assert report.links_rewritten == 3
    assert cores.jobs == 2  # one a file, not one a reference
