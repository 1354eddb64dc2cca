"""`imgsync sync --output DIR PATH`: publish-only sync, the sources left as they are.

Many sites keep their sources' local paths (reviewable, portable) and build from a copy in CI.
Here the copy is made first, every file of PATH (Markdown, images, anything else) streamed
into DIR under the same relative path, each written whole (a temp file, then a rename). Then
the sync runs as ever on the sources (the cache, dedup and uploads unchanged), but each
rewritten file is written into DIR instead of over its source: the copy's text is the
source's, so what lands in DIR is byte for byte what an in-place sync would have written.

DIR may be anywhere but inside PATH (the copy would copy itself), nor hold PATH. `.git` and
imgsync's own `.imgsync` folder are not copied; a symbolic link is copied as the file it
leads to when that is inside the project, and skipped with a warning otherwise (the same rule
as every read: nothing outside the project is read).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .discover import discover_markdown
from .errors import ConfigError, OutsideProject
from .files import confined
from .markdown.text_file import MarkdownText
from .report import Failure, Location, Report, display_path

if TYPE_CHECKING:
    from .config import Settings

NOT_COPIED = frozenset({".git", ".imgsync"})


@dataclass(frozen=True)
class Output:
    """Where the rewritten copy of the tree under `source` goes."""

    source: Path  # the PATH, absolute: a folder, or one Markdown file
    folder: Path  # DIR, absolute
    markdown_only: bool = False  # copy only the Markdown a sync reads (the MkDocs plugin)

    def place(self, path: Path) -> Path:
        """Where the copy of the source file `path` lives."""
        if self.source.is_dir():
            return self.folder / Path(os.path.abspath(path)).relative_to(self.source)
        return self.folder / path.name

    def redirect(self, markdown: MarkdownText) -> MarkdownText:
        """The same text, to be written as the copy in DIR (which holds that very text)."""
        return replace(markdown, path=self.place(markdown.path), project=self.folder)


def plan_output(paths: list[Path], folder: Path) -> Output:
    """The Output for `--output folder` over `paths`; ConfigError when they can't be paired."""
    if len(paths) != 1:
        raise ConfigError(
            f"--output takes exactly one PATH (a folder or a Markdown file), not {len(paths)}:"
            " DIR mirrors it"
        )
    source = Path(os.path.abspath(paths[0]))
    target = Path(os.path.abspath(folder))
    if not source.exists():
        raise ConfigError(f"{paths[0]}: no such file or folder")
    if target == source or (source.is_dir() and target.is_relative_to(source)):
        raise ConfigError(
            f"--output {folder} is inside {paths[0]}: the copy would copy itself;"
            " choose a folder outside it (for example build/ beside it)"
        )
    if source.is_relative_to(target):
        raise ConfigError(f"--output {folder} holds {paths[0]}: choose a folder outside it")
    if target.exists() and not target.is_dir():
        raise ConfigError(f"--output {folder} is a file, not a folder")
    return Output(source, target)


def copy_sources(output: Output, settings: Settings, report: Report) -> int:
    """Copy every file under the source (or its Markdown only) into the output folder; the
    number copied."""
    output.folder.mkdir(parents=True, exist_ok=True)
    copied = 0
    for path in _sources(output, settings, report):
        if _copy_one(path, output.place(path), settings.root, report):
            copied += 1
    return copied


def _sources(output: Output, settings: Settings, report: Report) -> Iterator[Path]:
    if output.markdown_only:
        found, _ = discover_markdown(
            [output.source], root=settings.root, include=settings.include, exclude=settings.exclude
        )
        yield from found
    elif not output.source.is_dir():
        yield output.source
    else:
        for top, folders, files in os.walk(output.source):
            folders[:] = sorted(f for f in folders if f not in NOT_COPIED)
            for name in [f for f in folders if os.path.islink(os.path.join(top, f))]:
                folders.remove(name)  # os.walk would not enter it: said, not skipped silently
                report.warn(
                    display_path(Path(top, name)),
                    "not copied to the output: a symbolic link to a folder (copy the folder, or"
                    " give its target as PATH)",
                )
            yield from (Path(top, name) for name in sorted(files))


def _copy_one(path: Path, destination: Path, project: Path, report: Report) -> bool:
    try:
        real = confined(path, project)
    except OutsideProject as error:
        report.warn(display_path(path), f"not copied to the output: {error.reason}")
        return False
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    try:
        with open(handle, "wb") as out, real.open("rb") as source:
            shutil.copyfileobj(source, out, 1 << 20)
        shutil.copystat(real, temp)
        os.replace(temp, destination)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        reason = f"can't be copied to {display_path(destination)}: {error.strerror or error}"
        report.failures.append(Failure(Location(path), "", reason))
        return False
    except BaseException:  # Ctrl-C: no temp file is left behind
        Path(temp).unlink(missing_ok=True)
        raise
    return True
