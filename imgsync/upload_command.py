"""`imgsync upload FILE...`: upload image files and print their URLs in input order."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .config import Settings
from .errors import ImageError
from .images import LocalImage, inspect_image
from .progress import Progress
from .render import failure_document, failure_text
from .report import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Failure, Location, Report
from .upload import host_images


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
    project; they are still sniffed and size-checked. stdout carries only the result
    lines, one per file named, in the order named (a file named twice gets two lines):
    Typora reads the last N lines as the URLs of its N images. If any file fails, stdout
    stays empty, so that no editor can pair a URL with the wrong image; what did go up
    is recorded in the cache (the next run prints it without uploading) and named on
    stderr beside the errors.
    """
    report = Report()
    named: list[tuple[Path, LocalImage | None]] = []
    for file in files:
        try:
            named.append((file, inspect_image(file.resolve(strict=True), settings.max_size)))
        except ImageError as error:
            named.append((file, None))
            report.failures.append(Failure(Location(file), "", error.reason))
        except OSError:
            named.append((file, None))
            report.failures.append(Failure(Location(file), "", "not found"))
    images = [(file, image) for file, image in named if image is not None]
    unique = {image.md5: image for _file, image in reversed(images)}  # first name wins
    hosted = host_images(unique, settings, host_name=host_name, report=report, progress=progress)
    for file, image in images:
        if image.md5 in hosted.failed:
            report.failures.append(Failure(Location(file), "", hosted.failed[image.md5]))
    lines = [
        {"file": str(file), "url": hosted.urls[image.md5]}
        for file, image in images
        if image.md5 in hosted.urls
    ]
    if as_json:
        document = {"uploads": lines, "failures": [failure_document(f) for f in report.failures]}
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif not report.failures and not report.interrupted:
        out = [_line(Path(line["file"]), line["url"], output) for line in lines]
        sys.stdout.write("".join(f"{text}\n" for text in out))
        sys.stdout.flush()
    else:
        for line in lines:
            print(f"uploaded {line['file']} -> {line['url']}", file=sys.stderr)
    for failure in report.failures:
        print(f"error: {failure_text(failure)}", file=sys.stderr)
    if report.interrupted:
        return EXIT_INTERRUPTED
    if report.failures:
        if not as_json:
            print(
                f"imgsync: {len(report.failures)} of {len(files)} file(s) failed; "
                "no URL printed on stdout",
                file=sys.stderr,
            )
        return EXIT_FAILED
    return EXIT_OK


def _line(file: Path, url: str, output: str) -> str:
    return f"![{file.stem}]({url})" if output == "markdown" else url
