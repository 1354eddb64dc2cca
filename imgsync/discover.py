"""Finding the Markdown files under the paths a user names."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import ConfigError


def discover_markdown(
    paths: Sequence[Path], *, root: Path, include: Iterable[str], exclude: Iterable[str]
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Markdown files named by `paths` (files as given, folders walked), sorted, each once,
    and the folders that could not be read, with the reason.

    Folders are walked without following symlinks (no loops); hidden folders are
    skipped. `include`/`exclude` are globs relative to `root` (`**` spans folders).
    """
    unreadable: list[tuple[Path, str]] = []
    included = [_glob(p) for p in include]
    excluded = [_glob(p) for p in exclude]
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_file():
            found[path.absolute()] = None
        elif path.is_dir():
            for file in _walk(path.absolute(), root, excluded, unreadable):
                rel = _relative(file, root)
                if any(p.fullmatch(rel) for p in included):
                    found[file] = None
        else:
            raise ConfigError(f"{path}: no such file or folder")
    return _each_file_once(found), unreadable


def _each_file_once(paths: Iterable[Path]) -> list[Path]:
    """Sorted, one path per file: a file also reached through a symlink is read and written
    once (else the second write would find the file changed), by its own name if listed."""
    chosen: dict[object, Path] = {}
    for path in sorted(paths, key=lambda p: (p.is_symlink(), p)):
        try:
            stat = path.stat()
            key: object = (stat.st_dev, stat.st_ino)
        except OSError:  # a dangling or looping link: reading it reports the reason
            key = path
        chosen.setdefault(key, path)
    return sorted(chosen.values())


def is_selected(
    file: Path, folder: Path, *, root: Path, include: Iterable[str], exclude: Iterable[str]
) -> bool:
    """Whether walking `folder` (as discover_markdown does) would pick `file`: no hidden or
    excluded folder on the way down, and the file included and not excluded."""
    file, folder = file.absolute(), folder.absolute()
    if not file.is_relative_to(folder) or file == folder:
        return False
    excluded = [_glob(p) for p in exclude]
    below = folder
    for name in file.relative_to(folder).parts[:-1]:
        below = below / name
        if name.startswith(".") or any(p.fullmatch(_relative(below, root) + "/") for p in excluded):
            return False
    rel = _relative(file, root)
    if any(p.fullmatch(rel) for p in excluded):
        return False
    return any(_glob(p).fullmatch(rel) for p in include)


def _walk(
    folder: Path, root: Path, excluded: list[re.Pattern[str]], unreadable: list[tuple[Path, str]]
) -> Iterable[Path]:
    def note(error: OSError) -> None:
        unreadable.append((Path(error.filename), error.strerror or str(error)))

    for current, dirs, files in os.walk(folder, followlinks=False, onerror=note):
        base = Path(current)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and not any(p.fullmatch(_relative(base / d, root) + "/") for p in excluded)
        )
        for name in sorted(files):
            file = base / name
            rel = _relative(file, root)
            if not any(p.fullmatch(rel) for p in excluded):
                yield file


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix().lstrip("/")


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    """A glob as a regex: `**/` any folders, `*` within one name, `?` one character."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.IGNORECASE if os.name == "nt" else 0)
