"""The main job, one direction: discover, scan, resolve + hash, look up, upload, record, rewrite.

Order matters for crash safety: an upload is recorded in the cache the moment it
succeeds, and files are rewritten only after that, so a killed run loses nothing
the next run would have to upload again.

Speed: files whose stamps say they are clean are not even read; only files that
may hold a reference are parsed, on every core when there are many. Uploads start at
once: each file goes to the upload stage (upload_feed.py) as soon as it is scanned and
its images hashed, while the rest of the tree is still read and parsed. Two seams are
imported only when crossed, since a synced tree crosses neither: the Markdown seam
(scan, images, destinations: markdown-it) when a file must be parsed, and the
upload seam (upload, write-back, the progress display: httpx, the worker pool) when
an image must be looked up or uploaded.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .config import Settings, resolve_host
from .discover import Walked, find_markdown
from .errors import ConfigError, ImageError, MarkdownError
from .files import folders_kept
from .ignore import MARKER, IgnoreList, project_path, written_path
from .markdown.cores import Cores
from .report import (
    Failure,
    Ignored,
    Location,
    Pending,
    PendingStatus,
    Report,
    display_path,
)
from .run_stamps import load_stamps
from .state.stamps import ImageFacts, Stamps

if TYPE_CHECKING:
    from .images import LocalImage
    from .markdown.destinations import LocalTarget
    from .markdown.text_file import MarkdownText
    from .nearest import Nearby
    from .progress import Progress
    from .publish import Output
    from .scan import ImageRef, ScanResult
    from .upload_feed import UploadFeed
    from .vault import Vault


@dataclass
class _Scanned:
    """A Markdown file that holds a local reference or a problem, as read and parsed."""

    markdown: MarkdownText
    scan: ScanResult
    marked: set[int] | None = None  # where what the inline markers ignore starts (_marked)


class _Run(NamedTuple):
    """What every step of one run shares."""

    settings: Settings
    report: Report
    stamps: Stamps
    cores: Cores
    ignores: IgnoreList
    walked: Walked | None = None  # told what the discovery walked (the run memo's record)


class _Options(NamedTuple):
    """How `sync` was asked to run: its keyword arguments, passed on as one value."""

    host_name: str | None = None
    dry_run: bool = False
    progress: Callable[[], Progress] | None = None
    on_written: Callable[[Path, bytes], None] | None = None
    output: Output | None = None  # --output: rewritten files go there (publish.py)


@dataclass
class _FileWork:
    """One Markdown file and its local references, each resolved to an image file."""

    markdown: MarkdownText
    scan: ScanResult
    refs: list[tuple[ImageRef, Path]] = field(default_factory=list)


def check(paths: Sequence[Path], settings: Settings, *, walked: Walked | None = None) -> Report:
    """Offline: list the local image references left under `paths`, each with whether its
    file is there to upload or the reference needs fixing. `walked`, if given, is told
    what the discovery walked (discover.Walked)."""
    report = Report()
    stamps = load_stamps(settings, report)
    try:
        with Cores(settings.parallel_from_chars) as cores, folders_kept():
            run = _Run(settings, report, stamps, cores, IgnoreList(settings.ignore), walked)
            scanned = _scan_all(paths, run)
            for item in scanned:
                _note_problems(item, run)
            if scanned:
                _note_pending(scanned, run)
            _warn_stale_ignores(paths, run)
    finally:
        stamps.save()
    return report


def _note_pending(scanned: list[_Scanned], run: _Run) -> None:
    settings, report, stamps = run.settings, run.report, run.stamps
    from .nearest import Nearby  # the Markdown seam
    from .vault import Vault

    nearby = Nearby(settings.root)  # one for the run: each folder listed once at most
    vault = Vault(settings.root)  # one for the run: walked once at most, when first needed
    there: list[tuple[int, Path]] = []  # the pending whose file is there, by index
    for item in scanned:
        path = item.markdown.path
        for ref, found in _resolve_refs(item, run, nearby, vault):
            if isinstance(found, ImageError):
                status: PendingStatus = "missing" if found.missing else "unusable"
                pending = Pending(Location(path, ref.line), ref.raw, status, found.reason)
            else:
                pending = Pending(Location(path, ref.line), ref.raw)
                there.append((len(report.pending), found))
            report.pending.append(pending)
    if there:
        _note_pending_images(there, settings, report, stamps)


def _note_pending_images(
    there: list[tuple[int, Path]], settings: Settings, report: Report, stamps: Stamps
) -> None:
    """Each pending reference whose file is there, looked at as a sync looks before sending
    (hashed, or known from its stamp): one a sync would refuse (a scriptable SVG, above
    `max_size`, not an image) is "unusable", with why; one whose bytes the cache (or the
    journal) knows on some host is "uploaded": a sync will only rewrite it. Offline and
    read-only: the cache is opened, never written, under whatever host identity; a cache
    that can't be read is a failure, and the references stay "not uploaded"."""
    from .cache import UploadCache  # only when a reference is left
    from .errors import CacheError

    images: dict[Path, LocalImage | ImageError] = {}  # each looked at once
    usable: list[tuple[int, LocalImage]] = []
    for index, image_path in there:
        if image_path not in images:
            try:
                images[image_path] = _image(image_path, settings, stamps)
            except ImageError as error:
                images[image_path] = error
        image = images[image_path]
        if isinstance(image, ImageError):
            pending = report.pending[index]
            report.pending[index] = replace(pending, status="unusable", reason=image.reason)
        else:
            usable.append((index, image))
    try:  # opened even when none is usable: a cache that can't be read is told all the same
        cache = UploadCache.open(
            settings.cache_path, project=settings.root, allow_http=settings.allow_http
        )
    except CacheError as error:
        told = "until it is fixed, check can't tell which images are already on the host"
        reason = (
            f"{error.reason} {told[0].upper()}{told[1:]}."
            if error.reason.endswith(".")
            else f"{error.reason}; {told}"
        )
        report.failures.append(Failure(Location(error.path), "", reason))
        return
    for (path, line), text in cache.warnings.items():
        report.warn(str(Location(path, line)), text)
    for index, image in usable:
        if cache.on_any_host(image.md5, image.sha256):
            report.pending[index] = replace(report.pending[index], status="uploaded")


