"""`imgsync upload FILE...`: upload image files and get their URLs in the order named."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .config import Settings
from .errors import ImageError
from .images import LocalImage, inspect_image
from .progress import Progress
from .render import file_url_line
from .report import Failure, FileURL, Location, Report, UploadOutcome
from .upload import host_images


def upload_files(
    files: list[Path],
    settings: Settings,
    *,
    host_name: str | None,
    progress: Progress,
    record_as: Mapping[Path, str] | None = None,
) -> UploadOutcome:
    """Upload `files` (each once, the cache first); each file's URL in the order named.

    Files named here are the user's explicit choice, so they may lie outside the
    project; they are still sniffed and size-checked. A file named twice gets its URL
    twice. What did go up is recorded in the cache even when other files fail, so the
    next run finds it without uploading. `record_as` (by file) is the source the cache
    records for a file that is no project file (`imgsync serve`'s form uploads: their name).
    """
    report = Report()  # host_images counts into it; the outcome keeps what this command says
    named: list[tuple[Path, LocalImage | None]] = []
    for file in files:
        try:
            image = inspect_image(
                file.resolve(strict=True),
                settings.max_size,
                allow_svg_scripts=settings.allow_svg_scripts,
            )
            named.append((file, image))
        except ImageError as error:
            named.append((file, None))
            report.failures.append(Failure(Location(file), "", error.reason))
        except OSError:
            named.append((file, None))
            report.failures.append(Failure(Location(file), "", "not found"))
    images = [(file, image) for file, image in named if image is not None]
    unique = {image.md5: image for _file, image in reversed(images)}  # first name wins
    sources = {
        image.md5: record_as[file] for file, image in images if record_as and file in record_as
    }
    hosted = host_images(
        unique, settings, host_name=host_name, report=report, progress=progress, sources=sources
    )
    for file, image in images:
        if image.md5 in hosted.failed:
            reason = hosted.failed[image.md5]
            report.failures.append(Failure(Location(file), "", reason, image.md5))
    sent = {uploaded.image for uploaded in report.uploaded}
    went_up = {md5 for md5, image in unique.items() if image.path in sent}
    urls = []
    for file, image in images:
        if image.md5 not in hosted.urls:
            continue
        found = image.md5 not in went_up
        # An upload had its progress line as it went up (unless a bar drew it); a file
        # found in the cache has one only with --verbose, printed here.
        told = progress.prints_details if found else progress.prints_each_event
        urls.append(FileURL(file, hosted.urls[image.md5], already_on_host=found, told=told))
    for file_url in urls:
        if file_url.already_on_host:
            progress.detail(file_url_line(file_url))
    return UploadOutcome(
        files_named=len(files),
        urls=urls,
        failures=report.failures,
        interrupted=report.interrupted,
        host_verdict=hosted.verdict,
    )
