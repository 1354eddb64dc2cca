"""Finding the Markdown files under the paths a user names."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator, Sequence
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
    included = _any_of(include)
    excluded = _any_of(exclude)
    found: dict[str, bool] = {}  # path -> whether it is a symlink
    for path in paths:
        if path.is_file():
            found[str(path.absolute())] = path.is_symlink()
        elif path.is_dir():
            for file, rel, is_link in _walk(path.absolute(), root, excluded, unreadable):
                if included.fullmatch(rel):
                    found[file] = is_link
        else:
            raise ConfigError(f"{path}: no such file or folder")
    return _each_file_once(found), unreadable


def _each_file_once(found: dict[str, bool]) -> list[Path]:
    """Sorted, one path per file: a file also reached through a symlink is read and written
    once (else the second write would find the file changed), by its own name if listed."""
    paths = sorted(found, key=lambda path: path.split(os.sep))
    if not any(found.values()):
        return [Path(path) for path in paths]  # no link: each path is its own file
    chosen: dict[object, Path] = {}
    for path in sorted(paths, key=lambda p: found[p]):  # stable: links after the others
        try:
            stat = os.stat(path)
            key: object = (stat.st_dev, stat.st_ino)
        except OSError:  # a dangling or looping link: reading it reports the reason
            key = path
        chosen.setdefault(key, Path(path))
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
    folder: Path, root: Path, excluded: re.Pattern[str], unreadable: list[tuple[Path, str]]
) -> Iterator[tuple[str, str, bool]]:
    """(path, path relative to root, is a symlink) of each file under `folder` not excluded.

    Like os.walk without following links, on plain strings: a large tree is walked in
    little more time than listing it takes.
    """
    stack = [(str(folder), _relative(folder, root))]
    while stack:
        current, rel = stack.pop()
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            unreadable.append((Path(current), error.strerror or str(error)))
            continue
        folders = []
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            try:
                is_folder = entry.is_dir()  # follows links, as os.walk classifies them
            except OSError:
                is_folder = False
            if is_folder:
                hidden = entry.name.startswith(".") or entry.is_symlink()
                if not hidden and not excluded.fullmatch(child + "/"):
                    folders.append((entry.path, child))
            elif not excluded.fullmatch(child):
                yield entry.path, child, entry.is_symlink()
        stack.extend(reversed(folders))


def _relative(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix().lstrip("/")
    return "" if rel == "." else rel


def _any_of(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regex matching what any of the globs matches (none: nothing)."""
    alternatives = [f"(?:{_glob(p).pattern})" for p in patterns] or ["(?!)"]
    return re.compile("|".join(alternatives), re.IGNORECASE if os.name == "nt" else 0)


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