def _resolve_refs(
    item: _Scanned, run: _Run, nearby: Nearby, vault: Vault
) -> Iterator[tuple[ImageRef, Path | ImageError]]:
    """Each local reference of a scanned file, with the project file it names or why none;
    but those ignored (by the `ignore` key or a marker), which go to the report instead.
    An Obsidian embed is first looked up in the `vault` (one per run), as Obsidian does."""
    from .images import PageTargets, reference_path  # the Markdown seam

    settings, path = run.settings, item.markdown.path
    marked = _marked(item, run.report)
    page = PageTargets(path, settings.root, settings.site_root, nearby, item.scan.typora_root)
    for ref in item.scan.local_refs:
        written = ref.target
        assert written is not None  # local_refs are exactly those with a target
        target = _embed_target(written, path, vault) if ref.kind == "embed" else written
        entry = "" if ref.start in marked else None
        if entry is None and run.ignores.entries:
            typora = item.scan.typora_root
            points_to = reference_path(target, path, settings.site_root, typora) if target else None
            entry = run.ignores.match(
                project_path(path, settings.root) or path.as_posix(),
                written_path(written.path),
                project_path(points_to, settings.root) if points_to else None,
            )
        if entry is not None:
            run.report.ignored.append(Ignored(Location(path, ref.line), ref.raw, entry))
            continue
        found: Path | ImageError
        try:
            if target is None:
                raise ImageError(_NOT_IN_VAULT.format(name=ref.url), missing=True)
            found = page.resolve(target)
        except ImageError as error:
            found = error
            if error.missing and _obsidian(settings) and ref.kind != "embed" and target:
                found = _in_vault(target, path, settings, vault, nearby) or error
        yield ref, found


