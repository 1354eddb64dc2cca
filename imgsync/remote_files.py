"""The remote references of the project's Markdown, read for `restore` and `adopt`, and each
file rewritten once its references have their new destinations.

Both commands read every file's http(s) references, classified (remote.py), and end as a sync
does: images first (written or hosted and recorded), then each Markdown file rewritten, checked
by rewrite.verify_rewrite (only the chosen destinations changed) and written atomically. A run
killed in between leaves whole files, and the next run finds the images already done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import urlsplit

from .cache import UploadCache
from .config import Settings
from .discover import discover_markdown
from .errors import MarkdownError, RewriteRefused
from .markdown.text_file import MarkdownText, read_markdown, write_markdown
from .remote import RemoteClassifier, RemoteRef, profile_views
from .report import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_WORK_LEFT, Failure, Location

if TYPE_CHECKING:
    from .scan import ScanResult

PER_ORIGIN = 4  # downloads at a time from one server, as verify asks: be polite
_Item = TypeVar("_Item")


@dataclass
class RemoteFile:
    """A Markdown file and the remote references a command chose in it."""

    markdown: MarkdownText
    scan: ScanResult
    refs: list[RemoteRef] = field(default_factory=list)


@dataclass
class MoveReport:
    """What `restore` or `adopt` did; the exit status follows from it."""

    dry_run: bool = False
    files_scanned: int = 0
    references: int = 0  # remote references chosen
    images: int = 0  # distinct images among them
    done: list[str] = field(default_factory=list)  # one line an image: what became of it
    notes: list[str] = field(default_factory=list)  # what to know (not verified, reused...)
    pending: list[str] = field(default_factory=list)  # --dry-run: FILE:LINE: URL
    failures: list[Failure] = field(default_factory=list)
    files_changed: list[Path] = field(default_factory=list)
    links_rewritten: int = 0
    skipped: int = 0  # remote references not chosen (foreign for restore, hosted for adopt...)
    interrupted: bool = False  # Ctrl-C while uploading: what was done is saved and rewritten

    def exit_status(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.failures:
            return EXIT_FAILED
        return EXIT_WORK_LEFT if self.dry_run and self.pending else EXIT_OK


class ScanReport(Protocol):
    """What reading the files tells: the files read, and the failures (a report of any kind)."""

    files_scanned: int
    failures: list[Failure]


def classified_files(
    paths: Sequence[Path],
    settings: Settings,
    report: ScanReport,
    cache: UploadCache | None = None,
) -> tuple[list[tuple[MarkdownText, ScanResult, list[RemoteRef]]], UploadCache]:
    """Each Markdown file under `paths` that holds a remote reference, its scan and those
    references classified (hosted by a profile, or foreign) in document order; and the
    cache they were classified against (`cache`, else the project's, opened here). What
    can't be read is a failure in `report`."""
    from .scan import may_contain_references, scan_markdown  # the Markdown seam

    files, unreadable = discover_markdown(
        paths, root=settings.root, include=settings.include, exclude=settings.exclude
    )
    for folder, reason in unreadable:
        report.failures.append(Failure(Location(folder), "", f"folder cannot be read: {reason}"))
    if cache is None:
        cache = UploadCache.open(
            settings.cache_path, project=settings.root, allow_http=settings.allow_http
        )
    views = profile_views(settings)
    entries = {v.identity: cache.entries_for(v.identity) for v in views if v.identity}
    classifier = RemoteClassifier(views, entries)
    found = []
    for path in files:
        report.files_scanned += 1
        try:
            markdown = read_markdown(path, project=settings.root)
        except MarkdownError as error:
            report.failures.append(Failure(Location(path, error.line), "", error.reason))
            continue
        if "//" not in markdown.text or not may_contain_references(markdown.text):
            continue  # no URL, or no reference at all: nothing remote
        scanned = scan_markdown(markdown.text, settings.front_matter_keys, settings.dialect)
        items = [item for ref in scanned.refs if (item := classifier.classify(ref)) is not None]
        if items:
            found.append((markdown, scanned, items))
    return found, cache


def read_remote(
    paths: Sequence[Path],
    settings: Settings,
    report: MoveReport,
    choose: Callable[[RemoteRef], bool],
) -> tuple[list[RemoteFile], UploadCache]:
    """The files under `paths` holding a remote reference `choose` keeps, with those references
    in document order, and the cache they were classified against."""
    classified, cache = classified_files(paths, settings, report)
    found: list[RemoteFile] = []
    for markdown, scanned, items in classified:
        file = RemoteFile(markdown, scanned)
        for item in items:
            if choose(item):
                file.refs.append(item)
                report.references += 1
            else:
                report.skipped += 1
        if file.refs:
            found.append(file)
    return found, cache


def rewrite_files(
    files: Sequence[RemoteFile],
    destination: Callable[[RemoteFile, RemoteRef], str | None],
    report: MoveReport,
) -> None:
    """Point each chosen reference at `destination(file, ref)` (None: left as it is), each file
    checked and written atomically; a file that can't be is a failure, left unchanged."""
    from .rewrite import Replacement, rewrite_markdown

    for file in files:
        replacements = []
        for item in file.refs:
            new = destination(file, item)
            if new is not None:
                replacements.append(Replacement(item.ref, new))
        if not replacements:
            continue
        path = file.markdown.path
        try:
            new_text = rewrite_markdown(file.markdown.text, replacements, file.scan)
            changed = write_markdown(file.markdown, new_text)
        except RewriteRefused as error:
            report.failures.append(Failure(Location(path), "", f"left unchanged: {error}"))
            continue
        except MarkdownError as error:
            report.failures.append(Failure(Location(path, error.line), "", error.reason))
            continue
        if changed:
            report.files_changed.append(path)
            report.links_rewritten += len(replacements)


def failure_at(file: RemoteFile, item: RemoteRef, reason: str) -> Failure:
    """A failure said at a reference: FILE:LINE, the reference as written, why."""
    return Failure(Location(file.markdown.path, item.ref.line), item.ref.raw, reason)


def download_all(
    work: Callable[[_Item], None], items: Iterable[_Item], url_of: Callable[[_Item], str], jobs: int
) -> None:
    """`work(item)` for each item, `jobs` at a time, at most PER_ORIGIN to one server."""
    gates: dict[str, threading.Semaphore] = {}
    lock = threading.Lock()

    def gated(item: _Item) -> None:
        origin = _origin(url_of(item))
        with lock:
            gate = gates.setdefault(origin, threading.Semaphore(PER_ORIGIN))
        with gate:
            work(item)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(gated, items))


def _origin(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # the download says why, at its references
        return url
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
