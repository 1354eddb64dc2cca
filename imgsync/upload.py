"""`imgsync upload FILE...`: upload image files and print their URLs in input order."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .config import Settings
from .errors import ImageError
from .hosting import host_images
from .images import LocalImage, inspect_image
from .progress import Progress
from .report import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Failure, Location, Report


def upload_files(
    files: list[Path],
    settings: Settings,
    *,
    host_name: str | None,
    output: str = "url",
    as_json: bool = False,
    progress: Progress,
) -> int:
    """Upload `files` (each once, the cache first), print one line per file; the exit status.

    Files named here are the user's explicit choice, so they may lie outside the
    project; they are still sniffed and size-checked. stdout carries only the
    result lines (Typora reads the last N lines as the N URLs).
    """
    report = Report()
    images: dict[Path, LocalImage] = {}
    for file in files:
        try:
            images[file] = inspect_image(file.resolve(strict=True), settings.max_size)
        except ImageError as error:
            report.failures.append(Failure(Location(file), "", error.reason))
        except OSError:
            report.failures.append(Failure(Location(file), "", "not found"))
    unique = {image.md5: image for image in reversed(images.values())}  # first name wins
    hosted = host_images(unique, settings, host_name=host_name, report=report, progress=progress)
    for file, image in images.items():
        if image.md5 in hosted.failed:
            report.failures.append(Failure(Location(file), "", hosted.failed[image.md5]))
    lines = [
        {"file": str(file), "url": hosted.urls[image.md5]}
        for file, image in images.items()
        if image.md5 in hosted.urls
    ]
    if as_json:
        document = {"uploads": lines, "failures": [f.to_json() for f in report.failures]}
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for line in lines:
            name = Path(line["file"]).stem
            print(f"![{name}]({line['url']})" if output == "markdown" else line["url"])
    for failure in report.failures:
        print(f"error: {failure}", file=sys.stderr)
    if report.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if report.failures else EXIT_OK
