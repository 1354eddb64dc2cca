"""The pipeline's upload stage: a hosted URL for each image, from the cache or uploaded."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import CacheEntry, UploadCache, utc_now, write_back_journal
from .config import Settings, resolve_host
from .errors import CacheNotWritten, ConfigError, HostError
from .files import private_folder
from .hosted_url import base_url_of, site
from .hosts import create_host
from .hosts.base import (
    Host,
    LinkingHost,
    ServingHost,
    StagingHost,
    UploadRequest,
    UploadResult,
    make_http_client,
)

if TYPE_CHECKING:
    import httpx

    from .hosts.base import HostProfile
    from .privacy import MetadataError, SendPlan
from .images import LocalImage
from .processing import Processed, Processing, ProcessingError, process, processing_of
from .progress import Progress
from .report import Location, Report, Uploaded, display_path
from .state.album_ids import AlbumIds
from .state.claims import UploadClaims
from .transfer.pool import upload_many


@dataclass
class Hosted:
    """By MD5: the URLs known or made, the reasons of failures, the images still to upload.

    `listener(md5, url or None)` hears of each image the moment its outcome is known
    (from any thread), so files can be rewritten while other uploads go on. `link` turns
    a hosted URL into the one to write (LinkingHost), for `urls` and the listener alike.
    """

    urls: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    missing: dict[str, LocalImage] = field(default_factory=dict)
    # Why the host was given up, when it was: the reason of every image it failed.
    verdict: str | None = None
    listener: Callable[[str, str | None], None] | None = None
    link: Callable[[str], str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def got_url(self, md5: str, url: str) -> None:
        with self._lock:
            if md5 in self.urls:
                return
            url = url if self.link is None else self.link(url)
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
    profile = resolve_host(settings, host_name)
    with make_http_client(settings.http) as http:
        yield create_host(profile, http)


@contextmanager
def _profile_and_client(
    settings: Settings, host_name: str | None
) -> Iterator[tuple[HostProfile, httpx.Client]]:
    profile = resolve_host(settings, host_name)
    with make_http_client(settings.http) as http:
        yield profile, http


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
    sources: Mapping[str, str] | None = None,
) -> Hosted:
    """URLs for `images` (by MD5): from the cache, else uploaded (unless `dry_run`).

    `on_settled(md5, url or None)` hears of each image's outcome as soon as it is known.
    `sources` (by MD5) is the path to record (and show) for an image sent from elsewhere than
    where the project keeps it (migrate's downloads, staged in `.imgsync/`).
    Uploads the journal keeps count as made (see cache.py), and go back into the cache
    file. CacheError before anything is sent if the cache file is read-only and there
    is something to upload; CacheNotWritten once the uploads in flight are done if it
    could not be written meanwhile.
    """
    hosted = Hosted(listener=on_settled)
    cache = UploadCache.open(
        settings.cache_path, project=settings.root, allow_http=settings.allow_http
    )
    try:
        with _profile_and_client(settings, host_name) as (profile, http):
            identity, served, unusable = _identity_for_lookups(profile, http, hosted)
            writable = not dry_run and not cache.read_only
            foreign = _ForeignSites(identity, served)
            label, other_processing = processing_of(settings, profile).label, 0
            for md5, image in images.items():
                entry = cache.lookup(identity, md5, image.sha256)
                if entry is not None and entry.processing != label:
                    if settings.reprocess:  # asked for: sent again with today's settings
                        entry = None
                    else:
                        other_processing += 1
                if entry is None:
                    hosted.missing[md5] = image
                    continue
                report.reused += 1
                foreign.note(entry.url)
                hosted.got_url(md5, entry.url)
                if entry.taken_from_legacy_cache and writable:
                    cache.record(identity, md5, _entry(entry.url, {}, image, settings))
            foreign.tell(report, display_path(settings.cache_path))
            if other_processing:
                report.warn(
                    display_path(settings.cache_path),
                    f"{other_processing} image(s) were uploaded with other processing settings"
                    f" than today's ({label or 'none'}); --reprocess uploads them again",
                )
            if not dry_run:
                note = write_back_journal(cache, to_upload=len(hosted.missing))
                if note is not None:
                    report.warn(display_path(cache.path), note)
            if hosted.missing and not dry_run:
                if unusable is not None:  # something to upload: now the token is needed
                    raise unusable
                from .hosts.albums import create_upload_host

                # The profile's `album`, found by name: only now that something goes up.
                memory = AlbumIds(settings.state_dir, settings.root)
                host, album = create_upload_host(profile, http, memory)
                try:
                    strip = profile.strip_metadata or settings.strip_metadata
                    uploads = _Uploads(hosted, host, cache, settings, report, progress)
                    uploads.sources = sources or {}
                    uploads.processing = processing_of(settings, profile)
                    uploads.run(alts or {}, strip)
                finally:
                    if hosted.failed and album is not None and album.remembered:
                        # Maybe the album is gone: the next run looks it up again by name.
                        album.forget(memory)
                cache.settle_journal()  # leaves the journal's mark for the next run
    finally:
        for (path, line), text in cache.warnings.items():
            report.warn(str(Location(path, line)), text)
    return hosted


def _identity_for_lookups(
    profile: HostProfile, http: httpx.Client, hosted: Hosted
) -> tuple[str, tuple[str, ...], ConfigError | None]:
    """The host's identity, to look images up in the cache, the prefixes its images are
    served under (served_from); and, when the host can't be
    made (no token in the environment: a pull request from a fork, a docs build), the
    ConfigError to raise only if something must be uploaded. A run whose images are all in
    the cache needs no secret. PicHub's `transform` needs the host to write its links."""
    from .remote import offline_identity

    try:
        host = create_host(profile, http)
    except ConfigError as error:
        identity = None if "transform" in profile.options else offline_identity(profile)
        if identity is None:
            raise
        return identity, profile.serves, error
    if isinstance(host, LinkingHost):  # PicHub's `transform`: links with parameters
        hosted.link = host.link_url
    return host.identity, served_from(host, profile), None


def served_from(host: Host, profile: HostProfile) -> tuple[str, ...]:
    """Where the host's images are served besides its API's site: the profile's `serves`
    prefixes and, for a ServingHost (GitHub's raw files, a CDN), its own."""
    own = host.public_prefixes if isinstance(host, ServingHost) else ()
    return (*profile.serves, *own)


class _ForeignSites:
    """Cache entries whose URL is on another site than the host's API, told once per site.

    The committed cache is input: a pull request can map an image to any https:// URL,
    which passes every check. Refusing other sites would break hosts that serve images
    from a CDN or a bucket, so they are used, but said, for a reviewer to check.
    """

    def __init__(self, identity: str, served: tuple[str, ...] = ()) -> None:
        self.home = site(base_url_of(identity))
        self.homes = {self.home} | {site(prefix) for prefix in served}
        self.counts: dict[str, int] = {}

    def note(self, url: str) -> None:
        where = site(url)
        # A host whose identity names no site (a command that prints its URL) has none to
        # compare with: its URLs are where its program put the images.
        if self.home and where not in self.homes:
            self.counts[where] = self.counts.get(where, 0) + 1

    def tell(self, report: Report, cache_name: str) -> None:
        for where, count in sorted(self.counts.items()):
            report.warn(
                cache_name,
                f"{count} image(s) taken from the cache point at {where}, not at the host's "
                f"site ({self.home}): the cache is committed, so check in its history that "
                f"{where} is where your host serves images (then list it in the profile's "
                "'serves')",
            )


class _Uploads:
    """The cache misses of one run going up to one host, each recorded the moment it succeeds.

    Its methods are the pool's callbacks: `claim` before a group is sent, `record`
    in the worker right after each success, `finished` as each outcome is settled.
    When the cache file can't be written but the journal kept the upload, nothing
    more is sent, the uploads in flight finish (each kept in the journal too), and
    the run ends with one CacheNotWritten that says how many the journal holds.
    """

    def __init__(
        self,
        hosted: Hosted,
        host: Host,
        cache: UploadCache,
        settings: Settings,
        report: Report,
        progress: Progress,
    ) -> None:
        self.hosted, self.host, self.cache = hosted, host, cache
        self.settings, self.report, self.progress = settings, report, progress
        self.images = hosted.missing
        self.claims = UploadClaims(private_folder(settings.state_dir) / "uploading.lock")
        self._counting = threading.Lock()  # report.reused is counted from worker threads
        self.stop = threading.Event()  # set: send nothing more (the cache can't be written)
        self.unwritten: list[CacheNotWritten] = []  # uploads kept in the journal only
        self.sources: Mapping[str, str] = {}  # by MD5: the source to record instead (migrate)
        self.plans: dict[str, SendPlan] = {}  # by MD5: the images sent stripped
        self.processing = Processing()  # what is asked of images before upload
        self.processed: dict[str, Processed] = {}  # by MD5: the images sent processed

    def _processed(self, md5: str, image: LocalImage) -> tuple[Path, str, str]:
        """The path, MIME type and file name to send: the file's, or its processed copy's."""
        if not self.processing.active:
            return image.path, image.mime, image.upload_name()
        folder = private_folder(self.settings.state_dir) / "processed"
        folder.mkdir(exist_ok=True)
        done = process(image.path, image.mime, self.processing, folder)
        if done is None:
            return image.path, image.mime, image.upload_name()
        self.processed[md5] = done
        return done.path, done.mime, image.path.stem + done.extension

    def requests(self, alts: Mapping[Path, str], strip: str) -> dict[str, UploadRequest]:
        """What to send, by MD5, its metadata stripped by `strip` (privacy/); an image above
        the host's known limit, or whose metadata can't be read to strip it, fails here."""
        from .privacy import MetadataError, send_plan

        requests: dict[str, UploadRequest] = {}
        limit = self.host.max_size
        for md5, image in self.images.items():
            try:
                path, mime, name = self._processed(md5, image)
            except (OSError, ProcessingError) as error:
                reason = error if isinstance(error, ProcessingError) else error.strerror
                self.hosted.failed_with(md5, f"can't be processed ({reason}), so it is not sent")
                continue
            try:  # Pillow writes no metadata but the ICC profile: stripping finds nothing there
                plan = send_plan(path, mime, strip)
            except (OSError, MetadataError) as error:
                self.hosted.failed_with(md5, _unstrippable(error, strip))
                continue
            if limit is not None and plan.size > limit:
                self.hosted.failed_with(
                    md5, f"is {plan.size} bytes, above the host's limit of {limit}"
                )
                continue
            alt = alts.get(image.path, "")
            requests[md5] = UploadRequest(
                path, name, mime, plan.size, alt, plan if plan.removed else None
            )
        return requests

    @contextmanager
    def claim(self, md5s: Sequence[str], stop: threading.Event) -> Iterator[list[str] | None]:
        """Hold the images against other imgsync processes; skip those they uploaded meanwhile."""
        with self.claims.hold(md5s, stop=stop) as held:
            if not held:
                yield None
                return
            self.cache.reload()
            yield [md5 for md5 in md5s if not self._uploaded_meanwhile(md5)]

    def _uploaded_meanwhile(self, md5: str) -> bool:
        image = self.images[md5]
        entry = self.cache.lookup(self.host.identity, md5, image.sha256)
        if entry is None or entry.processing != self.processing.label:
            return False
        with self._counting:
            self.report.reused += 1
        self.hosted.got_url(md5, entry.url)
        self.progress.advance(f"uploaded meanwhile by another imgsync: {display_path(image.path)}")
        return True

    def record(self, md5: str, result: UploadResult) -> None:
        entry = _entry(result.url, result.handle, self.images[md5], self.settings)
        if md5 in self.sources:
            entry = replace(entry, source=self.sources[md5])
        entry = replace(entry, processing=self.processing.label)
        plan = self.plans.get(md5)
        if md5 in self.processed:  # a new image was made: its hash is kept for verify
            entry = replace(entry, sent_sha256=self.processed[md5].sha256)
        if plan is not None:  # what went up is not the file: its hash is kept for verify
            with suppress(OSError):  # the file went away since: verify then checks less
                entry = replace(entry, sent_sha256=plan.sha256())
        try:
            self.cache.record(self.host.identity, md5, entry)
        except CacheNotWritten as error:  # kept in the journal: a success all the same
            with self._counting:
                self.unwritten.append(error)
                first = len(self.unwritten) == 1
            self.stop.set()
            if first:
                self.progress.note(
                    f"{display_path(self.cache.path)} can't be written: sending nothing"
                    " more, letting the uploads in flight finish"
                )

    def finished(self, md5: str, outcome: UploadResult | HostError) -> None:
        source = self.sources.get(md5)  # a staged download is named by the file it was
        shown = f"{source} (downloaded)" if source else display_path(self.images[md5].path)
        if isinstance(outcome, HostError):
            self.hosted.failed_with(md5, str(outcome))
            # The host given up is said once, at the end; not once per image.
            self.progress.advance("" if outcome.about_host else f"failed {shown}")
            return
        self.hosted.got_url(md5, outcome.url)
        if outcome.warning:
            self.report.warn(shown, outcome.warning)
        self.report.uploaded.append(Uploaded(self.images[md5].path, outcome.url))
        stripped = f" (sent as {done.describe()})" if (done := self.processed.get(md5)) else ""
        if (plan := self.plans.get(md5)) is not None:
            stripped += f" ({', '.join(plan.removed)} stripped)"
            with self._counting:
                self.report.stripped += 1
        self.progress.advance(f"uploaded {shown} -> {outcome.url}{stripped}")

    def run(self, alts: Mapping[Path, str], strip: str) -> None:
        try:
            self._run(alts, strip)
        finally:
            for done in self.processed.values():  # the processed copies: sent, or never
                done.path.unlink(missing_ok=True)

    def _run(self, alts: Mapping[Path, str], strip: str) -> None:
        requests = self.requests(alts, strip)
        self.plans = {md5: r.plan for md5, r in requests.items() if r.plan is not None}
        if requests and isinstance(self.host, StagingHost):  # copies the server reads (PicGo)
            state = private_folder(self.settings.state_dir)
            # Confined: the host writes there, and removes what it left there before.
            self.host.stage_in(private_folder(state / "staging", project=state))
        self.progress.start(len(requests))
        try:
            batch = upload_many(
                self.host,
                requests,
                self.settings.retry,
                jobs=self.settings.jobs,
                on_success=self.record,
                on_finished=self.finished,
                on_wait=self.progress.note,
                claim=self.claim,
                stop=self.stop,
                # Unless the environment allows http anywhere, only a loopback host's.
                allow_http=True if self.settings.allow_http else None,
            )
        finally:
            self.progress.finish()
        for md5, result in batch.done.items():
            self.hosted.got_url(md5, result.url)
        for md5, error in batch.failed.items():
            self.hosted.failed_with(md5, str(error))
        if batch.verdict is not None:
            self.hosted.verdict = str(batch.verdict)
        self.report.interrupted = batch.interrupted
        if self.unwritten:
            unsent = len(requests) - len(batch.done) - len(batch.failed)
            raise CacheNotWritten(
                self.cache.path,
                f"{self.unwritten[0].reason}. The {len(self.unwritten)} upload(s) it could"
                f" not record are kept in the journal {display_path(self.cache.journal.path)},"
                " and the next run merges them into the cache, uploading none of them again"
                f" ({unsent} image(s) were not sent). Fix the cause (disk space, permissions),"
                " then run imgsync again.",
            )


def _unstrippable(error: OSError | MetadataError, strip: str) -> str:
    if isinstance(error, OSError):
        return f"can't be read: {error.strerror or error}"
    return (
        f"can't have its metadata stripped ({error}), so it is not sent: repair the file, or"
        f' upload it with strip_metadata = "none" (strip_metadata is "{strip}")'
    )


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
