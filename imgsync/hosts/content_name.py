"""Content-addressed names, for hosts that store files under names imgsync chooses (S3,
GitHub, a folder of the site, a command): the name holds the MD5 of the bytes sent.

The same bytes always get the same name, so an upload is idempotent: a host checks whether
the name exists and sends nothing when it does, and a rerun after a crash finds the object
in place. The MD5 is that of the bytes **sent**: the file's own when nothing was stripped or
processed (then it equals the cache's key), else the stripped or processed copy's, so a
`--reprocess` with other settings gets a new name rather than the old object.

A template names the object: `{md5}` (required), `{ext}` (".png", from the bytes' real
type), `{name}` (the file's stem, made safe for a URL path). Every template is checked when
the profile is read: no `..`, no leading `/`, no backslash, no placeholder but those.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import NoReturn

from .base import UploadRequest
from .kit import KitHost

DEFAULT_TEMPLATE = "{md5}{ext}"
PLACEHOLDERS = frozenset({"md5", "ext", "name"})
_CHUNK = 1 << 20
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def sent_md5(request: UploadRequest) -> str:
    """The MD5 (hex) of the bytes `request` sends, streamed; ImageError if unreadable."""
    digest = hashlib.md5()
    with KitHost.open(request) as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def safe_stem(filename: str) -> str:
    """The stem of `filename` with anything but letters, digits, `.`, `_`, `-` made `-`."""
    stem = PurePosixPath(filename).stem
    return _UNSAFE_IN_NAME.sub("-", stem).strip("-.") or "image"


@dataclass(frozen=True)
class NameTemplate:
    """A checked template; `name_for` fills it in."""

    text: str = DEFAULT_TEMPLATE

    @classmethod
    def parse(cls, text: object, key: str, bad: Callable[[str], NoReturn]) -> NameTemplate:
        """The template `text` of option `key`; `bad(problem)` (raising) when it is unusable."""
        if not isinstance(text, str) or not text.strip():
            bad(f"'{key}' must be a non-empty string such as \"{DEFAULT_TEMPLATE}\"")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        except ValueError as error:
            bad(f"'{key}' is not a valid template ({error}): write placeholders as {{md5}}")
        unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
        if unknown:
            bad(f"'{key}' has unknown placeholder(s) {unknown}; known: {{md5}}, {{ext}}, {{name}}")
        if "md5" not in fields:
            bad(f"'{key}' must contain {{md5}}, so that the same bytes always get the same name")
        if text.startswith("/") or "\\" in text or ".." in PurePosixPath(text).parts:
            bad(f"'{key}' must be a relative path with '/' only, without '..'")
        return cls(text)

    def name_for(self, md5: str, filename: str) -> str:
        """The name for bytes with this `md5`, sent as `filename` (its extension is the type's)."""
        ext = PurePosixPath(filename).suffix.lower()
        return self.text.format(md5=md5, ext=ext, name=safe_stem(filename))
