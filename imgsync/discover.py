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
    names, unreadable = find_markdown(paths, root=root, include=include, exclude=exclude)
    return [Path(name) for name in names], unreadable


def find_markdown(
    paths: Sequence[Path],
    *,
    root: Path,
    include: Iterable[str],
    exclude: Iterable[str],
    walked: Walked | None = None,
) -> tuple[list[str], list[tuple[Path, str]]]:
    """discover_markdown's files as absolute path strings: a run that finds most of them
    unchanged since last time needs no Path of those. `walked`, if given, is told each
    folder listed, each link met on the way and the files found (what the run memo's
    answer rests on)."""
    unreadable: list[tuple[Path, str]] = []
    included = _any_of(include)
    excluded = _any_of(exclude)
    found: dict[str, bool] = {}  # path -> whether it is a symlink
    for path in paths:
        if path.is_file():
            found[str(path.absolute())] = path.is_symlink()
        elif path.is_dir():
            walk = _walk(path.absolute(), root, excluded, unreadable, walked)
            for file, rel, is_link in walk:
                if included.fullmatch(rel):
                    found[file] = is_link
        else:
            raise ConfigError(f"{path}: no such file or folder")
    files = _each_file_once(found)
    if walked is not None:
        walked.files.extend(files)
    return files, unreadable


class Walked:
    """What a walk met that its finding rests on: the folders it listed (an entry added,
    removed or renamed changes a folder's mtime) and the links in them (what a link leads
    to, a folder, a file or nothing, decides whether it is walked, read or reported); and
    the files it found."""

    def __init__(self) -> None:
        self.folders: list[str] = []
        self.links: list[str] = []
        self.files: list[str] = []


def _each_file_once(found: dict[str, bool]) -> list[str]:
    """Sorted, one path per file: a file also reached through a symlink is read and written
    once (else the second write would find the file changed), by its own name if listed."""
    # By their names, folder by folder: the order of their lists of names, as a string each
    # (NUL sorts first and is in no name), not a list each (12 MB at 30,000 files).
    paths = sorted(found, key=lambda path: path.replace(os.sep, "\0"))
    if not any(found.values()):
        return paths  # no link: each path is its own file
    chosen: dict[object, str] = {}
    for path in sorted(paths, key=lambda p: found[p]):  # stable: links after the others
        try:
            stat = os.stat(path)
            key: object = (stat.st_dev, stat.st_ino)
        except OSError:  # a dangling or looping link: reading it reports the reason
            key = path
        chosen.setdefault(key, path)
    return sorted(chosen.values(), key=lambda path: Path(path))


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
    folder: Path,
    root: Path,
    excluded: _AnyOf,
    unreadable: list[tuple[Path, str]],
    walked: Walked | None = None,
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
        if walked is not None:
            walked.folders.append(current)
            walked.links.extend(entry.path for entry in entries if entry.is_symlink())
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


def _any_of(patterns: Iterable[str]) -> _AnyOf:
    """A matcher for what any of the globs matches (none: nothing)."""
    return _AnyOf(tuple(_glob(p) for p in patterns))


class _AnyOf:
    def __init__(self, globs: tuple[Glob | _RegexGlob, ...]) -> None:
        # The regex ones as one regex (one call a path, not one per glob); Glob's apart.
        regexes = [glob.regex.pattern for glob in globs if isinstance(glob, _RegexGlob)]
        flags = re.IGNORECASE if _IGNORE_CASE else 0
        self._regex = re.compile("|".join(f"(?:{r})" for r in regexes), flags) if regexes else None
        self._globs = tuple(glob for glob in globs if isinstance(glob, Glob))

    def fullmatch(self, text: str) -> bool:
        if self._regex is not None and self._regex.fullmatch(text) is not None:
            return True
        return any(glob.fullmatch(text) for glob in self._globs)


# A glob's parts: a character, `?`, `*`, `**` and `**/`.
_ONE, _STAR, _DEEP, _DIRS = "?", "*", "**", "**/"
_DFA_LIMIT = 4096  # transitions remembered per glob before they are forgotten and found again


