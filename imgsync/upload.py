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

    from .hosts.albums import AlbumChoice
    from .hosts.base import HostProfile
    from .privacy import MetadataError, SendPlan
from .images import LocalImage
from .processing import Processed, Processing, ProcessingError, process, processing_of
from .progress import Progress
from .report import Location, Report, Uploaded, display_path
from .state.album_ids import AlbumIds
from .state.claims import UploadClaims
from .transfer.pool import UploadStream


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
    alts = alts or {}
    with hosting(
        settings,
        host_name=host_name,
        report=report,
        progress=progress,
        dry_run=dry_run,
        on_settled=on_settled,
        sources=sources,
    ) as session:
        for md5, image in images.items():
            session.add(md5, image, alts.get(image.path, ""))
        return session.finish()


@contextmanager
def hosting(
    settings: Settings,
    *,
    host_name: str | None,
    report: Report,
    progress: Progress,
    dry_run: bool = False,
    on_settled: Callable[[str, str | None], None] | None = None,
    sources: Mapping[str, str] | None = None,
) -> Iterator[HostSession]:
    """`host_images` fed one image at a time (see HostSession): the pipeline sends the
    first images while it still looks for the others. Leaving the block by an error stops
    what is in flight; `finish()` inside it waits for the uploads."""
    cache = UploadCache.open(
        settings.cache_path, project=settings.root, allow_http=settings.allow_http
    )
    try:
        with _profile_and_client(settings, host_name) as (profile, http):
            session = HostSession(
                Hosted(listener=on_settled), cache, profile, http, settings, report, progress
            )
            session.dry_run, session.sources = dry_run, sources or {}
            try:
                yield session
            except BaseException:
                session.abort()
                raise
    finally:
        for (path, line), text in cache.warnings.items():
            report.warn(str(Location(path, line)), text)


