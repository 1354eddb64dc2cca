"""`imgsync restore`: the way back from a host to local files.

Every reference hosted by one of the project's profiles (remote.py) gets its image back as a
project file, and the reference points at that file (a relative path; a `/rooted` one under
a `site_root` set apart from the project's root, where a site generator serves it).

- The bytes: the file at the path the cache recorded (`source`) when it still holds the
  image (its SHA-256 is the cache's): nothing is downloaded; else the hosted URL, downloaded
  within hosts/download.py's bounds and held against the cache's SHA-256. A host that
  re-encodes (PicHub's WebP) serves other bytes than those uploaded: they are restored as
  served, said unverified; so is an image known only by a profile's `serves` prefix.
- The place: the recorded path when it is free (or already holds these very bytes); else
  `--into` (default `images/restored` under the project's root), under the recorded file's
  name, with the start of the MD5 added on a clash. No existing file is ever replaced.
- The cache keeps its entries: a `sync` afterwards finds each image's MD5 and uploads nothing.

Images are written before any Markdown file, so a killed run leaves whole files, and the next
run finds the images already there (same bytes) and finishes the rewrite.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .config import Settings
from .errors import ConfigError, DownloadError, OutsideProject
from .files import STATE_DIR_NAME, is_inside, read_inside
from .hosts.download import Resolver, download_image, system_resolver
from .hosts.host_url import redact_url
from .images import sniff_image_type
from .local_places import write_new, written_path
from .markdown.destinations import IMAGE_EXTENSIONS
from .remote import HostedBy, RemoteRef, bare_url
from .remote_files import (
    MoveReport,
    RemoteFile,
    download_all,
    failure_at,
    read_remote,
    rewrite_files,
)
from .report import Location, display_path

if TYPE_CHECKING:
    import httpx

DEFAULT_INTO = "images/restored"  # under the project's root
FULL_CAP = 64 * 1024 * 1024  # bytes: the most an image of unknown size is downloaded
_UNSAFE_NAME = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class RestoreOptions:
    into: Path | None = None  # where images go that can't go back to their recorded path
    dry_run: bool = False
    allow_private: bool = False  # the download address rule lifted (tests, an intranet host)
    jobs: int | None = None
    deadline: float = 60.0  # seconds for one download, redirects included
    resolve: Resolver = system_resolver


@dataclass
class _Image:
    """One distinct hosted image: what the cache knows of it, its bytes once had, its place."""

    key: str  # its MD5, or the bare URL of an image known only by a `serves` prefix
    url: str  # the first reference's URL
    hosted: HostedBy
    data: bytes = b""
    verified: bool = False  # the bytes are the cache's (SHA-256)
    stripped: bool = False  # ... the ones sent: the file with its metadata stripped (privacy/)
    place: Path | None = None
    failed: str = ""


def restore(paths: list[Path], settings: Settings, options: RestoreOptions) -> MoveReport:
    """Bring back every hosted image referenced under `paths` and point its references at it."""
    report = MoveReport(dry_run=options.dry_run)
    files, _ = read_remote(paths, settings, report, lambda item: item.hosted is not None)
    images: dict[str, _Image] = {}
    for file in files:
        for item in file.refs:
            assert item.hosted is not None
            key = _key(item)
            images.setdefault(key, _Image(key, item.url, item.hosted))
    report.images = len(images)
    if options.dry_run:
        for file in files:
            for item in file.refs:
                where = Location(file.markdown.path, item.ref.line)
                report.pending.append(f"{where}: {redact_url(item.url)}")
        return report
    if not images:
        return report
    into = _into(options.into, settings)
    jobs = options.jobs or settings.jobs
    from .hosts.base import make_http_client  # the upload seam: httpx

    claimed: dict[Path, str] = {}
    placing = threading.Lock()  # one at a time: names are chosen against each other

    def bring_back(image: _Image) -> None:
        _obtain(http, image, settings, options)
        if not image.failed:
            with placing:
                _place(image, into, claimed, settings, report)
        image.data = b""  # written: a site of many images is not held in memory

    with make_http_client(settings.http) as http:
        download_all(bring_back, images.values(), lambda image: image.url, jobs)
    report.done.sort()
    report.notes.sort()
    for file in files:
        for item in file.refs:
            image = images[_key(item)]
            if image.failed:
                report.failures.append(failure_at(file, item, image.failed))

    def destination(file: RemoteFile, item: RemoteRef) -> str | None:
        place = images[_key(item)].place
        return None if place is None else written_path(place, file.markdown.path, settings)

    rewrite_files(files, destination, report)
    _remember_stripped(images.values(), settings, report)
    return report


def _remember_stripped(images: Iterable[_Image], settings: Settings, report: MoveReport) -> None:
    """An image restored as the host holds it, stripped of its metadata (privacy/), is not
    the file first uploaded: the cache learns its MD5 too, under the same URL, so that a
    sync after the restore uploads nothing."""
    from .cache import UploadCache

    restored = [image for image in images if image.stripped and image.place is not None]
    if not restored:
        return
    cache = UploadCache.open(
        settings.cache_path, project=settings.root, allow_http=settings.allow_http
    )
    for image in restored:
        entry, path = image.hosted.entry, image.place
        assert entry is not None and path is not None
        data = path.read_bytes()
        md5, sha256 = hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()
        source = path.relative_to(settings.root).as_posix()
        known = replace(entry, size=len(data), sha256=sha256, sent_sha256=None, source=source)
        cache.record(image.hosted.identity, md5, known)
        report.notes.append(
            f"{display_path(path)}: restored as the host holds it, its location metadata "
            "stripped at upload (the original file is gone); the cache knows these bytes too"
        )


def _key(item: RemoteRef) -> str:
    hosted = item.hosted
    return hosted.md5 if hosted is not None and hosted.md5 else bare_url(item.url)


def _into(into: Path | None, settings: Settings) -> Path:
    folder = into if into is not None else settings.root / DEFAULT_INTO
    folder = Path(os.path.abspath(folder))
    if not is_inside(folder, settings.root) or STATE_DIR_NAME in folder.parts:
        raise ConfigError(f"--into {folder}: not a folder of the project ({settings.root})")
    return folder


def _obtain(http: httpx.Client, image: _Image, settings: Settings, options: RestoreOptions) -> None:
    """Get the image's bytes: the recorded file's when they are the cache's, else downloaded."""
    entry = image.hosted.entry
    if entry is not None:
        recorded = recorded_path(entry.source, settings)
        if recorded is not None and recorded.is_file():
            with contextlib.suppress(OSError, OutsideProject):
                data = read_inside(recorded, settings.root)
                if hashlib.sha256(data).hexdigest() == entry.sha256:
                    image.data, image.verified = data, True
                    return
    exact = entry is not None and entry.size > 0 and not image.hosted.re_encodes
    exact = exact and entry is not None and not entry.sent_sha256  # stripped: size may differ
    limit = entry.size if exact and entry is not None else FULL_CAP
    try:
        image.data, _ = download_image(
            http,
            # The URL uploaded to, not the reference's: a `?w=300` may ask for other bytes.
            entry.url if entry is not None else image.url,
            limit=limit,
            deadline=options.deadline,
            allow_private=options.allow_private,
            resolve=options.resolve,
        )
    except DownloadError as error:
        if error.too_large and exact:
            image.failed = "the host serves more bytes than the image uploaded: not restored"
        elif error.refused_address:
            image.failed = f"{error.reason} (--allow-private-addresses allows it)"
        else:
            image.failed = f"could not be downloaded: {error.reason}"
        return
    served = hashlib.sha256(image.data).hexdigest()
    if entry is not None and served == entry.sha256:
        image.verified = True
    elif entry is not None and entry.sent_sha256 and served == entry.sent_sha256:
        image.verified = image.stripped = True  # the bytes sent: the original is gone
    elif entry is not None and not image.hosted.re_encodes:
        image.failed = (
            "the bytes the host serves are not the image uploaded (their SHA-256 is not "
            "the cache's): not restored"
        )


