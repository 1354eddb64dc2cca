"""Getting a hosted URL for each image: the cache first, then uploads, each recorded at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .cache import CacheEntry, UploadCache, utc_now
from .config import Settings, resolve_host
from .errors import HostError
from .files import private_folder
from .hosts.base import Host, UploadRequest, UploadResult
from .images import LocalImage
from .progress import Progress
from .report import Report, Uploaded, display_path
from .state.claims import UploadClaims
from .transfer.pool import upload_many
from .transfer.retry_policy import RetryPolicy


@dataclass
class Hosted:
    """By MD5: the URLs known or made, the reasons of failures, the images still to upload.

    `listener(md5, url or None)` hears of each image the moment its outcome is known
    (from any thread), so files can be rewritten while other uploads go on.
    """

    urls: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    missing: dict[str, LocalImage] = field(default_factory=dict)
    listener: Callable[[str, str | None], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def got_url(self, md5: str, url: str) -> None:
        with self._lock:
            if md5 in self.urls:
                return
            self.urls[md5] = url
        if self.listener is not None:
            self.listener(md5, url)

    def failed_with(self, md5: str, reason: str) -> None:
        with self._lock:
            if md5 in self.failed:
                return
            self.failed[md5] = reason
        if self.listener is not None:
            self.listener(md5, None)


@contextmanager
def open_host(settings: Settings, host_name: str | None) -> Iterator[Host]:
    """The configured host with its HTTP client; httpx is imported only here."""
    from .hosts import create_host
    from .hosts.base import make_http_client

    profile = resolve_host(settings, host_name)
    with make_http_client(settings.http()) as http:
        yield create_host(profile, http)


def host_images(
    images: Mapping[str, LocalImage],
    settings: Settings,
    *,
    host_name: str | None,
    report: Report,
    progress: Progress,
    dry_run: bool = False,
    alts: Mapping[Path, str] | None = None,
    on_settled: Callable[[str, str | None], None] | None = None,
) -> Hosted:
    """URLs for `images` (by MD5): from the cache, else uploaded (unless `dry_run`).

    `on_settled(md5, url or None)` hears of each image's outcome as soon as it is known.
    """
    hosted = Hosted(listener=on_settled)
    cache = UploadCache.open(settings.cache_path)
    with open_host(settings, host_name) as host:
        for md5, image in images.items():
            entry = cache.lookup(host.identity, md5, image.sha256)
            if entry is None:
                hosted.missing[md5] = image
                continue
            report.reused += 1
            hosted.got_url(md5, entry.url)
            if entry.taken_from_legacy_cache and not dry_run:
                cache.record(host.identity, md5, _entry(entry.url, {}, image, settings))
        if hosted.missing and not dry_run:
            _upload(hosted, host, cache, settings, report, progress, alts or {})
    return hosted


def _upload(
    hosted: Hosted,
    host: Host,
    cache: UploadCache,
    settings: Settings,
    report: Report,
    progress: Progress,
    alts: Mapping[Path, str],
) -> None:
    images = hosted.missing
    requests: dict[str, UploadRequest] = {}
    for md5, image in images.items():
        if host.max_size is not None and image.size > host.max_size:
            limit = f"is {image.size} bytes, above the host's limit of {host.max_size}"
            hosted.failed_with(md5, limit)
            continue
        alt = alts.get(image.path, "")
        requests[md5] = UploadRequest(image.path, image.upload_name(), image.mime, image.size, alt)
    claims = UploadClaims(private_folder(settings.state_dir) / "uploading.lock")
    reused = threading.Lock()

    @contextmanager
    def claim(md5s: Sequence[str], stop: threading.Event) -> Iterator[list[str] | None]:
        """Hold the images against other imgsync processes; skip those they uploaded meanwhile."""
        with claims.hold(md5s, stop=stop) as held:
            if not held:
                yield None
                return
            cache.reload()
            todo = []
            for md5 in md5s:
                entry = cache.lookup(host.identity, md5, images[md5].sha256)
                if entry is None:
                    todo.append(md5)
                    continue
                with reused:
                    report.reused += 1
                hosted.got_url(md5, entry.url)
                shown = display_path(images[md5].path)
                progress.advance(f"uploaded meanwhile by another imgsync: {shown}")
            yield todo

    def record(md5: str, result: UploadResult) -> None:
        cache.record(host.identity, md5, _entry(result.url, result.handle, images[md5], settings))

    def finished(md5: str, outcome: UploadResult | HostError) -> None:
        shown = display_path(images[md5].path)
        if isinstance(outcome, HostError):
            hosted.failed_with(md5, str(outcome))
            progress.advance(f"failed {shown}")
            return
        hosted.got_url(md5, outcome.url)
        if outcome.warning:
            report.warnings.append((shown, outcome.warning))
        report.uploaded.append(Uploaded(images[md5].path, outcome.url))
        progress.advance(f"uploaded {shown} -> {outcome.url}")

    policy = RetryPolicy(
        max_attempts=settings.max_attempts,
        max_retry_time=settings.max_retry_time,
        rate_limit_wait=settings.rate_limit_wait,
        rate_limit_backoff=settings.rate_limit_backoff,
    )
    progress.start(len(requests))
    try:
        batch = upload_many(
            host,
            requests,
            policy,
            jobs=settings.jobs,
            on_success=record,
            on_finished=finished,
            on_wait=progress.note,
            claim=claim,
        )
    finally:
        progress.finish()
    for md5, result in batch.done.items():
        hosted.got_url(md5, result.url)
    for md5, error in batch.failed.items():
        hosted.failed_with(md5, str(error))
    report.interrupted = batch.interrupted


def _entry(
    url: str, handle: Mapping[str, str], image: LocalImage, settings: Settings
) -> CacheEntry:
    try:
        source = image.path.relative_to(settings.root.resolve()).as_posix()
    except ValueError:
        source = image.path.name
    return CacheEntry(
        url=url,
        handle=dict(handle),
        size=image.size,
        sha256=image.sha256,
        uploaded_at=utc_now(),
        source=source,
    )
