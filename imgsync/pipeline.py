"""The main job, one direction: discover, scan, resolve + hash, look up, upload, record, rewrite.

Order matters for crash safety: an upload is recorded in the cache the moment it
succeeds, and files are rewritten only after that, so a killed run loses nothing
the next run would have to upload again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .cache import CacheEntry, UploadCache, utc_now
from .config import Settings, resolve_host
from .destinations import join_suffix, local_target
from .discover import discover_markdown
from .errors import HostError, ImageError, MarkdownError
from .hosts.base import UploadRequest, UploadResult
from .images import LocalImage, inspect_image, resolve_target
from .markdown_file import MarkdownText, read_markdown, write_markdown
from .progress import Progress
from .report import Failure, Location, Pending, Report, Uploaded, display_path
from .rewrite import Replacement, RewriteRefused, rewrite_markdown
from .scan import ImageRef, scan_markdown
from .uploader import RetryPolicy, upload_many


@dataclass
class _FileWork:
    """One Markdown file and its local references, each resolved to an image file."""

    markdown: MarkdownText
    refs: list[tuple[ImageRef, Path]] = field(default_factory=list)


def check(paths: Sequence[Path], settings: Settings) -> Report:
    """Offline: list the local image references left under `paths`."""
    report = Report()
    for markdown in _read_all(paths, settings, report):
        scan = scan_markdown(markdown.text)
        _note_problems(markdown.path, scan.problems, report)
        for ref in scan.local_refs:
            report.pending.append(Pending(Location(markdown.path, ref.line), ref.raw))
    return report


def sync(
    paths: Sequence[Path],
    settings: Settings,
    *,
    host_name: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Upload the new local images under `paths` and rewrite their references."""
    progress = progress or Progress(quiet=True)
    report = Report(dry_run=dry_run)
    works = _collect(paths, settings, report)
    images = _inspect(works, settings, report)
    if not images:
        return report  # nothing to upload: no host, no cache, no network needed
    profile = resolve_host(settings, host_name)
    cache = UploadCache.open(settings.cache_path)
    identity = host_identity(profile.type, profile.options.get("url", ""))
    urls: dict[str, str] = {}  # md5 -> hosted URL
    missing: dict[str, LocalImage] = {}
    for image in images.values():
        entry = cache.lookup(identity, image.md5, image.sha256)
        if entry is None:
            missing.setdefault(image.md5, image)
        elif image.md5 not in urls:
            urls[image.md5] = entry.url
            report.reused += 1
            if entry.uploaded_at == "" and not dry_run:  # taken over from the legacy cache
                cache.record(identity, image.md5, _entry(entry.url, {}, image, settings))
    if dry_run:
        _report_dry_run(works, images, missing, report)
        return report
    failed: dict[str, str] = {}
    if missing:
        uploaded, failed = upload_images(
            missing,
            settings,
            host_name=host_name,
            cache=cache,
            report=report,
            progress=progress,
            alts=_first_alt_by_image(works),
        )
        urls.update(uploaded)
    for work in works:
        for ref, path in work.refs:
            reason = failed.get(images[path].md5)
            if reason is not None:
                report.failures.append(_failure(work.markdown.path, ref, reason))
    _rewrite(works, images, urls, report)
    return report


def host_identity(host_type: str, url: object) -> str:
    """The cache's name for a host: type and URL, never the profile name or a token."""
    return f"{host_type} {str(url).rstrip('/')}"


def _read_all(paths: Sequence[Path], settings: Settings, report: Report) -> list[MarkdownText]:
    files, unreadable = discover_markdown(
        paths, root=settings.root, include=settings.include, exclude=settings.exclude
    )
    for folder, reason in unreadable:
        report.failures.append(Failure(Location(folder), "", f"folder cannot be read: {reason}"))
    texts = []
    for path in files:
        report.files_scanned += 1
        try:
            texts.append(read_markdown(path))
        except MarkdownError as error:
            report.failures.append(Failure(Location(path, error.line), "", error.reason))
    return texts


def _collect(paths: Sequence[Path], settings: Settings, report: Report) -> list[_FileWork]:
    works = []
    for markdown in _read_all(paths, settings, report):
        scan = scan_markdown(markdown.text)
        _note_problems(markdown.path, scan.problems, report)
        work = _FileWork(markdown)
        for ref in scan.local_refs:
            target = local_target(ref.url)
            assert target is not None  # local_refs are exactly those with a target
            try:
                image = resolve_target(target, markdown.path, settings.root, settings.site_root)
            except ImageError as error:
                report.failures.append(_failure(markdown.path, ref, error.reason))
                continue
            work.refs.append((ref, image))
        if work.refs:
            works.append(work)
    return works


