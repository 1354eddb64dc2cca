"""What a run did: counts, uploads, failures; and the exit status that follows from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

EXIT_OK = 0  # done: nothing local is left under the paths
EXIT_WORK_LEFT = 1  # `check` or `--dry-run` found local images
EXIT_USAGE = 2  # usage or configuration error
EXIT_FAILED = 3  # some images failed; the rest were done and saved
EXIT_INTERRUPTED = 130  # Ctrl-C


@dataclass(frozen=True)
class Location:
    """Where a reference stands: the Markdown file and the 1-based line."""

    path: Path
    line: int | None = None

    def __str__(self) -> str:
        shown = display_path(self.path)
        return f"{shown}:{self.line}" if self.line is not None else shown


@dataclass(frozen=True)
class Failure:
    """One thing that could not be done, said in plain words."""

    where: Location
    image: str  # the destination as written, or the image file
    reason: str
    # What tells one image from another (its MD5), where known: `./a.png` and `a.png` may be
    # one image, `a.png` in two folders two. The images a host verdict left are counted by it.
    image_key: str = ""


# What `check` knows of a reference's file: there, to upload ("not_uploaded"); there, and its
# bytes already on a host by the cache or the journal, so a sync only rewrites the reference
# ("uploaded": a second post pointing at the picture, a copy under another name); no file at
# all, so the reference needs fixing ("missing"); or one imgsync won't upload ("unusable":
# outside the project, a folder, unreadable, or refused as a sync refuses it before sending:
# not an image, empty, above max_size, a scriptable SVG).
PendingStatus = Literal["not_uploaded", "uploaded", "missing", "unusable"]


@dataclass(frozen=True)
class Pending:
    """A local image reference still in a file (what `check` lists), and whether its file is
    there to upload; if not, `reason` says why in plain words."""

    where: Location
    reference: str
    status: PendingStatus = "not_uploaded"
    reason: str = ""


@dataclass(frozen=True)
class Ignored:
    """A local image reference left alone on purpose: neither uploaded, rewritten nor a
    failure, but counted and listed, so that nothing is dropped in silence."""

    where: Location
    reference: str
    entry: str = ""  # the `ignore` entry that matched it; "" for an inline marker


@dataclass(frozen=True)
class Uploaded:
    """An image that went up in this run."""

    image: Path
    url: str


class Notice(NamedTuple):
    """Something to know about an image that did go up, such as the host converting it."""

    image: str  # as shown to the user
    text: str


@dataclass
class Report:
    """Everything a run did; render.py turns it into lines, the CLI into an exit status."""

    files_scanned: int = 0
    files_changed: list[Path] = field(default_factory=list)
    links_rewritten: int = 0
    uploaded: list[Uploaded] = field(default_factory=list)
    reused: int = 0  # distinct images found in the cache
    stripped: int = 0  # of those uploaded, how many went up with metadata stripped
    would_upload: list[Path] = field(default_factory=list)  # --dry-run: not in the cache
    pending: list[Pending] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)  # never a failure, nor work left
    dry_run: bool = False
    output: Path | None = None  # --output: where the rewritten files were written
    interrupted: bool = False
    # Why the host was given up (credentials, URL, no connection), when it was: the
    # reason of each failure it caused, said once rather than once per reference.
    host_verdict: str | None = None

    def warn(self, image: str, text: str) -> None:
        """Note something to know about `image` (as shown to the user)."""
        self.warnings.append(Notice(image, text))

    def exit_status(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.failures:
            return EXIT_FAILED
        if self.pending:
            return EXIT_WORK_LEFT
        return EXIT_OK


class FileURL(NamedTuple):
    """A file named to `imgsync upload` and its URL, uploaded now or found in the cache."""

    file: Path  # as named on the command line
    url: str
    already_on_host: bool = False  # found in the cache (or uploaded meanwhile by another run)
    # Its line (file_url_line's, or the progress display's for an upload) was printed on
    # stderr as it happened: the list of URLs known after a failure leaves it out.
    told: bool = False


@dataclass
class UploadOutcome:
    """What `imgsync upload` did: the URLs in the order the files were named, and what failed."""

    files_named: int = 0  # a file named twice counts twice, as it gets two lines
    urls: list[FileURL] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    interrupted: bool = False
    host_verdict: str | None = None  # as Report's

    def exit_status(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.failures:
            return EXIT_FAILED
        return EXIT_OK


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