def _obsidian(settings: Settings) -> bool:
    """Whether the project is read as an Obsidian vault: said in the config, or a vault's own
    settings folder at the project's top."""
    return settings.dialect == "obsidian" or (settings.root / ".obsidian").is_dir()


def _in_vault(
    target: LocalTarget, note: Path, settings: Settings, vault: Vault, nearby: Nearby
) -> Path | None:
    """A Markdown image's relative path that names no file from the note's folder, looked up
    as Obsidian looks up a link's path (a bare name anywhere in the vault, a path from its
    root); None when the vault has none either."""
    from .images import resolve_target  # the Markdown seam

    if target.path.startswith("/"):
        return None
    found = _embed_target(target, note, vault)
    if found is None:
        return None
    try:
        return resolve_target(found, note, settings.root, settings.site_root, nearby=nearby)
    except ImageError:
        return None


# What a bare embed name that names no file of the vault (the project) is told.
_NOT_IN_VAULT = (
    "not found: no file named {name!r} anywhere in the project, which Obsidian reads as its "
    "vault; fix the embed, or put the file in the project"
)


def _embed_target(written: LocalTarget, note: Path, vault: Vault) -> LocalTarget | None:
    """The file an Obsidian embed names, by Obsidian's rule (vault.py), as a path from the
    note's folder for `resolve_target` to confine; None for a bare name no file has. A path
    with a `/` that names no file is looked for from the vault's root (the error says where)."""
    from .markdown.destinations import LocalTarget  # the Markdown seam

    found = vault.locate(written.path, note)
    if found is None:
        if "/" not in written.path:
            return None
        found = vault.root / written.path.lstrip("/")
    return LocalTarget(os.path.relpath(found, note.parent).replace(os.sep, "/"), "")


def _marked(item: _Scanned, report: Report) -> set[int]:
    """Where the references an inline marker ignores start: each marker ignores the first
    local reference (or unhandled image) after it. A marker with none after it is a
    warning, as a stale entry. Worked out once for the file."""
    if item.marked is not None:
        return item.marked
    starts = sorted(
        [ref.start for ref in item.scan.local_refs] + [told.start for told in item.scan.unhandled]
    )
    marked = item.marked = set()
    for end in item.scan.ignore_marks:
        after = next((start for start in starts if start >= end), None)
        if after is None:
            line = item.markdown.text.count("\n", 0, end) + 1
            text = f"`<!-- {MARKER} -->` has no local image reference after it: remove it"
            report.warn(str(Location(item.markdown.path, line)), text)
        else:
            marked.add(after)
    return marked


def _warn_stale_ignores(paths: Sequence[Path], run: _Run) -> None:
    """Each `ignore` entry that matched nothing, when the run covered the whole project (a
    run on one post can't tell): a stale entry would hide the next reference it matches."""
    settings = run.settings
    if tuple(paths) != settings.project_paths or settings.config_path is None:
        return
    key = "tool.imgsync.ignore" if settings.config_path.name == "pyproject.toml" else "ignore"
    for entry in run.ignores.stale():
        run.report.warn(
            display_path(settings.config_path),
            f"`{key}` entry {entry!r} matches no local image reference: remove it",
        )