class Glob:
    """A glob, matched against a whole path relative to the project.

    `**/` any folders (nothing, or names each ending in `/`), `**` any characters, `*` any
    within one name, `?` one character of a name; anything else (`[` and `]` too) is itself.
    Neither `**` nor `**/` crosses a newline, as the regex this replaced (`.`) didn't.

    Matched as an automaton, one character of the path at a time, keeping the set of places
    in the glob reached so far: never more than O(len(path) * len(glob)) steps, where a
    backtracking regex takes exponential time on `**a**a**a…b` against a long name of `a`s
    (a repository's config is input: that would hold the run for hours).
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        parts = _parts(pattern)
        self._parts = parts
        self._literal = [p not in (_ONE, _STAR, _DEEP, _DIRS) for p in parts]
        # Places: k (0..n) before part k; n + 1 + k inside the folders of `**/` at part k.
        self._start = self._closure({0})
        self._moves: dict[tuple[frozenset[int], str], frozenset[int]] = {}

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"

    def _closure(self, places: set[int]) -> frozenset[int]:
        """`places` and every place reached from them without a character: `*`, `**` and
        `**/` may match nothing, and `**/` may also begin to match folders."""
        n, todo, seen = len(self._parts), list(places), set(places)
        while todo:
            k = todo.pop()
            if k >= n or self._parts[k] not in (_STAR, _DEEP, _DIRS):
                continue
            reached = [k + 1, n + 1 + k] if self._parts[k] == _DIRS else [k + 1]
            for place in reached:
                if place not in seen:
                    seen.add(place)
                    todo.append(place)
        return frozenset(seen)

    def _step(self, places: frozenset[int], char: str) -> frozenset[int]:
        n, after = len(self._parts), set()
        for k in places:
            if k > n:  # inside `**/`: any characters but a newline, then a `/`
                if char == "/":
                    after.add(k - n)  # k - n - 1 + 1: past the `**/`
                if char != "\n":
                    after.add(k)
                continue
            if k == n:
                continue
            part = self._parts[k]
            if self._literal[k]:
                if _same(char, part):
                    after.add(k + 1)
            elif part == _ONE:
                if char != "/":
                    after.add(k + 1)
            elif part == _STAR:
                if char != "/":
                    after.add(k)
            elif part == _DEEP and char != "\n":
                after.add(k)
        return self._closure(after)

    def fullmatch(self, text: str) -> bool:
        places, moves, end = self._start, self._moves, len(self._parts)
        for char in text:
            following = moves.get((places, char))
            if following is None:
                if len(moves) > _DFA_LIMIT:
                    moves.clear()
                following = moves[(places, char)] = self._step(places, char)
            if not following:
                return False
            places = following
        return end in places


def _same(char: str, literal: str) -> bool:
    """Whether a character of a path is a glob's literal one: on Windows as case-insensitively
    as re.IGNORECASE compares them."""
    return char == literal or (_IGNORE_CASE and _same_ignoring_case(char, literal))


_IGNORE_CASE = os.name == "nt"


@functools.lru_cache(maxsize=4096)
def _same_ignoring_case(char: str, literal: str) -> bool:
    return re.fullmatch(re.escape(literal), char, re.IGNORECASE) is not None


class _RegexGlob:
    """A glob with at most two wildcards, as a regex: the regex engine runs in C, several
    times faster than Glob's steps, and two wildcards can't backtrack past O(len(path)**2)."""

    def __init__(self, pattern: str) -> None:
        out = []
        for part in _parts(pattern):
            out.append(_AS_REGEX.get(part) or re.escape(part))
        self.regex = re.compile("".join(out), re.IGNORECASE if _IGNORE_CASE else 0)

    def fullmatch(self, text: str) -> bool:
        return self.regex.fullmatch(text) is not None


_AS_REGEX = {_DIRS: "(?:.*/)?", _DEEP: ".*", _STAR: "[^/]*", _ONE: "[^/]"}


def _parts(pattern: str) -> list[str]:
    """A glob split into its parts: characters, `?`, `*`, `**` and `**/`."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        for part in (_DIRS, _DEEP, _STAR, _ONE):
            if pattern.startswith(part, i):
                break
        else:
            part = pattern[i]  # itself
        parts.append(part)
        i += len(part)
    return parts


@functools.cache
def compile_glob(pattern: str) -> Glob | _RegexGlob:
    """A glob as `include`/`exclude` match it (`**` spans folders), for other keys to share."""
    return _glob(pattern)


def _glob(pattern: str) -> Glob | _RegexGlob:
    """The fast regex for ordinary globs (`**/*.md`, `node_modules/**`), Glob past two
    wildcards, where a pull request's pattern could make a regex backtrack for hours."""
    wildcards = sum(part in (_STAR, _DEEP, _DIRS) for part in _parts(pattern))
    return _RegexGlob(pattern) if wildcards <= 2 else Glob(pattern)
