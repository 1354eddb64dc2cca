"""`imgsync upload FILE...`: upload image files and print their URLs in input order."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .cache import UploadCache
from .config import Settings, resolve_host
from .errors import ImageError
from .images import LocalImage, inspect_image
from .pipeline import host_identity, upload_images
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
    profile = resolve_host(settings, host_name)
    identity = host_identity(profile.type, profile.options.get("url", ""))
    cache = UploadCache.open(settings.cache_path)
    images: dict[Path, LocalImage] = {}
    for file in files:
        try:
            images[file] = inspect_image(file.resolve(strict=True), settings.max_size)
        except (ImageError, OSError) as error:
            reason = error.reason if isinstance(error, ImageError) else "not found"
            report.failures.append(Failure(Location(file), "", reason))
    urls: dict[str, str] = {}
    missing: dict[str, LocalImage] = {}
    for image in images.values():
        entry = cache.lookup(identity, image.md5, image.sha256)
        if entry is not None:
            urls[image.md5] = entry.url
            report.reused += 1
        else:
            missing.setdefault(image.md5, image)
    if missing:
        uploaded, failed = upload_images(
            missing, settings, host_name=host_name, cache=cache, report=report, progress=progress
        )
        urls.update(uploaded)
        for file, image in images.items():
            if image.md5 in failed:
                report.failures.append(Failure(Location(file), "", failed[image.md5]))
    lines = []
    for file in files:
        url = urls.get(images[file].md5) if file in images else None
        if url is not None:
            lines.append({"file": str(file), "url": url})
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
