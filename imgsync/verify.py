"""`imgsync verify`: every hosted image URL the Markdown references still serves its image.

Each distinct URL is fetched once (bounded concurrency; at most PER_ORIGIN requests at a
time to one server; a 429 waited out once, as its Retry-After says). Where the cache knows
the image and the host keeps the bytes it was given, the whole image is downloaded and its
SHA-256 compared; elsewhere (a host that re-encodes, a URL known only by a `serves`
prefix, a foreign URL with `--foreign`) the first bytes are asked for (a ranged GET) and
sniffed. Each bad URL is reported at every reference to it, with file and line.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from .config import Settings
from .errors import DownloadError
from .hosts._http import retry_after
from .hosts.download import HEAD_BYTES, Fetched, Resolver, fetch, system_resolver
from .hosts.host_url import redact_url
from .remote import RemoteRef
from .report import EXIT_FAILED, EXIT_OK, EXIT_WORK_LEFT, Failure, Location

if TYPE_CHECKING:
    import httpx  # the upload seam: loaded only when there is something to fetch

PER_ORIGIN = 4  # requests at a time to one server: image servers are CDNs, but be polite
FULL_CAP = 64 * 1024 * 1024  # bytes: the most an image is downloaded to compare it
LONGEST_WAIT = 60.0  # seconds a 429 may ask for before it counts as a failure
Status = Literal[
    "ok", "gone", "redirected", "not_image", "changed", "not_comparable", "error", "refused"
]


@dataclass(frozen=True)
class LinkResult:
    """What one URL answered, said for each reference to it."""

    url: str
    status: Status
    reason: str
    profile: str | None  # the profile hosting it; None for a foreign URL


@dataclass(frozen=True)
class LinkFinding:
    """A reference whose URL is broken (or, for a note, could not be fully checked)."""

    where: Location
    result: LinkResult


@dataclass
class VerifyReport:
    """What `verify` found; the exit status follows from it."""

    files_scanned: int = 0
    references: int = 0  # remote references checked
    urls: int = 0  # distinct URLs fetched
    foreign_skipped: int = 0  # foreign references not checked (no --foreign)
    broken: list[LinkFinding] = field(default_factory=list)
    notes: list[LinkFinding] = field(default_factory=list)  # e.g. not comparable
    failures: list[Failure] = field(default_factory=list)  # files that could not be read

    def exit_status(self) -> int:
        if self.broken:
            return EXIT_WORK_LEFT
        return EXIT_FAILED if self.failures else EXIT_OK


@dataclass(frozen=True)
class VerifyOptions:
    foreign: bool = False  # check foreign URLs too (that they serve an image)
    allow_private: bool = False  # the download address rule lifted (tests, an intranet host)
    jobs: int | None = None
    deadline: float = 60.0  # seconds for one URL, redirects included
    resolve: Resolver = system_resolver


def verify(paths: Sequence[Path], settings: Settings, options: VerifyOptions) -> VerifyReport:
    """Check every hosted (and, with `options.foreign`, every foreign) URL under `paths`."""
    report = VerifyReport()
    remote = _references(paths, settings, report)
    chosen: dict[str, list[tuple[Path, RemoteRef]]] = {}
    for path, item in remote:
        if item.foreign and not options.foreign:
            report.foreign_skipped += 1
            continue
        report.references += 1
        chosen.setdefault(item.url, []).append((path, item))
    report.urls = len(chosen)
    if not chosen:
        return report
    from .hosts.base import make_http_client

    gates: dict[str, threading.Semaphore] = {}
    jobs = options.jobs or settings.jobs
    with make_http_client(settings.http) as http, ThreadPoolExecutor(max_workers=jobs) as pool:

        def check(url: str, item: RemoteRef) -> LinkResult:
            gate = gates.setdefault(_origin(url), threading.Semaphore(PER_ORIGIN))
            with gate:
                return _check(http, item, options)

        futures = {url: pool.submit(check, url, refs[0][1]) for url, refs in chosen.items()}
        for url, refs in chosen.items():
            result = futures[url].result()
            for path, item in refs:
                finding = LinkFinding(Location(path, item.ref.line), result)
                if result.status == "not_comparable":
                    report.notes.append(finding)
                elif result.status != "ok":
                    report.broken.append(finding)
    report.broken.sort(key=_in_file_order)
    report.notes.sort(key=_in_file_order)
    return report


def _in_file_order(finding: LinkFinding) -> tuple[Path, int]:
    return finding.where.path, finding.where.line or 0


def _references(
    paths: Sequence[Path], settings: Settings, report: VerifyReport
) -> list[tuple[Path, RemoteRef]]:
    """Every remote reference under `paths`, classified, in file and document order."""
    from .remote_files import classified_files

    classified, _ = classified_files(paths, settings, report)
    return [(markdown.path, item) for markdown, _, items in classified for item in items]


def _check(http: httpx.Client, item: RemoteRef, options: VerifyOptions) -> LinkResult:
    hosted = item.hosted
    profile = hosted.profile if hosted else None
    # The whole image only where its hash can be held against the cache's.
    whole = bool(hosted and hosted.entry and hosted.entry.sha256 and not hosted.re_encodes)
    # Bytes past the size recorded can't be the image uploaded: no need to read them.
    size = hosted.entry.size if hosted and hosted.entry and not hosted.entry.sent_sha256 else 0
    limit = size if whole and size > 0 else FULL_CAP
    shown = redact_url(item.url)

    def result(status: Status, reason: str) -> LinkResult:
        return LinkResult(shown, status, reason, profile)

    fetched: Fetched | None = None
    for attempt in (1, 2):
        try:
            fetched = fetch(
                http,
                item.url,
                limit=limit,
                deadline=options.deadline,
                head=None if whole else HEAD_BYTES,
                allow_private=options.allow_private,
                resolve=options.resolve,
            )
        except DownloadError as error:
            if error.too_large and whole:
                return result("changed", "the image is larger than the one uploaded")
            if error.refused_address:
                return result("refused", f"{error.reason} (--allow-private-addresses allows it)")
            return result("error", error.reason)
        if fetched.status != 429 or attempt == 2:
            break
        wait = retry_after(fetched.retry_after) or 5.0
        if wait > LONGEST_WAIT:
            break
        time.sleep(wait)
    assert fetched is not None
    return _judge(fetched, item, whole, result)


def _judge(
    fetched: Fetched, item: RemoteRef, whole: bool, result: Callable[[Status, str], LinkResult]
) -> LinkResult:
    if fetched.location:
        return result("redirected", f"redirected more than {len(fetched.redirects)} times")
    if fetched.status in (404, 410):
        return result("gone", f"gone: the server answered HTTP {fetched.status}")
    if not 200 <= fetched.status < 300:
        return result("error", f"the server answered HTTP {fetched.status}")
    if fetched.image_type() is None:
        said = fetched.content_type or "no content type"
        if fetched.redirects:
            where = redact_url(fetched.redirects[-1])
            return result(
                "redirected",
                f"redirected to {where}, which is not an image ({said}): a login or error page",
            )
        return result("not_image", f"not an image: the server sent {said}")
    hosted = item.hosted
    if whole and hosted is not None and hosted.entry is not None:
        # What was sent, when stripping made it other than the file (docs/privacy.md).
        sent = hosted.entry.sent_sha256 or hosted.entry.sha256
        if hashlib.sha256(fetched.body).hexdigest() != sent:
            return result(
                "changed",
                "the bytes changed since the upload: their SHA-256 is not the cache's",
            )
        return result("ok", "")
    if hosted is not None and hosted.entry is not None and hosted.re_encodes:
        return result(
            "not_comparable",
            f"not comparable: {hosted.host_type} re-encodes uploads, so only its still "
            "serving an image was checked",
        )
    return result("ok", "")


def _origin(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # `https://[::1/x.png`: fetch says why, on its own line
        return url
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