def sync(
    paths: Sequence[Path],
    settings: Settings,
    *,
    host_name: str | None = None,
    dry_run: bool = False,
    progress: Callable[[], Progress] | None = None,
    on_written: Callable[[Path, bytes], None] | None = None,
    output: Output | None = None,
    walked: Walked | None = None,
) -> Report:
    """Upload the new local images under `paths` and rewrite their references.

    `progress` makes the progress display; it is called only if an image must be looked
    up or uploaded. `on_written(path, data)` hears of each file rewritten, with the bytes
    written (watch mode recognises its own writes by them). With `output`, the files are
    copied there first and rewritten there, the sources left as they are (publish.py).
    `walked`, if given, is told what the discovery walked (discover.Walked).
    """
    options = _Options(host_name, dry_run, progress, on_written, output)
    report = Report(dry_run=dry_run, output=None if output is None else output.folder)
    if output is not None and not dry_run:
        from .publish import copy_sources

        copy_sources(output, settings, report)
    if settings.reprocess:  # references already hosted first: see reprocess.py
        from .reprocess import reprocess_hosted

        reprocess_hosted(paths, settings, report, host_name=host_name, progress=progress)
    stamps = load_stamps(settings, report)
    try:
        with Cores(settings.parallel_from_chars) as cores, folders_kept():
            run = _Run(settings, report, stamps, cores, IgnoreList(settings.ignore), walked)
            _scan_and_host(paths, run, options)
    finally:
        stamps.save()
    if not dry_run:
        _tell_changed_processing(settings, host_name, report)
    return report


def _tell_changed_processing(settings: Settings, host_name: str | None, report: Report) -> None:
    """Say once that the processing settings changed since the profile's last run: images
    already uploaded keep theirs (a sync with nothing local reads no cache to see it)."""
    from .processing import processing_of
    from .state.processing_seen import changed_processing

    try:
        profile = resolve_host(settings, host_name)
    except ConfigError:
        return  # no host to upload to: nothing was or will be processed
    today = processing_of(settings, profile).label
    before = changed_processing(settings.state_dir, settings.root, profile.name, today)
    if before is not None and not settings.reprocess:
        report.warn(
            display_path(settings.config_path or settings.root),
            f"the processing settings of {profile.name!r} changed since its last run (from"
            f" {before} to {today or 'none'}): images already uploaded keep theirs;"
            " `imgsync --reprocess` uploads them again with today's",
        )


def _scan_and_host(paths: Sequence[Path], run: _Run, options: _Options) -> None:
    """Scan, and get a URL for each image (cache or upload) as soon as it is found, while
    the scan goes on; each file is rewritten once its images have one. The upload seam is
    crossed at the first image: a tree with none needs no host, no cache, no network."""
    images: dict[Path, LocalImage] = {}  # by path, in the order found: hashed once each
    interrupted = False
    with contextlib.ExitStack() as stack:
        feed: UploadFeed | None = None
        try:
            for work in _collect(paths, run, images):
                if feed is None:
                    from .upload_feed import upload_feed  # the upload seam

                    feed = stack.enter_context(
                        upload_feed(
                            run.settings,
                            run.report,
                            run.stamps,
                            run.cores,
                            images,
                            host_name=options.host_name,
                            dry_run=options.dry_run,
                            progress=options.progress,
                            on_written=options.on_written,
                            output=options.output,
                        )
                    )
                feed.add(work.markdown, work.scan, work.refs)
        except KeyboardInterrupt:
            if feed is None or options.dry_run:
                raise  # nothing went up yet: nothing to save
            interrupted = True  # what went up is recorded, and its files rewritten
        if not interrupted:
            _warn_stale_ignores(paths, run)
        if feed is not None:
            feed.finish(interrupted=interrupted)
        elif not options.dry_run:
            _write_back_journal(run.settings, run.report)


def _write_back_journal(settings: Settings, report: Report) -> None:
    """Uploads the journal keeps and the cache file lost (a revert) go back into the file.

    Told by two stat() calls when there are none; a cache that can't be read or written
    is only a warning here, as this run needs no cache.
    """
    from .state.journal import UploadJournal, journal_path

    if UploadJournal(journal_path(settings.cache_path), settings.root).is_merged(
        settings.cache_path
    ):
        return
    from .cache import UploadCache, write_back_journal  # only when there is work for it
    from .errors import CacheError

    try:
        cache = UploadCache.open(
            settings.cache_path, project=settings.root, allow_http=settings.allow_http
        )
        note = write_back_journal(cache)
    except CacheError as error:
        report.warn(display_path(error.path), f"{error.reason} (the journal was not merged)")
        return
    if note is not None:
        report.warn(display_path(cache.path), note)
    for (path, line), text in cache.warnings.items():
        report.warn(str(Location(path, line)), text)


