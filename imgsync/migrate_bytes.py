"""Where `migrate` gets an image's bytes: the local file while it still matches the cache,
else a download from the old URL, checked against the cache's hashes where it can be.

A downloaded image is staged in `.imgsync/migrate/` (written atomically) so the upload
stage can send it as it sends any project file; the file is removed once the image is
hosted. Every byte of a download goes through hosts/download.py: the address rule, a
size cap and a deadline.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from .errors import DownloadError, ImageError, OutsideProject
from .files import atomic_write, confined, private_folder
from .images import LocalImage, inspect_image, sniff_image_type
from .remote import RemoteRef

if TYPE_CHECKING:
    import httpx

    from .cache import UploadCache
    from .config import Settings

Origin = Literal["target", "local", "download"]
DOWNLOAD_CAP = 64 * 1024 * 1024  # bytes: the most one image is downloaded (beside max_size)
DEADLINE = 120.0  # seconds for one download, redirects included


@dataclass(frozen=True)
class Plan:
    """Where one image's bytes will come from, decided without touching the network."""

    origin: Origin  # already on the target, the local file, or a download
    url: str  # the old URL (one of them) the download would read
    local: LocalImage | None = None  # origin "local" (and a stand-in for "target")


def plan_bytes(
    item: RemoteRef, target_identity: str, cache: UploadCache, settings: Settings
) -> Plan:
    """The cheapest honest source of the image `item` references (see the module)."""
    hosted = item.hosted
    assert hosted is not None
    entry = hosted.entry
    if entry is None or hosted.md5 is None:
        return Plan("download", item.url)  # known by a `serves` prefix only
    # The cache is committed (untrusted) input: its `source` stays inside the project.
    path = settings.root / entry.source if entry.source else None
    stand_in = LocalImage(path or settings.root, entry.size, hosted.md5, entry.sha256, "", "")
    if cache.lookup(target_identity, hosted.md5, entry.sha256) is not None:
        return Plan("target", item.url, stand_in)
    if path is not None:
        try:
            real = confined(path, settings.root)
            image = inspect_image(real, None, allow_svg_scripts=settings.allow_svg_scripts)
        except (OutsideProject, ImageError):
            pass
        else:
            if (image.md5, image.sha256) == (hosted.md5, entry.sha256):
                return Plan("local", item.url, image)
    return Plan("download", item.url)


@dataclass(frozen=True)
class Downloaded:
    """A downloaded image, staged, and what could be checked of it."""

    image: LocalImage  # the staged file
    note: str = ""  # what could not be verified, said to the user


def download_and_verify(
    http: httpx.Client, item: RemoteRef, settings: Settings, *, allow_private: bool
) -> Downloaded:
    """The image at the old URL, checked against the cache and staged; DownloadError (with
    a reason for the reference) when it can't be had or is not the image uploaded."""
    from .hosts.download import download_image

    hosted = item.hosted
    assert hosted is not None
    entry = hosted.entry
    limit = min(DOWNLOAD_CAP, settings.max_size or DOWNLOAD_CAP)
    stripped = entry is not None and bool(entry.sent_sha256)  # sent without its metadata
    if entry is not None and entry.size > 0 and not hosted.re_encodes and not stripped:
        limit = entry.size  # more bytes than uploaded can't be the image uploaded
    try:
        body, _mime = download_image(
            http, item.url, limit=limit, deadline=DEADLINE, allow_private=allow_private
        )
    except DownloadError as error:
        if error.refused_address:
            raise DownloadError(
                f"{error.reason} (--allow-private-addresses allows it)", url=error.url
            ) from None
        if error.too_large and entry is not None and not hosted.re_encodes:
            raise DownloadError(
                "the host serves more bytes than were uploaded: not the image the cache knows",
                url=error.url,
            ) from None
        raise
    md5, sha256 = hashlib.md5(body).hexdigest(), hashlib.sha256(body).hexdigest()
    note = ""
    if entry is None:
        note = "not in the cache: only that it is an image was checked"
    elif hosted.re_encodes:
        if sha256 != entry.sha256:
            note = (
                f"{hosted.host_type} re-encodes uploads: its bytes can't be held against the "
                "cache's hashes, so only that it is an image was checked, and those bytes moved"
            )
    elif stripped:
        # What went up was the file with its location (or all) metadata stripped (privacy/):
        # its SHA-256 is the one the cache recorded as sent.
        if sha256 != entry.sent_sha256:
            raise DownloadError(
                "the bytes the host serves are not the image uploaded (their SHA-256 is not "
                "the one the cache recorded as sent): not moved",
                url=item.url,
            )
    elif (md5, sha256) != (hosted.md5, entry.sha256) or (entry.size and len(body) != entry.size):
        raise DownloadError(
            "the bytes the host serves are not the image uploaded (their hashes are not the "
            "cache's): not moved",
            url=item.url,
        )
    staged = _stage(body, md5, _name(entry.source if entry else "", item.url), settings)
    try:
        image = inspect_image(
            staged, settings.max_size, allow_svg_scripts=settings.allow_svg_scripts
        )
    except ImageError as error:
        staged.unlink(missing_ok=True)
        raise DownloadError(f"the download {error.reason}", url=item.url) from None
    return Downloaded(image, note)


def staging_folder(settings: Settings) -> Path:
    return private_folder(settings.state_dir, project=settings.root) / "migrate"


def _stage(body: bytes, md5: str, name: str, settings: Settings) -> Path:
    kind = sniff_image_type(body[:4096])
    extension = kind[0] if kind else PurePosixPath(name).suffix
    folder = staging_folder(settings) / md5
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (PurePosixPath(name).stem + extension)
    atomic_write(path, body, project=settings.root)
    return path


def _name(source: str, url: str) -> str:
    """A file name for the staged image: the one it was uploaded from, else the URL's."""
    name = PurePosixPath(source).name if source else ""
    if not name:
        name = PurePosixPath(unquote(urlsplit(url).path)).name
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".")
    return safe or "image"


def remove_staged(image: LocalImage, settings: Settings) -> None:
    """Drop a staged download once its image is hosted (or failed: a rerun downloads again)."""
    folder = staging_folder(settings)
    if image.path.parent.parent == folder and image.path.is_relative_to(folder):
        image.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: another name was staged there
            image.path.parent.rmdir()