class HostSession:
    """The upload stage of one run, fed one image at a time.

    `add` looks each image up in the cache at once; a miss is sent as soon as it is known,
    while the caller goes on finding images (the pool's first request still goes alone).
    What must be said of the lookups as a whole (foreign sites, other processing) is said
    at `finish`, which waits for the uploads. When nothing can be sent (no token for the
    host, a read-only cache), the misses are only counted, and `finish` raises what today's
    run would have raised before sending anything, with the same counts.
    """

    def __init__(
        self,
        hosted: Hosted,
        cache: UploadCache,
        profile: HostProfile,
        http: httpx.Client,
        settings: Settings,
        report: Report,
        progress: Progress,
    ) -> None:
        self.hosted, self.cache, self.profile, self.http = hosted, cache, profile, http
        self.settings, self.report, self.progress = settings, report, progress
        self.dry_run = False
        self.sources: Mapping[str, str] = {}
        self.identity, served, self.unusable = _identity_for_lookups(profile, http, hosted)
        self.foreign = _ForeignSites(self.identity, served)
        self.label = processing_of(settings, profile).label
        self.other_processing = 0
        self.uploads: _Uploads | None = None
        self.blocked = False  # there is something to upload, and it can't be: see finish()
        self.journal_settled = False
        self.album: AlbumChoice | None = None
        self.memory: AlbumIds | None = None

    def add(self, md5: str, image: LocalImage, alt: str = "") -> None:
        """One more image (by MD5, each once): its URL from the cache, else sent now."""
        entry = self.cache.lookup(self.identity, md5, image.sha256)
        if entry is not None and entry.processing != self.label:
            if self.settings.reprocess:  # asked for: sent again with today's settings
                entry = None
            else:
                self.other_processing += 1
        if entry is None:
            self.hosted.missing[md5] = image
            if not self.dry_run:
                self._send(md5, image, alt)
            return
        self.report.reused += 1
        self.foreign.note(entry.url)
        self.hosted.got_url(md5, entry.url)
        if entry.taken_from_legacy_cache and not self.dry_run and not self.cache.read_only:
            self.cache.record(self.identity, md5, _entry(entry.url, {}, image, self.settings))

    def _send(self, md5: str, image: LocalImage, alt: str) -> None:
        if self.uploads is None and not self.blocked:
            self._start()
        if self.uploads is not None:
            self.uploads.add(md5, image, alt)

    def _start(self) -> None:
        """Before the first upload: the journal merged, the upload host made (its album)."""
        if self.unusable is not None or self.cache.read_only:
            self.blocked = True  # told at finish(), with how many images it kept back
            return
        self._settle_journal(to_upload=1)
        from .hosts.albums import create_upload_host

        # The profile's `album`, found by name: only now that something goes up.
        self.memory = AlbumIds(self.settings.state_dir, self.settings.root)
        host, self.album = create_upload_host(self.profile, self.http, self.memory)
        strip = self.profile.strip_metadata or self.settings.strip_metadata
        uploads = _Uploads(self.hosted, host, self.cache, self.settings, self.report, self.progress)
        uploads.sources = self.sources
        uploads.processing = processing_of(self.settings, self.profile)
        uploads.start(strip)
        self.uploads = uploads

    def _settle_journal(self, to_upload: int) -> None:
        self.journal_settled = True
        note = write_back_journal(self.cache, to_upload=to_upload)
        if note is not None:
            self.report.warn(display_path(self.cache.path), note)

    def finish(self, *, interrupted: bool = False) -> Hosted:
        """Wait for the uploads (or, `interrupted`, for those in flight only); their outcome."""
        cache_name = display_path(self.settings.cache_path)
        self.foreign.tell(self.report, cache_name)
        if self.other_processing:
            self.report.warn(
                cache_name,
                f"{self.other_processing} image(s) were uploaded with other processing"
                f" settings than today's ({self.label or 'none'}); --reprocess uploads them"
                " again",
            )
        if not self.dry_run and not self.journal_settled:
            self._settle_journal(to_upload=len(self.hosted.missing))
        if self.blocked and self.unusable is not None:
            raise self.unusable  # something to upload: now the token is needed
        uploads, self.uploads = self.uploads, None  # finished here, whatever happens
        if uploads is not None:
            try:
                uploads.finish(interrupted=interrupted)
            finally:
                self._forget_album()
            self.cache.settle_journal()  # leaves the journal's mark for the next run
        return self.hosted

    def abort(self) -> None:
        """Leaving early (an error): nothing more is sent; what is in flight is left."""
        if self.uploads is not None:
            self.uploads.abort()
            self._forget_album()

    def _forget_album(self) -> None:
        if self.hosted.failed and self.album is not None and self.album.remembered:
            assert self.memory is not None
            # Maybe the album is gone: the next run looks it up again by name.
            self.album.forget(self.memory)


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
        self.strip = "none"  # what metadata to take out of what is sent (start)
        self.stream: UploadStream  # the pool, once started
        self.sent = 0  # the requests given to the pool

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

    def request(self, md5: str, image: LocalImage, alt: str) -> UploadRequest | None:
        """What to send, its metadata stripped by `self.strip` (privacy/); None when the image
        fails here: above the host's known limit, or its metadata can't be read to strip it."""
        from .privacy import MetadataError, send_plan

        limit, strip = self.host.max_size, self.strip
        try:
            path, mime, name = self._processed(md5, image)
        except (OSError, ProcessingError) as error:
            reason = error if isinstance(error, ProcessingError) else error.strerror
            self.hosted.failed_with(md5, f"can't be processed ({reason}), so it is not sent")
            return None
        try:  # Pillow writes no metadata but the ICC profile: stripping finds nothing there
            plan = send_plan(path, mime, strip)
        except (OSError, MetadataError) as error:
            self.hosted.failed_with(md5, _unstrippable(error, strip))
            return None
        if limit is not None and plan.size > limit:
            self.hosted.failed_with(md5, f"is {plan.size} bytes, above the host's limit of {limit}")
            return None
        return UploadRequest(path, name, mime, plan.size, alt, plan if plan.removed else None)

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

    def start(self, strip: str) -> None:
        """Ready to send: the pool started, waiting for `add`."""
        self.strip = strip
        self.progress.start(0)
        self.stream = UploadStream(
            self.host,
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

    def add(self, md5: str, image: LocalImage, alt: str) -> None:
        """One more image to send (it is in `hosted.missing`); sent once a worker is free."""
        request = self.request(md5, image, alt)
        if request is None:
            return
        if request.plan is not None:  # before it is sent: the workers read it
            self.plans[md5] = request.plan
        if not self.sent and isinstance(self.host, StagingHost):  # copies the server reads
            state = private_folder(self.settings.state_dir)
            # Confined: the host writes there, and removes what it left there before.
            self.host.stage_in(private_folder(state / "staging", project=state))
        self.sent += 1
        self.progress.grow(1)
        self.stream.add(md5, request)
        self.stream.settle_done()

    def abort(self) -> None:
        try:
            self.stream.abandon()
        finally:
            self.progress.finish()
            self._remove_processed()

    def _remove_processed(self) -> None:
        for done in self.processed.values():  # the processed copies: sent, or never
            done.path.unlink(missing_ok=True)

    def finish(self, *, interrupted: bool = False) -> None:
        try:
            with self.stream:
                batch = self.stream.interrupt() if interrupted else self.stream.finish()
        finally:
            self.progress.finish()
            self._remove_processed()
        for md5, result in batch.done.items():
            self.hosted.got_url(md5, result.url)
        for md5, error in batch.failed.items():
            self.hosted.failed_with(md5, str(error))
        if batch.verdict is not None:
            self.hosted.verdict = str(batch.verdict)
        self.report.interrupted = batch.interrupted
        if self.unwritten:
            unsent = self.sent - len(batch.done) - len(batch.failed)
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