def _scan_all(paths: Sequence[Path], run: _Run) -> list[_Scanned]:
    """The files under `paths` that hold a local reference or a problem, parsed."""
    return list(_scan(paths, run))


def _scan(paths: Sequence[Path], run: _Run) -> Iterator[_Scanned]:
    """The files under `paths` that hold a local reference or a problem, parsed, each as
    soon as it is (in the order found; read only as the parsing needs them).

    Files stamped clean and unchanged are not read; files read and found clean
    are stamped so, for the next run.
    """
    settings, report, stamps = run.settings, run.report, run.stamps
    names, unreadable = find_markdown(
        paths,
        root=settings.root,
        include=settings.include,
        exclude=settings.exclude,
        walked=run.walked,
    )
    for folder, reason in unreadable:
        report.failures.append(Failure(Location(folder), "", f"folder cannot be read: {reason}"))
    todo: list[tuple[Path, os.stat_result, int]] = []
    for name in names:  # a Path made only for the files read: most are clean (stamps.py)
        report.files_scanned += 1
        try:
            seen = time.time_ns()  # before the stat: an edit after it must look racy
            st = os.stat(name)
            if stamps.is_clean(name, st, seen):
                continue
            todo.append((Path(name), st, seen))
        except OSError as error:
            reason = f"cannot be read: {error.strerror or error}"
            report.failures.append(Failure(Location(Path(name)), "", reason))
        stamps.forget(name)
    if not todo:
        return
    from .scan import scan_markdown  # the Markdown seam (see the module's docstring)

    scan = functools.partial(
        scan_markdown,
        front_matter_keys=settings.front_matter_keys,
        dialect=settings.dialect,
        every_link=False,  # only `local_refs` are read: no other link is looked for
    )
    size = sum(st.st_size for _, st, _ in todo)
    from .remote import rooted_prefixes

    served = rooted_prefixes(settings.hosts)
    for (markdown, st, seen), scanned in run.cores.stream(scan, _read(todo, run), size, len(todo)):
        scanned.hosted_prefixes = served
        if scanned.problems or scanned.unhandled or scanned.local_refs:
            yield _Scanned(markdown, scanned)
        else:
            stamps.note_clean(markdown.path, st, markdown.encode(markdown.text), seen)


def _read(
    todo: list[tuple[Path, os.stat_result, int]], run: _Run
) -> Iterator[tuple[tuple[MarkdownText, os.stat_result, int], str]]:
    """Each file of `todo` read, with its text to parse; those that can't be, reported."""
    from .markdown.text_file import read_markdown  # not for a run that reads no file

    for path, st, seen in todo:
        try:
            markdown = read_markdown(path, project=run.settings.root)
        except OSError as error:
            reason = f"cannot be read: {error.strerror or error}"
            run.report.failures.append(Failure(Location(path), "", reason))
            continue
        except MarkdownError as error:
            run.report.failures.append(Failure(Location(path, error.line), "", error.reason))
            continue
        yield (markdown, st, seen), markdown.text


def _collect(
    paths: Sequence[Path], run: _Run, images: dict[Path, LocalImage]
) -> Iterator[_FileWork]:
    """Each file with local references whose image is there, as soon as it is scanned, its
    references resolved and its images hashed (into `images`, each once)."""
    settings, report = run.settings, run.report
    places: tuple[Nearby, Vault] | None = None
    bad: dict[Path, str] = {}  # the images that can't be hosted, and why
    for item in _scan(paths, run):
        if places is None:
            from .nearest import Nearby  # the Markdown seam
            from .vault import Vault

            # One each for the run: each folder listed once at most, the vault walked once
            # at most, when first needed.
            places = Nearby(settings.root), Vault(settings.root)
        markdown = item.markdown
        _note_problems(item, run)
        work = _FileWork(markdown, item.scan)
        for ref, found in _resolve_refs(item, run, *places):
            if isinstance(found, ImageError):
                report.failures.append(_failure(markdown.path, ref, found.reason))
            else:
                work.refs.append((ref, found))
        _inspect(work, run, images, bad)
        if work.refs:
            yield work


