"""The main job, one direction: discover, scan, resolve + hash, look up, upload, record, rewrite.

Order matters for crash safety: an upload is recorded in the cache the moment it
succeeds, and files are rewritten only after that, so a killed run loses nothing
the next run would have to upload again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import Settings
from .destinations import join_suffix, local_target
from .discover import discover_markdown
from .errors import ImageError, MarkdownError
from .images import LocalImage, inspect_image, resolve_target
from .markdown_file import MarkdownText, read_markdown, write_markdown
from .progress import Progress
from .report import Failure, Location, Pending, Report
from .rewrite import Replacement, RewriteRefused, rewrite_markdown
from .scan import ImageRef, scan_markdown


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
    on_written: Callable[[Path, bytes], None] | None = None,
) -> Report:
    """Upload the new local images under `paths` and rewrite their references.

    `on_written(path, data)` hears of each file rewritten, with the bytes written
    (watch mode recognises its own writes by them).
    """
    progress = progress or Progress(quiet=True)
    report = Report(dry_run=dry_run)
    works = _collect(paths, settings, report)
    images = _inspect(works, settings, report)
    if not images:
        return report  # nothing to upload: no host, no cache, no network needed
    from .hosting import host_images  # imports httpx: only when there are images

    unique: dict[str, LocalImage] = {}
    for image in images.values():  # in the order of the files; the first name wins
        unique.setdefault(image.md5, image)
    hosted = host_images(
        unique,
        settings,
        host_name=host_name,
        report=report,
        progress=progress,
        dry_run=dry_run,
        alts=_first_alt_by_image(works),
    )
    if dry_run:
        _report_dry_run(works, hosted.missing, report)
        return report
    for work in works:
        for ref, path in work.refs:
            reason = hosted.failed.get(images[path].md5)
            if reason is not None:
                report.failures.append(_failure(work.markdown.path, ref, reason))
    _rewrite(works, images, hosted.urls, report, on_written)
    return report


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


def _rewrite(
    works: list[_FileWork],
    images: dict[Path, LocalImage],
    urls: dict[str, str],
    report: Report,
    on_written: Callable[[Path, bytes], None] | None,
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
            if on_written is not None:
                on_written(path, work.markdown.encode(new_text))


def _report_dry_run(
    works: list[_FileWork], missing: Mapping[str, LocalImage], report: Report
) -> None:
    for work in works:
        for ref, _path in work.refs:
            report.pending.append(Pending(Location(work.markdown.path, ref.line), ref.raw))
    report.would_upload.extend(image.path for image in missing.values())


def _first_alt_by_image(works: list[_FileWork]) -> dict[Path, str]:
    alts: dict[Path, str] = {}
    for work in works:
        for ref, path in work.refs:
            if ref.alt:
                alts.setdefault(path, ref.alt)
    return alts


def _failure(path: Path, ref: ImageRef, reason: str) -> Failure:
    return Failure(Location(path, ref.line), ref.raw, reason)


def _note_problems(path: Path, problems: list[tuple[int, str]], report: Report) -> None:
    for line, reason in problems:
        report.failures.append(Failure(Location(path, line), "", reason))