def recorded_path(source: str, settings: Settings) -> Path | None:
    """The project file the cache's `source` names, if it may be written: a relative path to an
    image file inside the project, outside imgsync's and git's folders. The cache is committed:
    a pull request may record `../../.bashrc`, which names nothing restore writes."""
    if not source or "://" in source or "\\" in source or "\0" in source:
        return None
    written = PurePosixPath(source)
    if written.is_absolute() or any(p in ("..", ".git", STATE_DIR_NAME) for p in written.parts):
        return None
    if written.suffix.lower() not in IMAGE_EXTENSIONS:
        return None
    path = settings.root / written
    return path if is_inside(path, settings.root) else None


def _place(
    image: _Image, into: Path, claimed: dict[Path, str], settings: Settings, report: MoveReport
) -> None:
    """Write the image at the first of its candidate places that is free or holds its bytes."""
    digest = hashlib.sha256(image.data).hexdigest()
    sniffed = sniff_image_type(image.data)
    if sniffed is None:  # read from a file whose SHA-256 was the cache's: an image
        image.failed = "its bytes are not an image"
        return
    entry = image.hosted.entry
    candidates = []
    if image.verified and entry is not None:
        recorded = recorded_path(entry.source, settings)
        if recorded is not None:
            candidates.append(recorded)
    name = _file_name(image, sniffed[0])
    md5 = image.key if re.fullmatch(r"[0-9a-f]{32}", image.key) else _md5(image.data)
    candidates += [into / name, into / f"{Path(name).stem}-{md5[:8]}{Path(name).suffix}"]
    shown = redact_url(image.url)
    for candidate in candidates:
        if claimed.get(candidate, digest) != digest:
            continue
        try:
            wrote = write_new(candidate, image.data, digest, settings.root)
        except FileExistsError:
            continue  # other bytes are there
        except (OSError, OutsideProject) as error:
            image.failed = f"{display_path(candidate)} cannot be written: {error}"
            return
        claimed[candidate] = digest
        image.place = candidate
        how = "restored" if wrote else "already there:"
        report.done.append(f"{how} {display_path(candidate)} <- {shown}")
        if not image.verified:
            report.notes.append(f"{display_path(candidate)}: {_unverified(image, sniffed[1])}")
        return
    image.failed = f"no free name for it in {display_path(into)}"


