"""`imgsync migrate --to NAME`: every reference hosted on another profile moves to NAME.

The sync pipeline's machinery, fed with remote references: each image's bytes come from
its local file while that still matches the cache, else from the old URL, checked against
the cache's hashes (migrate_bytes.py); upload.py sends each image once (the cache for NAME
is looked up first, so a rerun sends nothing), records it (journal, then cache), and only
then writeback.py rewrites the references, each rewrite re-checked (rewrite.py). The old
host is left as it is; foreign references and local ones are never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from .cache import UploadCache
from .config import Settings, resolve_host
from .errors import ConfigError, DownloadError
from .markdown.cores import Cores
from .markdown.text_file import MarkdownText
from .migrate_bytes import Plan, download_and_verify, plan_bytes, remove_staged
from .remote import RemoteRef, profile_views
from .report import EXIT_OK, EXIT_WORK_LEFT, Failure, Location, Report

if TYPE_CHECKING:
    import httpx

    from .images import LocalImage
    from .progress import Progress
    from .scan import ScanResult


@dataclass(frozen=True)
class Move:
    """A reference that moves (or, with --dry-run, would), and where its bytes come from."""

    where: Location
    url: str  # the old URL, as the Markdown has it
    profile: str  # the profile it is on now
    origin: str  # "target" (already on NAME), "local" or "download"
    source: str  # the local file, or the URL downloaded


@dataclass
class MigrateReport:
    """What `migrate` did; `sync` holds what the upload and rewrite stages report."""

    target: str
    sync: Report
    moves: list[Move] = field(default_factory=list)
    downloaded: int = 0  # distinct images downloaded (and checked)
    from_local: int = 0  # distinct images read from their local file
    already_there: int = 0  # distinct images the cache already knows on the target
    notes: list[str] = field(default_factory=list)  # what could not be verified, per image
    foreign: int = 0  # foreign references, left alone
    on_target: int = 0  # references already on the target

    def exit_status(self) -> int:
        status = self.sync.exit_status()
        if status != EXIT_OK:
            return status
        return EXIT_WORK_LEFT if self.sync.dry_run and self.moves else EXIT_OK


@dataclass(frozen=True)
class MigrateOptions:
    dry_run: bool = False
    allow_private: bool = False  # the download address rule lifted (tests, an intranet host)
    progress: Callable[[], Progress] | None = None


@dataclass
class MovingFile:
    markdown: MarkdownText
    scan: ScanResult
    refs: list[RemoteRef]


def migrate(
    paths: Sequence[Path], settings: Settings, target: str, options: MigrateOptions
) -> MigrateReport:
    """Move every reference under `paths` hosted on another profile to the profile `target`."""
    profile = resolve_host(settings, target)  # ConfigError for a name the config lacks
    report = MigrateReport(target, Report(dry_run=options.dry_run))
    cache = UploadCache.open(
        settings.cache_path, project=settings.root, allow_http=settings.allow_http
    )
    for (path, line), text in cache.warnings.items():  # a journal line it could not take
        report.sync.warn(str(Location(path, line)), text)
    views = profile_views(settings)
    identity = next((v.identity for v in views if v.name == profile.name), None)
    if identity is None:
        raise ConfigError(f"[hosts.{target}]: its host identity can't be worked out (its url?)")
    files = _moving(paths, settings, cache, identity, report)
    plans: dict[str, Plan] = {}  # by image key (see _key)
    for file in files:
        for item in file.refs:
            key = image_key(item)
            if key not in plans:
                plans[key] = plan_bytes(item, identity, cache, settings)
            plan = plans[key]
            shown = str(plan.local.path) if plan.origin == "local" and plan.local else plan.url
            report.moves.append(
                Move(
                    Location(file.markdown.path, item.ref.line),
                    item.ref.url,
                    item.hosted.profile if item.hosted else "",
                    plan.origin,
                    shown,
                )
            )
    if options.dry_run or not plans:
        return report
    from .hosts.base import make_http_client

    with make_http_client(settings.http) as http:
        images = _gather(files, plans, settings, http, options, report)
        links = old_links(
            settings, {item.hosted.profile for f in files for item in f.refs if item.hosted}, http
        )
    host_and_rewrite(files, images, links, settings, target, options, report)
    return report


def _moving(
    paths: Sequence[Path],
    settings: Settings,
    cache: UploadCache,
    identity: str,
    report: MigrateReport,
) -> list[MovingFile]:
    """The files under `paths` with references hosted on another profile than the target."""
    from .remote_files import classified_files

    classified, _ = classified_files(paths, settings, report.sync, cache)
    files = []
    for markdown, scanned, items in classified:
        refs = []
        for item in items:
            if item.hosted is None:
                report.foreign += 1
            elif item.hosted.identity == identity:
                report.on_target += 1
            else:
                refs.append(item)
        if refs:
            files.append(MovingFile(markdown, scanned, refs))
    return files


def image_key(item: RemoteRef) -> str:
    """What tells one old image from another before its bytes are had: its MD5 from the
    cache, else its URL (a `serves` prefix only)."""
    from .remote import bare_url

    hosted = item.hosted
    return hosted.md5 if hosted and hosted.md5 else "url " + bare_url(item.url)


def _gather(
    files: list[MovingFile],
    plans: dict[str, Plan],
    settings: Settings,
    http: httpx.Client,
    options: MigrateOptions,
    report: MigrateReport,
) -> dict[str, LocalImage | str]:
    """By image key: the image to host, or why it can't be (said at each of its references)."""
    firsts: dict[str, RemoteRef] = {}
    for file in files:
        for item in file.refs:
            firsts.setdefault(image_key(item), item)
    images: dict[str, LocalImage | str] = {}
    for key, plan in plans.items():
        if plan.origin != "download":
            assert plan.local is not None
            images[key] = plan.local
            if plan.origin == "local":
                report.from_local += 1
            else:
                report.already_there += 1
            continue
        try:
            got = download_and_verify(
                http, firsts[key], settings, allow_private=options.allow_private
            )
        except DownloadError as error:
            images[key] = f"can't be downloaded from the old host: {error.reason}"
            continue
        report.downloaded += 1
        images[key] = got.image
        if got.note:
            report.notes.append(f"{firsts[key].url}: {got.note}")
    return images


