"""`sync --reprocess` for references already hosted: sent again with today's processing.

A local reference needs nothing from here: upload.py takes its cache entry, recorded with other
processing settings, as missing. A reference a sync already rewrote to the hosted URL is found
by that URL in the cache (remote.py), on the host the sync uses, with another `processing` than
today's. Its bytes come only from the file the cache recorded as its source, and only while that
file still has the MD5 the cache keys the image by: processing the processed copy the host
serves would stack one loss on another, so an image whose original is gone or changed is said,
never sent. The upload and the rewrite are migrate's stages, with the host as its own target:
each image goes up once, is recorded, and then each reference moves to the new URL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings, resolve_host
from .errors import ImageError, OutsideProject
from .files import confined
from .images import LocalImage, inspect_image
from .remote import RemoteRef, profile_views
from .report import Location, Pending, Report

if TYPE_CHECKING:
    from .migrate import MovingFile
    from .progress import Progress


def reprocess_hosted(
    paths: Sequence[Path],
    settings: Settings,
    report: Report,
    *,
    host_name: str | None,
    progress: Callable[[], Progress] | None,
) -> None:
    """Upload again, with today's processing, each image that references under `paths` link
    on the sync's host and that was sent with other settings; point them at the new upload.

    Adds to `report` as a sync does (uploads, rewritten files, failures); with --dry-run, the
    originals that would be sent join `report.would_upload`.
    """
    from .migrate import (
        MigrateOptions,
        MigrateReport,
        MovingFile,
        host_and_rewrite,
        image_key,
        old_links,
    )
    from .processing import processing_of
    from .remote_files import classified_files

    profile = resolve_host(settings, host_name)
    identity = next((v.identity for v in profile_views(settings) if v.name == profile.name), None)
    if identity is None:
        return  # nothing can have been recorded for a host whose identity is unknown
    today = processing_of(settings, profile).label
    scanning = Report()  # the sync that follows reads the same files and reports on them
    classified, _ = classified_files(paths, settings, scanning)
    files: list[MovingFile] = []
    originals: dict[str, LocalImage | str] = {}  # by image key: the original, or why none
    for markdown, scanned, items in classified:
        stale = [item for item in items if _sent_otherwise(item, identity, today)]
        for item in stale:
            key = image_key(item)
            if key not in originals:
                originals[key] = _original(item, settings)
        if stale:
            files.append(MovingFile(markdown, scanned, stale))
    _tell_lost_originals(files, originals, today, report)
    found = {key: got for key, got in originals.items() if isinstance(got, LocalImage)}
    if not found:
        return
    for file in files:  # only the references whose original is here move
        file.refs = [item for item in file.refs if image_key(item) in found]
    if report.dry_run:  # each reference that would move, and each original to send
        for file in files:
            for item in file.refs:
                where = Location(file.markdown.path, item.ref.line)
                report.pending.append(Pending(where, item.ref.raw))
        report.would_upload.extend(image.path for image in found.values())
        return
    from .hosts.base import make_http_client

    with make_http_client(settings.http) as http:
        links = old_links(settings, {profile.name}, http)
    moving = MigrateReport(profile.name, report)
    options = MigrateOptions(progress=progress)
    moved = [file for file in files if file.refs]
    host_and_rewrite(moved, found, links, settings, profile.name, options, moving)


def _sent_otherwise(item: RemoteRef, identity: str, today: str | None) -> bool:
    """Whether `item` links an upload the cache recorded on this host with other settings."""
    hosted = item.hosted
    return (
        hosted is not None
        and hosted.identity == identity
        and hosted.entry is not None
        and hosted.entry.processing != today
    )


def _original(item: RemoteRef, settings: Settings) -> LocalImage | str:
    """The file the image was uploaded from, while it is still that image; else why not."""
    hosted = item.hosted
    assert hosted is not None and hosted.entry is not None and hosted.md5 is not None
    entry = hosted.entry
    if not entry.source:
        return "the cache records no file it was uploaded from"
    try:  # the cache is committed (untrusted) input: its `source` stays inside the project
        path = confined(settings.root / entry.source, settings.root)
        image = inspect_image(path, None, allow_svg_scripts=settings.allow_svg_scripts)
    except OutsideProject:
        return f"the file it was uploaded from ({entry.source}) is outside the project"
    except ImageError as error:
        return f"the file it was uploaded from ({entry.source}) {error.reason}"
    if (image.md5, image.sha256) != (hosted.md5, entry.sha256):
        return f"the file it was uploaded from ({entry.source}) has changed since"
    return image


def _tell_lost_originals(
    files: list[MovingFile],
    originals: dict[str, LocalImage | str],
    today: str | None,
    report: Report,
) -> None:
    """One warning per image that can't be reprocessed, at its first reference."""
    from .migrate import image_key

    told: set[str] = set()
    for file in files:
        for item in file.refs:
            key, got = image_key(item), originals[image_key(item)]
            if isinstance(got, LocalImage) or key in told:
                continue
            told.add(key)
            report.warn(
                str(Location(file.markdown.path, item.ref.line)),
                f"{item.url} was uploaded with other processing settings than today's"
                f" ({today or 'none'}) but is not sent again: {got}; its hosted copy stays linked",
            )
