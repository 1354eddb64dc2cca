"""`imgsync adopt`: images hot-linked from other sites, hosted on your own host.

Each foreign image URL referenced (remote.py: hosted by none of the project's profiles; a
link only when it names an image file; with `--from`, only those of the domains named) is
downloaded within hosts/download.py's bounds (size: `max_size`, else ADOPT_CAP; time;
redirects; never to a loopback, private, link-local or metadata address unless allowed), held
to be an image by its bytes (as a local file is: images.inspect_image), then handed to the
upload stage a sync uses (upload.host_images): one upload per distinct image (MD5), the
cache's entries reused, each upload recorded the moment it succeeds. The entry's `source` is
then the URL the image was adopted from (its query dropped). References are rewritten as
remote_files.py does (checked, atomic); an image that fails fails alone.

The URL's query is part of what is adopted (`?w=300` may be another picture); the hosted URL
replaces the whole reference.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .cache import UploadCache
from .config import Settings
from .errors import ConfigError, DownloadError, ImageError
from .hosts.download import Resolver, download_image, system_resolver
from .hosts.host_url import redact_url
from .markdown.destinations import looks_like_image_path
from .remote import RemoteRef
from .remote_files import (
    MoveReport,
    RemoteFile,
    download_all,
    failure_at,
    read_remote,
    rewrite_files,
)
from .report import Location, Report, display_path

if TYPE_CHECKING:
    import httpx

    from .images import LocalImage
    from .progress import Progress

ADOPT_CAP = 20 * 1024 * 1024  # bytes: the most an image is downloaded when max_size is unset


@dataclass(frozen=True)
class AdoptOptions:
    domains: tuple[str, ...] = ()  # --from: only images of these sites (and their subdomains)
    host_name: str | None = None
    dry_run: bool = False
    allow_private: bool = False  # the download address rule lifted (tests, an intranet site)
    jobs: int | None = None
    deadline: float = 60.0  # seconds for one download, redirects included
    resolve: Resolver = system_resolver


@dataclass
class _Download:
    url: str
    index: int  # its folder in the temp folder (each keeps the URL's file name)
    path: Path | None = None  # where its bytes were written, once downloaded
    md5: str = ""
    failed: str = ""


def site_name(text: str) -> str:
    """A `--from` value as the host name it names: `Example.COM`, `https://example.com/x`
    and `example.com.` all name `example.com`."""
    text = text.strip()
    host = urlsplit(text).hostname if "://" in text else text.split("/", 1)[0].split(":", 1)[0]
    return (host or "").lower().rstrip(".")


def from_site(url: str, domains: Sequence[str]) -> bool:
    """Whether `url` is on one of `domains` or below one (none given: every site)."""
    if not domains:
        return True
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return False
    return any(host == d or host.endswith("." + d) for d in domains)


def names_an_image(item: RemoteRef) -> bool:
    """Whether a foreign reference names an image, not a page: an image's source always; a
    link, an `href` or a front matter field only when its path has an image's extension (as
    for local references: `[home](https://example.com/)` is no picture to adopt)."""
    ref = item.ref
    if ref.kind in ("link", "front_matter") or ref.attribute in ("href", "link"):
        try:
            path = unquote(urlsplit(item.url).path)
        except ValueError:
            return False
        return looks_like_image_path(path)
    return True


def adopt(
    paths: list[Path], settings: Settings, options: AdoptOptions, progress: Progress
) -> MoveReport:
    """Host every foreign image referenced under `paths` and point its references at it."""
    report = MoveReport(dry_run=options.dry_run)
    domains = [site_name(written) for written in options.domains]
    for written, domain in zip(options.domains, domains, strict=True):
        if not domain:  # else `--from ""` would quietly mean every site
            raise ConfigError(f"--from {written!r}: names no site (say e.g. --from example.com)")

    def chosen(item: RemoteRef) -> bool:
        return item.foreign and names_an_image(item) and from_site(item.url, domains)

    files, _ = read_remote(paths, settings, report, chosen)
    downloads: dict[str, _Download] = {}
    for file in files:
        for item in file.refs:
            if item.url not in downloads:
                downloads[item.url] = _Download(item.url, len(downloads))
    report.images = len(downloads)
    if options.dry_run:
        for file in files:
            for item in file.refs:
                where = Location(file.markdown.path, item.ref.line)
                report.pending.append(f"{where}: {redact_url(item.url)}")
        return report
    if not downloads:
        return report
    from .hosts.base import make_http_client  # the upload seam: httpx

    # Each download goes to a file at once: many images are not held in memory.
    with (
        tempfile.TemporaryDirectory(prefix="imgsync-adopt-") as folder,
        make_http_client(settings.http) as http,
    ):
        download_all(
            lambda d: _download(http, d, Path(folder), settings, options),
            downloads.values(),
            lambda d: d.url,
            options.jobs or settings.jobs,
        )
        urls = _host(downloads, settings, options, report, progress)
    for file in files:
        for item in file.refs:
            failed = downloads[item.url].failed
            if failed:
                report.failures.append(failure_at(file, item, failed))

    def destination(file: RemoteFile, item: RemoteRef) -> str | None:
        return urls.get(downloads[item.url].md5)

    rewrite_files(files, destination, report)
    return report


def _download(
    http: httpx.Client, download: _Download, folder: Path, settings: Settings, options: AdoptOptions
) -> None:
    try:
        data, _ = download_image(
            http,
            download.url,
            limit=settings.max_size or ADOPT_CAP,
            deadline=options.deadline,
            allow_private=options.allow_private,
            resolve=options.resolve,
        )
    except DownloadError as error:
        if error.refused_address:
            download.failed = f"{error.reason} (--allow-private-addresses allows it)"
        elif error.too_large:
            cap = "`max_size`" if settings.max_size else "imgsync's cap for adopted images"
            download.failed = f"not adopted: {error.reason} ({cap})"
        else:
            download.failed = f"not adopted: {error.reason}"
        return
    download.md5 = hashlib.md5(data).hexdigest()
    # Its own folder, under the URL's name: the host is sent that name.
    path = folder / str(download.index) / _name(download.url)
    path.parent.mkdir()
    path.write_bytes(data)
    download.path = path


def _host(
    downloads: dict[str, _Download],
    settings: Settings,
    options: AdoptOptions,
    report: MoveReport,
    progress: Progress,
) -> dict[str, str]:
    """Upload the images downloaded (once each, the cache's first): hosted URL by MD5."""
    from .images import inspect_image
    from .upload import host_images

    unique: dict[str, LocalImage] = {}
    origin: dict[str, str] = {}  # MD5 -> the first URL it was downloaded from
    for download in downloads.values():
        if download.failed or download.path is None or download.md5 in unique:
            continue
        try:
            image = inspect_image(
                download.path, settings.max_size, allow_svg_scripts=settings.allow_svg_scripts
            )
        except ImageError as error:
            download.failed = f"not adopted: the download {error.reason}"
            continue
        unique[image.md5] = image
        origin[image.md5] = download.url
    if not unique:
        return {}
    uploads = Report()
    hosted = host_images(
        unique, settings, host_name=options.host_name, report=uploads, progress=progress
    )
    for download in downloads.values():
        reason = hosted.failed.get(download.md5)
        if reason is not None and not download.failed:
            download.failed = f"not adopted: {reason}"
    report.interrupted = uploads.interrupted
    # Said of the URL it came from, not of the temp file it was uploaded from.
    shown = {display_path(image.path): redact_url(origin[md5]) for md5, image in unique.items()}
    report.notes += [f"{shown.get(n.image, n.image)}: {n.text}" for n in uploads.warnings]
    uploaded = {
        md5
        for item in uploads.uploaded
        for md5, image in unique.items()
        if image.path == item.image
    }
    for md5, url in hosted.urls.items():
        how = "uploaded" if md5 in uploaded else "already hosted:"
        report.done.append(f"{how} {redact_url(origin[md5])} -> {url}")
    if uploaded:
        _record_origins(uploaded, unique, origin, settings, options)
    return dict(hosted.urls)


def _record_origins(
    uploaded: set[str],
    unique: dict[str, LocalImage],
    origin: dict[str, str],
    settings: Settings,
    options: AdoptOptions,
) -> None:
    """Each adopted upload's cache entry says where the image came from (`source`)."""
    from .upload import open_host

    with open_host(settings, options.host_name) as host:
        identity = host.identity
    cache = UploadCache.open(
        settings.cache_path, project=settings.root, allow_http=settings.allow_http
    )
    for md5 in sorted(uploaded):
        entry = cache.lookup(identity, md5, unique[md5].sha256)
        source = redact_url(origin[md5])
        if entry is not None and entry.source != source:
            cache.record(identity, md5, replace(entry, source=source))


def _name(url: str) -> str:
    """The file name the host is sent: the URL's last part, made safe (inspect_image gives
    the upload its real type's extension)."""
    name = unquote(PurePosixPath(urlsplit(url).path).name)
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in name).strip(".-")
    return safe[:80] or "image"
