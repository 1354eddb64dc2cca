"""Getting a hosted URL for each image: the cache first, then uploads, each recorded at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .cache import CacheEntry, UploadCache, utc_now
from .claims import UploadClaims
from .config import Settings, resolve_host
from .errors import HostError
from .files import private_folder
from .hosts.base import Host, UploadRequest, UploadResult
from .images import LocalImage
from .progress import Progress
from .report import Report, Uploaded, display_path
from .uploader import RetryPolicy, upload_many


@dataclass
class Hosted:
    """By MD5: the URLs known or made, the reasons of failures, the images still to upload."""

    urls: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    missing: dict[str, LocalImage] = field(default_factory=dict)


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
) -> Hosted:
    """URLs for `images` (by MD5): from the cache, else uploaded (unless `dry_run`)."""
    hosted = Hosted()
    cache = UploadCache.open(settings.cache_path)
    with open_host(settings, host_name) as host:
        for md5, image in images.items():
            entry = cache.lookup(host.identity, md5, image.sha256)
            if entry is None:
                hosted.missing[md5] = image
                continue
            hosted.urls[md5] = entry.url
            report.reused += 1
            if entry.uploaded_at == "" and not dry_run:  # taken over from the legacy cache
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
            hosted.failed[md5] = f"is {image.size} bytes, above the host's limit of {host.max_size}"
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
                    hosted.urls[md5] = entry.url
                    report.reused += 1
                shown = display_path(images[md5].path)
                progress.advance(f"uploaded meanwhile by another imgsync: {shown}")
            yield todo

    def record(md5: str, result: UploadResult) -> None:
        cache.record(host.identity, md5, _entry(result.url, result.handle, images[md5], settings))

    def finished(md5: str, outcome: UploadResult | HostError) -> None:
        shown = display_path(images[md5].path)
        if isinstance(outcome, HostError):
            progress.advance(f"failed {shown}")
            return
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
    with reused:
        hosted.urls.update((md5, result.url) for md5, result in batch.done.items())
    hosted.failed.update((md5, str(error)) for md5, error in batch.failed.items())
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
