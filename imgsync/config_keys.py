"""The top-level keys of imgsync.toml: what each must be, and the check that reads its value."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from .markdown.front_matter_keys import KEY_PATTERN

# KB and KiB both mean 1024 bytes, the way image hosts state their limits.
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:([kmg])i?)?b?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
# Upper bounds a pull request can't push past: a timer beyond them would never fire in a
# CI job's life, and the clock's arithmetic overflows near 1e308.
_DAY, _WEEK = 86_400, 7 * 86_400
_LARGEST_SIZE = 1 << 50  # a petabyte: any larger "size" is no size at all
_WAIT = "a number of seconds"  # at most a week: no message needs to say so
_TIMEOUT = "a number of seconds above 0, at most a day (86400)"


def wrong(expected: str, value: Any) -> str:
    """What is wrong with a top-level key's value, quoting it only when it is a plain value.

    A table or a list is named, never shown: a misplaced host table holds a token.
    """
    if isinstance(value, dict):
        return f"must be {expected}, not a table"
    if isinstance(value, list):
        return (
            f"must be {expected}"
            if expected.startswith("a list")
            else f"must be {expected}, not a list"
        )
    text = repr(value)
    return f"must be {expected}, not {text if len(text) <= 40 else text[:37] + '...'}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _globs(value: Any) -> tuple[str, ...] | None:
    ok = isinstance(value, list) and all(_text(pattern) for pattern in value)
    return tuple(value) if ok else None


def _ignores(value: Any) -> tuple[str, ...] | None:
    """A list of `IMAGE` or `FILE:IMAGE` globs (ignore.py), neither side empty."""
    from .ignore import split_entry

    globs = _globs(value)
    ok = globs is not None and all(split_entry(entry) is not None for entry in globs)
    return globs if ok else None


def _paths(value: Any) -> tuple[str, ...] | None:
    """A non-empty list of non-empty paths; where they lead is for config.py to judge."""
    ok = isinstance(value, list) and bool(value) and all(_text(entry) for entry in value)
    return tuple(value) if ok else None


def _front_matter_keys(value: Any) -> tuple[str, ...] | None:
    """Front matter keys: `image`, or a table and a key, `cover.image` (an empty list: none)."""
    ok = isinstance(value, list) and all(
        isinstance(key, str) and KEY_PATTERN.fullmatch(key) for key in value
    )
    return tuple(value) if ok else None


DIALECTS = ("commonmark", "typora", "obsidian")


def _dialect(value: Any) -> str | None:
    """How Markdown is read: CommonMark; or Typora's raw-space images as images too; or
    Obsidian's bare names, which name a file anywhere in the vault (the project)."""
    return value if value in DIALECTS else None


STRIP_MODES = ("location", "all", "none")
STRIP_EXPECTED = '"location" (the default), "all" or "none"'


def strip_mode(value: Any) -> str | None:
    """What metadata leaves the machine (docs/privacy.md): "location" strips GPS and place
    names, "all" every Exif/XMP/IPTC/comment but orientation and colour profile, "none"
    sends the file as it is on disk."""
    return value if value in STRIP_MODES else None


def _number(low: float, high: float, whole: bool) -> Callable[[Any], float | None]:
    def check(value: Any) -> float | None:
        # type(), not isinstance(): TOML's true must not pass for 1. TOML also has inf and nan.
        kinds = (int,) if whole else (int, float)
        ok = type(value) in kinds and math.isfinite(value) and low <= value <= high
        return (value if whole else float(value)) if ok else None

    return check


def _size(value: Any) -> int | None:
    if type(value) is int:
        return value if value > 0 else None
    match = _SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    number = float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    return int(number) if 1 <= number <= _LARGEST_SIZE else None


def _convert(value: Any) -> str | None:
    """The format processing writes (processing.py): "webp", "avif" or "jpeg"."""
    return value if value in ("webp", "avif", "jpeg") else None


# Optional processing (processing.py), global or in a [hosts.NAME] profile.
PROCESSING_RULES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "max_width": ("a whole number of pixels from 1 to 65535", _number(1, 65535, whole=True)),
    "max_height": ("a whole number of pixels from 1 to 65535", _number(1, 65535, whole=True)),
    "convert": ('"webp", "avif" or "jpeg"', _convert),
    "quality": ("a whole number from 1 to 100", _number(1, 100, whole=True)),
}


# The keys of the file but `hosts`: what each must be, and a check giving the value or None.
KEY_RULES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "host": ("the name of a [hosts] profile", _text),
    "cache": ("a file path", _text),
    "site_root": ("a folder path", _text),
    "paths": ('a list of one or more folders and files, such as ["content"]', _paths),
    "include": ("a list of glob patterns", _globs),
    "exclude": ("a list of glob patterns", _globs),
    "ignore": (
        'a list of globs, each "IMAGE" or "FILE:IMAGE" with neither side empty, '
        'such as ["img/gone.png", "posts/2019/*.md:old/*.png"]',
        _ignores,
    ),
    "front_matter_keys": (
        'a list of front matter keys such as ["image", "cover.image"]',
        _front_matter_keys,
    ),
    "dialect": ('"commonmark" (the default), "typora" or "obsidian"', _dialect),
    "max_size": ('a size such as 5242880 or "5MB"', _size),
    "strip_metadata": (STRIP_EXPECTED, strip_mode),
    "jobs": ("a whole number from 1 to 64", _number(1, 64, whole=True)),
    "rate_limit_wait": (_WAIT, _number(0, _WEEK, whole=False)),
    "rate_limit_backoff": (_WAIT, _number(0, _WEEK, whole=False)),
    "max_attempts": ("a whole number from 1 to 20", _number(1, 20, whole=True)),
    "max_retry_time": (_WAIT, _number(0, _WEEK, whole=False)),
    "connect_timeout": (_TIMEOUT, _number(1e-3, _DAY, whole=False)),
    "read_timeout": (_TIMEOUT, _number(1e-3, _DAY, whole=False)),
    "ca_file": ("a path to a PEM file", _text),
} | PROCESSING_RULES
PATH_KEYS = ("cache", "site_root", "ca_file")
# The keys that belong to Settings' own records rather than to Settings itself.
OWNED_KEYS = {
    "retry": ("rate_limit_wait", "rate_limit_backoff", "max_attempts", "max_retry_time"),
    "http": ("connect_timeout", "read_timeout", "ca_file"),
}
