"""Writing the cache file: json.dumps(indent=2, sort_keys=True), without re-encoding old entries."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


class RenderedEntries:
    """The text of each entry as the file last held it, reused while the entry is unchanged.

    json.dumps with `indent` runs in pure Python: re-encoding the whole cache after each
    upload made a first sync into a project with 2,000 uploads cached a third slower.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], _Rendered] = {}  # by (host, MD5)

    def lines(self, host: str, md5: str, entry: dict[str, Any]) -> str:
        """`"MD5": {...}` as it stands in the file, indented under its host."""
        known = self._known.get((host, md5))
        if known is None or not known.holds(entry):
            known = self._known[(host, md5)] = _Rendered.of(md5, entry)
        return known.lines


@dataclass(frozen=True, slots=True)
class _Rendered:
    """An entry's lines in the file, and a copy of the entry they were written from."""

    entry: dict[str, Any]  # a copy: an entry edited in place is then seen as changed
    numbers: tuple[tuple[tuple[str | int, ...], object], ...]  # (path, number) in `entry`
    lines: str

    @classmethod
    def of(cls, md5: str, entry: dict[str, Any]) -> _Rendered:
        text = indented(entry)
        lines = f"      {_key_text(md5)}: " + text.replace("\n", "\n      ")
        return cls(copy.deepcopy(entry), tuple(_numbers(entry, ())), lines)

    def holds(self, entry: dict[str, Any]) -> bool:
        """Whether `entry` is written as these lines."""
        if self.entry != entry:
            return False
        # == takes 1, 1.0 and True (or 0.0 and -0.0) for one value; JSON doesn't.
        for path, number in self.numbers:
            other: Any = entry
            for step in path:
                other = other[step]
            if type(other) is not type(number) or (
                isinstance(number, float) and repr(other) != repr(number)
            ):
                return False
        return True


def _numbers(
    value: object, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], object]]:
    """Where the numbers of a JSON value are, and what they are."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _numbers(item, (*path, index))
    elif isinstance(value, int | float):  # bool is an int
        yield path, value


def dump_document(document: Mapping[str, Any], rendered: RenderedEntries | None = None) -> bytes:
    """The file's bytes: json.dumps(document, sort_keys=True, indent=2) and a newline.

    Sorted keys, one key a line and a final newline keep the git diff of an upload
    small. `rendered`, kept by the caller between writes, spares re-encoding the
    entries that didn't change since the last write.
    """
    uploads = document.get("uploads")
    if rendered is None or set(document) != {"uploads", "version"} or not _plain(uploads):
        text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False)
        return (text + "\n").encode("utf-8")
    assert isinstance(uploads, dict)
    hosts = []
    for host in sorted(uploads):
        by_md5 = uploads[host]
        body = ",\n".join(rendered.lines(host, md5, by_md5[md5]) for md5 in sorted(by_md5))
        hosts.append(f"    {_key_text(host)}: " + ("{\n" + body + "\n    }" if by_md5 else "{}"))
    inner = "{\n" + ",\n".join(hosts) + "\n  }" if hosts else "{}"
    version = json.dumps(document["version"])
    return f'{{\n  "uploads": {inner},\n  "version": {version}\n}}\n'.encode()


def _plain(uploads: object) -> bool:
    """Whether `uploads` is a host -> MD5 -> entry mapping with string keys and dict values."""
    return isinstance(uploads, dict) and all(
        isinstance(host, str)
        and isinstance(by_md5, dict)
        and all(isinstance(md5, str) and isinstance(entry, dict) for md5, entry in by_md5.items())
        for host, by_md5 in uploads.items()
    )


# The C encoder: json.dumps with an indent runs the pure-Python one instead.
_ONE_LINE = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def indented(value: object) -> str:
    """json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False), made of what the C
    encoder writes of each key and leaf: about half the time on a cache entry. Keys that
    are not strings (never read from JSON) go to json.dumps itself, and so does a value
    too deep (or circular) for this recursion, for json.dumps's own answer or error."""
    try:
        return _indented(value, 0)
    except RecursionError:
        return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)


def _indented(value: object, depth: int) -> str:
    if isinstance(value, dict):
        if not value:
            return "{}"
        if not all(isinstance(key, str) for key in value):
            return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False).replace(
                "\n", "\n" + "  " * depth
            )
        inner = "\n" + "  " * (depth + 1)
        items = [
            _key_text(key) + ": " + _indented(item, depth + 1)
            for key, item in sorted(value.items())
        ]
        return "{" + inner + ("," + inner).join(items) + "\n" + "  " * depth + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        inner = "\n" + "  " * (depth + 1)
        items = [_indented(item, depth + 1) for item in value]
        return "[" + inner + ("," + inner).join(items) + "\n" + "  " * depth + "]"
    return _ONE_LINE(value)


def _key_text(key: str) -> str:
    return _ONE_LINE(key)
