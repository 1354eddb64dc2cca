"""The sync's upload and rewrite stages fed file by file, while the scan still goes on.

Each file the pipeline finds with local images comes here as soon as its images are
hashed: an image not seen before (by MD5, whichever file named it first) is looked up
in the cache at once and, if missing, sent while later files are still read and parsed;
the file is rewritten once all its images settled (writeback.py). The promises stay
those of the whole-tree run: each image uploaded once, recorded before any file points
at it, the first request to a host sent alone (transfer/gate.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .images import LocalImage
from .progress import Progress
from .report import Failure, Location, Pending, Report
from .scan import ImageRef, ScanResult
from .upload import HostSession, hosting
from .writeback import FileToRewrite, Writeback

if TYPE_CHECKING:
    from collections.abc import Callable

    from .config import Settings
    from .markdown.cores import Cores
    from .markdown.text_file import MarkdownText
    from .publish import Output
    from .state.stamps import Stamps


@dataclass
class FileImages:
    """One Markdown file and its local references, each with the image file it names."""

    markdown: MarkdownText
    scan: ScanResult
    refs: list[tuple[ImageRef, Path]]


class UploadFeed:
    """The files of one sync, given as they are found (`add`), then `finish`ed."""

    def __init__(
        self,
        session: HostSession,
        writeback: Writeback | None,
        images: Mapping[Path, LocalImage],
        report: Report,
        output: Output | None,
    ) -> None:
        self.session, self.writeback, self.images = session, writeback, images
        self.report, self.output = report, output
        self.files: list[FileImages] = []
        self.sent: set[str] = set()  # the MD5s given to the session

    def add(
        self, markdown: MarkdownText, scan: ScanResult, refs: list[tuple[ImageRef, Path]]
    ) -> None:
        """One more file, with the image file each reference names, hashed (in `images`):
        rewritten once they settle, and the images not seen before looked up or sent now."""
        work = FileImages(markdown, scan, refs)
        self.files.append(work)
        if self.writeback is not None:  # first: a cached image settles inside session.add
            written = markdown if self.output is None else self.output.redirect(markdown)
            md5s = [(ref, self.images[path].md5) for ref, path in refs]
            self.writeback.add(FileToRewrite(written, scan, md5s))
        for _ref, path in work.refs:
            image = self.images[path]
            if image.md5 not in self.sent:
                self.sent.add(image.md5)
                # The first alt text that names it in this file: later files come too late.
                alt = next((ref.alt for ref, named in work.refs if named == path and ref.alt), "")
                self.session.add(image.md5, image, alt)

    def finish(self, *, interrupted: bool = False) -> None:
        """Wait for the uploads (those in flight only, when `interrupted`), then rewrite
        what is left and report the failures at each reference."""
        hosted = self.session.finish(interrupted=interrupted)
        report = self.report
        if self.writeback is None:  # a dry run
            for work in self.files:
                for ref, _path in work.refs:
                    report.pending.append(Pending(Location(work.markdown.path, ref.line), ref.raw))
            report.would_upload.extend(image.path for image in hosted.missing.values())
            return
        report.host_verdict = hosted.verdict
        for work in self.files:
            for ref, path in work.refs:
                md5 = self.images[path].md5
                reason = hosted.failed.get(md5)
                if reason is not None:
                    where = Location(work.markdown.path, ref.line)
                    report.failures.append(Failure(where, ref.raw, reason, md5))
        self.writeback.finish()


@contextmanager
def upload_feed(
    settings: Settings,
    report: Report,
    stamps: Stamps,
    cores: Cores,
    images: Mapping[Path, LocalImage],
    *,
    host_name: str | None,
    dry_run: bool,
    progress: Callable[[], Progress] | None,
    on_written: Callable[[Path, bytes], None] | None,
    output: Output | None,
) -> Iterator[UploadFeed]:
    """The feed of one sync, its host and cache opened; an error stops what is in flight.

    `progress` makes the progress display; `images` is the pipeline's, by path, growing
    as the files come; the rest are `pipeline.sync`'s arguments."""
    writeback = None
    if not dry_run:
        # A copy in the output folder is no source: its stamp is not kept.
        kept = stamps if output is None else None
        writeback = Writeback([], report, kept, cores, on_written)
    with hosting(
        settings,
        host_name=host_name,
        report=report,
        progress=progress() if progress else Progress(quiet=True),
        dry_run=dry_run,
        on_settled=None if writeback is None else writeback.settled,
    ) as session:
        yield UploadFeed(session, writeback, images, report, output)
