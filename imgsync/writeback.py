"""Writing rewritten files back, each as soon as every image it references has an outcome.

While uploads go on, a file whose images all have their URLs is rewritten, checked
(rewrite.verify_rewrite parses it again) and written: on other cores when there is
much text, so that this work hides behind the network. Whatever is left when the
uploads end (a failure, Ctrl-C) is rewritten then with the URLs known.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import MarkdownError, RewriteRefused
from .markdown.cores import Cores, worth_more_cores
from .markdown.destinations import join_suffix
from .markdown.text_file import MarkdownText, write_markdown
from .report import Failure, Location, Report
from .rewrite import Replacement, rewrite_markdown
from .scan import ImageRef, ScanResult
from .state.stamps import Stamps

if TYPE_CHECKING:
    from concurrent.futures import Future


@dataclass
class FileToRewrite:
    """A Markdown file with its local references, each with the MD5 of the image it names.

    `suffixes`: for remote references (migrate), by where each starts, the part of the old
    URL's query and fragment that belongs to the reference, kept on the new URL.
    """

    markdown: MarkdownText
    scan: ScanResult
    refs: list[tuple[ImageRef, str]]
    suffixes: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Job:
    """What a worker needs to rewrite one file; picklable."""

    markdown: MarkdownText
    replacements: list[Replacement]
    scan: ScanResult


@dataclass(frozen=True)
class _Outcome:
    """What became of one file: written or not, and its bytes and stat after; or why not."""

    changed: bool = False
    data: bytes = b""
    stat: os.stat_result | None = None
    seen_ns: int = 0  # wall time just before that stat
    refused: str = ""


class Writeback:
    """Rewrites each file of `files` once all its images are settled (see `settled`)."""

    def __init__(
        self,
        files: Sequence[FileToRewrite],
        report: Report,
        stamps: Stamps | None,
        cores: Cores,
        on_written: Callable[[Path, bytes], None] | None = None,
    ) -> None:
        self._files: list[FileToRewrite] = []
        self._report = report
        self._changed = set(report.files_changed)  # report.files_changed, to look up
        self._stamps = stamps
        self._on_written = on_written
        self._lock = threading.Lock()
        self._urls: dict[str, str] = {}
        self._settled: set[str] = set()  # every image with an outcome, URL or not
        self._waiting_for: list[set[str]] = []
        self._files_of: dict[str, list[int]] = {}
        self._started: dict[int, Future[_Outcome]] = {}
        self._size = 0
        # Rewrite files as their images settle only when other cores do it; else in finish().
        self._early = False
        self._cores = cores
        for file in files:
            self.add(file)

    def add(self, file: FileToRewrite) -> None:
        """One more file to rewrite once its images settle (the pipeline finds them as it
        scans, while the first images go up); some may have settled already."""
        with self._lock:
            index = len(self._files)
            waiting = {md5 for _, md5 in file.refs} - self._settled
            # Once per file, however often it names the image: a file listed twice would be
            # queued twice, and the second job, finding it written, would count it unchanged.
            for md5 in waiting:
                self._files_of.setdefault(md5, []).append(index)
            self._waiting_for.append(waiting)
            self._files.append(file)
            self._size += len(file.markdown.text)
            if not self._early:
                # Decided as the files come: from the moment their text is worth other cores,
                # those whose images all settled meanwhile are started too.
                self._early = worth_more_cores(self._size, len(self._files), self._cores.threshold)
                if not self._early:
                    return
                self._start(i for i, left in enumerate(self._waiting_for) if not left)
            elif not waiting:
                self._start([index])

    def settled(self, md5: str, url: str | None) -> None:
        """The image `md5` has its URL, or failed (None); may be called from any thread."""
        with self._lock:
            self._settled.add(md5)
            if url is not None:
                self._urls[md5] = url
            ready = []
            for index in self._files_of.get(md5, ()):
                self._waiting_for[index].discard(md5)
                if not self._waiting_for[index]:
                    ready.append(index)
            if self._early:
                self._start(ready)

    def _start(self, ready: Iterable[int]) -> None:
        """Rewrite these files on other cores, now that all their images settled (locked)."""
        for index in ready:
            if index in self._started:
                continue
            job = self._job(index)
            if job is None:
                continue
            # No workers to be had: a broken or shut pool (RuntimeError), a failed fork
            # (OSError), a platform without process semaphores (ImportError,
            # NotImplementedError). finish() then writes the file in this process.
            with contextlib.suppress(RuntimeError, OSError, ImportError, NotImplementedError):
                self._started[index] = self._cores.pool().submit(_write_back, job)

    def finish(self) -> None:
        """Rewrite what is left with the URLs known, wait for the rest, and report it all."""
        for index in range(len(self._files)):
            outcome = None
            if index in self._started:
                try:
                    outcome = self._started[index].result()
                except Exception:
                    # Whatever the worker died of (a broken pool, a result that won't pickle),
                    # the file is redone here: write_markdown's guard makes a redo safe, and a
                    # real bug raises again here, in this process, with its traceback.
                    outcome = None
            if outcome is None:
                with self._lock:
                    job = self._job(index)
                if job is None:
                    continue
                outcome = _write_back(job)
            self._take(self._files[index], outcome, self._job_size(index))

    def _job(self, index: int) -> _Job | None:
        """The replacements of one file with the URLs known now; None if there are none."""
        file = self._files[index]
        replacements = []
        for ref, md5 in file.refs:
            url = self._urls.get(md5)
            target = ref.target
            suffix = target.suffix if target is not None else file.suffixes.get(ref.start)
            if url is not None and suffix is not None:
                replacements.append(Replacement(ref, join_suffix(url, suffix)))
        return _Job(file.markdown, replacements, file.scan) if replacements else None

    def _job_size(self, index: int) -> int:
        file = self._files[index]
        return sum(1 for _, md5 in file.refs if md5 in self._urls)

    def _take(self, file: FileToRewrite, outcome: _Outcome, rewritten: int) -> None:
        path = file.markdown.path
        if outcome.refused:
            self._report.failures.append(Failure(Location(path), "", outcome.refused))
            return
        local_left = len(file.scan.local_refs) - (0 if file.suffixes else rewritten)
        told = file.scan.problems or file.scan.unhandled
        if self._stamps is not None and outcome.stat is not None and not local_left and not told:
            # Nothing local is left in it.
            self._stamps.note_clean(path, outcome.stat, outcome.data, outcome.seen_ns)
        if outcome.changed:
            if path not in self._changed:  # `--reprocess` may write it twice
                self._changed.add(path)
                self._report.files_changed.append(path)
            self._report.links_rewritten += rewritten
            if self._on_written is not None:
                self._on_written(path, outcome.data)


def _write_back(job: _Job) -> _Outcome:
    """Rewrite, check and write one file; run on any core, so it returns failures."""
    markdown = job.markdown
    try:
        new_text = rewrite_markdown(markdown.text, job.replacements, job.scan)
    except RewriteRefused as error:
        return _Outcome(refused=f"left unchanged: {error}")
    try:
        changed = write_markdown(markdown, new_text)
        seen = time.time_ns()
        stat = os.stat(markdown.path)
    except MarkdownError as error:
        return _Outcome(refused=error.reason)
    except OSError as error:
        return _Outcome(refused=f"cannot be written: {error.strerror or error}")
    return _Outcome(changed, markdown.encode(new_text), stat, seen)