def old_links(
    settings: Settings, profiles: set[str], http: httpx.Client
) -> dict[str, Callable[[str], str]]:
    """By profile: how it turns a hosted URL into the link it writes (PicHub's `transform`)."""
    from .hosts import create_host
    from .hosts.base import LinkingHost

    links: dict[str, Callable[[str], str]] = {}
    for name in profiles:
        try:
            host = create_host(resolve_host(settings, name), http)
        except ConfigError:
            continue  # no token to hand: its links are taken as plain URLs
        if isinstance(host, LinkingHost):
            links[name] = host.link_url
    return links


def own_suffix(url: str, linked: str) -> str:
    """The `?query#fragment` of the old `url` that belongs to the reference: the parameters
    its old host's link added (`linked`) dropped, those the writer added kept."""
    head, hash_mark, fragment = url.partition("#")
    _, question, query = head.partition("?")
    if not question and not hash_mark:
        return ""
    hosts = set(parse_qsl(linked.partition("#")[0].partition("?")[2], keep_blank_values=True))
    kept = [pair for pair in parse_qsl(query, keep_blank_values=True) if pair not in hosts]
    if kept == parse_qsl(query, keep_blank_values=True):
        suffix = f"?{query}" if query else ""  # untouched: exactly as written
    else:
        suffix = f"?{urlencode(kept)}" if kept else ""
    return suffix + (f"#{fragment}" if hash_mark else "")


def host_and_rewrite(
    files: list[MovingFile],
    images: Mapping[str, LocalImage | str],
    links: dict[str, Callable[[str], str]],
    settings: Settings,
    target: str,
    options: MigrateOptions,
    report: MigrateReport,
) -> None:
    """Upload (or find in the cache) each image once, then rewrite: the pipeline's stages."""
    from .progress import Progress  # the upload seam
    from .run_stamps import load_stamps
    from .upload import host_images
    from .writeback import FileToRewrite, Writeback

    sync = report.sync
    unique: dict[str, LocalImage] = {}
    sources: dict[str, str] = {}
    alts: dict[Path, str] = {}
    to_rewrite = []
    for file in files:
        refs, suffixes = [], {}
        for item in file.refs:
            got, hosted = images[image_key(item)], item.hosted
            assert hosted is not None
            if isinstance(got, str):
                sync.failures.append(
                    Failure(Location(file.markdown.path, item.ref.line), item.ref.url, got)
                )
                continue
            unique.setdefault(got.md5, got)
            staged = got.path.is_relative_to(settings.state_dir)  # downloaded
            if staged and hosted.entry is not None and hosted.entry.source:
                sources.setdefault(got.md5, hosted.entry.source)
            if item.ref.alt:
                alts.setdefault(got.path, item.ref.alt)
            link = links.get(hosted.profile)
            linked = link(hosted.entry.url) if link and hosted.entry else ""
            suffixes[item.ref.start] = own_suffix(item.url, linked)
            refs.append((item.ref, got.md5))
        if refs:
            to_rewrite.append(FileToRewrite(file.markdown, file.scan, refs, suffixes))
    if not unique:
        return
    with Cores(settings.parallel_from_chars) as cores:
        stamps = load_stamps(settings, sync)
        try:
            writeback = Writeback(to_rewrite, sync, stamps, cores)
            done = host_images(
                unique,
                settings,
                host_name=target,
                report=sync,
                progress=options.progress() if options.progress else Progress(quiet=True),
                alts=alts,
                on_settled=writeback.settled,
                sources=sources,
            )
            sync.host_verdict = done.verdict
            for rewriting in to_rewrite:
                for ref, md5 in rewriting.refs:
                    reason = done.failed.get(md5)
                    if reason is not None:
                        where = Location(rewriting.markdown.path, ref.line)
                        sync.failures.append(Failure(where, ref.url, reason, md5))
            writeback.finish()
            for md5, image in unique.items():
                if md5 in done.urls:
                    remove_staged(image, settings)
        finally:
            stamps.save()