def _inspect(
    work: _FileWork, run: _Run, images: dict[Path, LocalImage], bad: dict[Path, str]
) -> None:
    """Each image of `work` hashed (or known from its stamp) once for the run; the
    references to one that can't be hosted are failures, and leave `work.refs`."""
    kept = []
    for ref, path in work.refs:
        if path not in images and path not in bad:
            try:
                images[path] = _image(path, run.settings, run.stamps)
            except ImageError as error:
                bad[path] = error.reason
        if path in bad:
            run.report.failures.append(_failure(work.markdown.path, ref, bad[path]))
        else:
            kept.append((ref, path))
    work.refs = kept


def _image(path: Path, settings: Settings, stamps: Stamps) -> LocalImage:
    """The image at `path`, hashed now, or known from its stamp if it is unchanged (but an
    SVG, read again each time: its stamp can't tell whether scripts were allowed then)."""
    from .images import LocalImage, check_size, inspect_image  # the Markdown seam
    from .svg import MIME as SVG_MIME

    max_size = settings.max_size

    try:
        seen = time.time_ns()
        st = os.stat(path)
    except OSError as error:
        raise ImageError(f"cannot be read: {error.strerror or error}") from None
    facts = stamps.image(path, st)
    if facts is not None and facts.mime != SVG_MIME:
        check_size(facts.size, max_size)
        return LocalImage(path, facts.size, facts.md5, facts.sha256, facts.extension, facts.mime)
    image = inspect_image(path, max_size, allow_svg_scripts=settings.allow_svg_scripts)
    known = ImageFacts(image.size, image.md5, image.sha256, image.extension, image.mime)
    stamps.note_image(path, st, known, seen)
    return image


def _failure(path: Path, ref: ImageRef, reason: str, image_key: str = "") -> Failure:
    return Failure(Location(path, ref.line), ref.raw, reason, image_key)


def _note_problems(item: _Scanned, run: _Run) -> None:
    """The scan's problems, and its unhandled images but those the project ignores."""
    path, report = item.markdown.path, run.report
    for problem in item.scan.problems:
        report.failures.append(Failure(Location(path, problem.line), "", problem.reason))
    marked = _marked(item, report)
    for told in item.scan.unhandled:
        entry = "" if told.start in marked else _ignore_entry(item, run, told.image)
        if entry is not None:
            report.ignored.append(Ignored(Location(path, told.line), told.image, entry))
        else:
            reason = with_post_name(told.reason, told.image, path.stem)  # a Hexo asset's folder
            report.failures.append(Failure(Location(path, told.line), "", reason))


def with_post_name(reason: str, image: str, stem: str) -> str:
    from .markdown.unhandled import with_post_name as named  # the Markdown seam

    return named(reason, image, stem)


def _ignore_entry(item: _Scanned, run: _Run, written: str) -> str | None:
    """The `ignore` entry that matches an image written in a form a sync does not host."""
    if not run.ignores.entries:
        return None
    from .images import reference_path  # the Markdown seam
    from .markdown.destinations import local_target

    settings, path = run.settings, item.markdown.path
    target = local_target(written)
    points_to = None
    if target is not None:
        candidate = reference_path(target, path, settings.site_root, item.scan.typora_root)
        points_to = project_path(candidate, settings.root)
    markdown = project_path(path, settings.root) or path.as_posix()
    return run.ignores.match(markdown, written_path(target.path if target else written), points_to)