def _inspect(works: list[_FileWork], settings: Settings, report: Report) -> dict[Path, LocalImage]:
    images: dict[Path, LocalImage] = {}
    bad: dict[Path, str] = {}
    for work in works:
        kept = []
        for ref, path in work.refs:
            if path not in images and path not in bad:
                try:
                    images[path] = inspect_image(path, settings.max_size)
                except ImageError as error:
                    bad[path] = error.reason
            if path in bad:
                report.failures.append(_failure(work.markdown.path, ref, bad[path]))
            else:
                kept.append((ref, path))
        work.refs = kept
    return images


def upload_images(
    images: dict[str, LocalImage],
    settings: Settings,
    *,
    host_name: str | None,
    cache: UploadCache,
    report: Report,
    progress: Progress,
    alts: Mapping[Path, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Upload `images` (keyed by MD5), recording each success in the cache at once.

    Returns (hosted URLs, failure reasons), both by MD5.
    """
    from .hosts import create_host  # imports httpx: only when something must go up
    from .hosts.base import make_http_client

    profile = resolve_host(settings, host_name)
    identity = host_identity(profile.type, profile.options.get("url", ""))
    policy = RetryPolicy(
        max_attempts=settings.max_attempts, rate_limit_wait=settings.rate_limit_wait
    )
    alts = alts or {}
    urls: dict[str, str] = {}
    failed: dict[str, str] = {}
    requests: dict[str, UploadRequest] = {}
    with make_http_client(settings.http()) as http:
        host = create_host(profile, http)
        for md5, image in images.items():
            if host.max_size is not None and image.size > host.max_size:
                failed[md5] = f"is {image.size} bytes, above the host's limit of {host.max_size}"
                continue
            requests[md5] = UploadRequest(
                image.path,
                image.upload_name(),
                image.mime,
                image.size,
                alt=alts.get(image.path, ""),
            )

        def record(md5: str, result: UploadResult) -> None:
            cache.record(identity, md5, _entry(result.url, result.handle, images[md5], settings))

        def finished(md5: str, outcome: UploadResult | HostError) -> None:
            shown = display_path(images[md5].path)
            if isinstance(outcome, HostError):
                progress.advance(f"failed {shown}")
                return
            if outcome.warning:
                report.warnings.append(f"{shown}: {outcome.warning}")
            report.uploaded.append(Uploaded(images[md5].path, outcome.url))
            progress.advance(f"uploaded {shown} -> {outcome.url}")

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
            )
        finally:
            progress.finish()
    urls.update((md5, result.url) for md5, result in batch.done.items())
    failed.update((md5, str(error)) for md5, error in batch.failed.items())
    report.interrupted = batch.interrupted
    return urls, failed


def _rewrite(
    works: list[_FileWork], images: dict[Path, LocalImage], urls: dict[str, str], report: Report
) -> None:
    for work in works:
        replacements = []
        for ref, path in work.refs:
            url = urls.get(images[path].md5)
            target = local_target(ref.url)
            if url is not None and target is not None:
                replacements.append(Replacement(ref, join_suffix(url, target.suffix)))
        if not replacements:
            continue
        path = work.markdown.path
        try:
            new_text = rewrite_markdown(work.markdown.text, replacements)
            changed = write_markdown(work.markdown, new_text)
        except RewriteRefused as error:
            report.failures.append(Failure(Location(path), "", f"left unchanged: {error}"))
            continue
        except MarkdownError as error:
            report.failures.append(Failure(Location(path), "", error.reason))
            continue
        if changed:
            report.files_changed.append(path)
            report.links_rewritten += len(replacements)


def _report_dry_run(
    works: list[_FileWork],
    images: dict[Path, LocalImage],
    missing: dict[str, LocalImage],
    report: Report,
) -> None:
    for work in works:
        for ref, _path in work.refs:
            report.pending.append(Pending(Location(work.markdown.path, ref.line), ref.raw))
    report.uploaded.extend(Uploaded(image.path, "") for image in missing.values())


def _first_alt_by_image(works: list[_FileWork]) -> dict[Path, str]:
    alts: dict[Path, str] = {}
    for work in works:
        for ref, path in work.refs:
            if ref.alt:
                alts.setdefault(path, ref.alt)
    return alts


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


def _failure(path: Path, ref: ImageRef, reason: str) -> Failure:
    return Failure(Location(path, ref.line), ref.raw, reason)


def _note_problems(path: Path, problems: list[tuple[int, str]], report: Report) -> None:
    for line, reason in problems:
        report.failures.append(Failure(Location(path, line), "", reason))