def _unverified(image: _Image, mime: str) -> str:
    hosted = image.hosted
    if hosted.entry is None:
        return (
            f"not verified: known by the `serves` prefix of profile {hosted.profile!r}, not by "
            "the cache, so its bytes were restored as served"
        )
    return (
        f"not verified: {hosted.host_type} re-encodes uploads, so the bytes restored are the "
        f"host's ({mime}), not the file uploaded; a sync would upload them again"
    )


def _file_name(image: _Image, extension: str) -> str:
    """A safe file name: the recorded file's (an adopted image's: its first URL's), else the
    hosted URL's last part; the extension of the bytes' type where they are not the bytes
    recorded (a re-encoding) or the name has none."""
    entry = image.hosted.entry
    source = entry.source if entry is not None else ""
    if "://" in source:  # adopted from that URL
        try:
            source = unquote(urlsplit(source).path)
        except ValueError:
            source = ""
    if source:
        name = PurePosixPath(source.replace("\\", "/")).name
    else:
        name = unquote(PurePosixPath(urlsplit(image.url).path).name)
    stem, suffix = os.path.splitext(_UNSAFE_NAME.sub("-", name).strip(".-"))
    stem = stem[:80] or "image"
    if not image.verified or suffix.lower() not in IMAGE_EXTENSIONS:
        suffix = extension
    return stem + suffix


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
