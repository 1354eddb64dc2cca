"""The one interface every image host implements, and the values it trades in.

HostProfile and HttpSettings live in profile.py (the configuration reads them without
loading this module) and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from ..errors import ConfigError, HostError
from .profile import HostProfile, HttpSettings

__all__ = [
    "Access",
    "Album",
    "AlbumHost",
    "BatchHost",
    "CheckableHost",
    "DeletingHost",
    "Host",
    "HostProfile",
    "HostedImage",
    "HttpSettings",
    "LinkingHost",
    "ListingHost",
    "ServingHost",
    "StagingHost",
    "UploadRequest",
    "UploadResult",
    "make_http_client",
    "supports",
]

if TYPE_CHECKING:
    import httpx  # imported by make_http_client: a run that uploads nothing never loads it

    from ..privacy.edits import SendPlan


@dataclass(frozen=True)
class UploadRequest:
    """One local image to upload."""

    path: Path  # resolved, inside the project, already sniffed
    filename: str  # the name to send: stem of the file + extension of its real type
    mime: str  # the real type, from the bytes
    size: int  # bytes, as sent
    alt: str = ""  # alt text of the first reference, for hosts that take a title
    # The bytes to send when they are not the file's own (metadata stripped: privacy/);
    # KitHost.open streams them.
    plan: SendPlan | None = None


@dataclass(frozen=True)
class UploadResult:
    """What a host gave back for one upload."""

    url: str  # the public URL to write into the Markdown
    handle: Mapping[str, str] = field(default_factory=dict)  # e.g. {"key": "..."} for deleting
    warning: str | None = None  # something the user should know (e.g. held for moderation)


class Host(Protocol):
    """An image host. One file per host under imgsync/hosts/, registered in hosts/__init__.py."""

    type_name: ClassVar[str]

    @property
    def identity(self) -> str:
        """Type and URL, e.g. "lsky https://img.example.com/api/v1": the cache key part.

        Renaming a profile keeps it; switching hosts changes it. Never holds a token.
        """
        ...

    @property
    def max_size(self) -> int | None:
        """The largest file the host accepts, in bytes, when known."""
        ...

    def upload(self, request: UploadRequest) -> UploadResult:
        """Upload one file; raise a HostError subclass on any failure."""
        ...


@runtime_checkable
class BatchHost(Host, Protocol):
    """A host that takes several files in one request (PicHub's `files[]`)."""

    @property
    def batch_size(self) -> int:
        """The most files to send in one request."""
        ...

    def upload_batch(self, requests: Sequence[UploadRequest]) -> list[UploadResult | HostError]:
        """One outcome per request, in order: a result, or the HostError for that file.

        Raise a HostError when the whole request failed (rate limit, credentials,
        timeout): the caller retries or fails every file of it.
        """
        ...


@dataclass(frozen=True)
class Access:
    """What a host's read-only check found (`imgsync doctor` shows it).

    `verified` is True only when the host accepted the credentials; False when the API
    answered but the credentials could not be tested (no read-only call, a guest
    profile). `detail` says which, in a sentence a user reads.
    """

    verified: bool
    detail: str


@runtime_checkable
class CheckableHost(Host, Protocol):
    """A host that can test its set-up without uploading: optional, as not every host's API
    has a call for it. `imgsync doctor` says so for a host without it."""

    def check_access(self) -> Access:
        """One read that uploads nothing, with the credentials where the API allows one.

        Raise AuthError when the credentials are refused, WrongEndpoint for a reply that is
        not the API's (a wrong 'url'), HostUnreachable when no connection can be made,
        TransientHostError when one was made and failed (a timeout, a 5xx).
        """
        ...


@runtime_checkable
class StagingHost(Host, Protocol):
    """A host that hands the server files to read rather than their bytes (PicGo's path
    upload): it writes the bytes to send into a private folder first."""

    def stage_in(self, folder: Path) -> None:
        """Where to write the copies: a folder under the project's `.imgsync/`, told before
        the first upload. The host removes each copy once its request is answered."""
        ...


# What a host can do beyond uploading (`imgsync list`, `prune`, `delete`, `albums`): each
# is a protocol a host class implements or not; `supports` says which, and a command the
# host can't do says so in one line (exit 2).


@dataclass(frozen=True)
class HostedImage:
    """One image on the host account, as the host's listing shows it."""

    url: str  # the public URL, as the upload reply gave it
    handle: Mapping[str, str]  # what `delete` takes: {"key": ...} (Lsky), {"id": ...} (PicHub)
    size: int | None = None  # bytes, when the listing says
    uploaded_at: str = ""  # UTC, "2026-11-23T11:30:05Z"; "" when unknown
    name: str = ""  # the name it was uploaded under, when the listing says
    album: str = ""  # the album's id, "" for none


@dataclass(frozen=True)
class Album:
    """An album on the host account."""

    id: str
    name: str
    image_count: int | None = None  # when the host says


@runtime_checkable
class ListingHost(Host, Protocol):
    """A host whose API lists the account's images."""

    def list_images(
        self, progress: Callable[[int, int | None], None] | None = None
    ) -> Iterator[HostedImage]:
        """Every image of the account, each once, page after page, paced by the host's
        limits; `progress(listed so far, total or None)` after each page. An image deleted
        or added by someone else while listing must neither be skipped nor listed twice.
        Raise a HostError subclass when a page can't be read."""
        ...


@runtime_checkable
class DeletingHost(Host, Protocol):
    """A host whose API deletes an image by the handle its upload reply gave."""

    def delete(self, handle: Mapping[str, str]) -> None:
        """Delete the image; an image already gone is no error. Raise a HostError subclass
        when the host refuses or can't be reached, and ValueError for a handle this host
        can't use (an entry recorded without one)."""
        ...


@runtime_checkable
class AlbumHost(Host, Protocol):
    """A host with albums the API can list (and maybe create)."""

    can_create_albums: ClassVar[bool]

    def albums(self) -> list[Album]:
        """Every album of the account."""
        ...

    def create_album(self, name: str) -> Album:
        """Create an album (only when `can_create_albums`)."""
        ...


@runtime_checkable
class LinkingHost(Host, Protocol):
    """A host whose links in Markdown may differ from the URL its upload gave: PicHub adds
    its processing parameters (`transform`). The cache keeps the URL the upload gave."""

    def link_url(self, url: str) -> str:
        """The link to write (or print) for the hosted `url`."""
        ...


@runtime_checkable
class ServingHost(Host, Protocol):
    """A host whose images are served from another site than its API: GitHub's raw files
    or a CDN in front of them. Cached URLs there are the host's own, not another site's."""

    @property
    def public_prefixes(self) -> tuple[str, ...]:
        """URL prefixes its images are served under, e.g. "https://cdn.example.com/i/"."""
        ...


def supports(host: Host) -> frozenset[str]:
    """What `host` can do beyond uploading: "list", "delete", "albums", "create_album"."""
    can = set()
    if isinstance(host, ListingHost):
        can.add("list")
    if isinstance(host, DeletingHost):
        can.add("delete")
    if isinstance(host, AlbumHost):
        can.add("albums")
        if host.can_create_albums:
            can.add("create_album")
    return frozenset(can)


def make_http_client(settings: HttpSettings) -> httpx.Client:
    """The one HTTP client all uploads share: explicit timeouts, TLS verified, env proxies."""
    import ssl

    import httpx

    from .tls_context import TLSOnFirstUse

    # httpx accepts any object that does what an SSLContext does where httpcore uses it.
    verify: ssl.SSLContext = TLSOnFirstUse()  # type: ignore[assignment]
    if settings.ca_file:
        # httpx 0.28 deprecates a CA path for `verify`; it wants a context built from it.
        try:
            verify = ssl.create_default_context(cafile=str(settings.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"can't be used as a CA file: {exc}", settings.ca_file) from None
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.write_timeout,
        pool=settings.read_timeout,
    )
    return httpx.Client(
        timeout=timeout,
        verify=verify,
        trust_env=True,
        follow_redirects=False,
        headers={"Accept": "application/json", "User-Agent": "imgsync"},
    )
