"""Restored images on disk: written whole and never over another file, and named from a
Markdown file the way it reads them back."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from .config import Settings
from .errors import OutsideProject
from .files import confined, is_inside, read_inside


def write_new(path: Path, data: bytes, digest: str, project: Path) -> bool:
    """Write `data` at `path` only if nothing is there: True when written, False when the file
    there already holds these bytes (SHA-256 `digest`); FileExistsError if it holds others.
    Whole or not at all: a temp file beside it, linked to its name (which fails if taken)."""
    if os.path.lexists(path):
        try:
            same = hashlib.sha256(read_inside(path, project)).hexdigest() == digest
        except (OSError, OutsideProject):
            same = False
        if same:
            return False
        raise FileExistsError(path)
    if not is_inside(path, project):
        confined(path, project)  # raises OutsideProject, saying how
    path.parent.mkdir(parents=True, exist_ok=True)
    confined(path.parent, project)
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        try:
            os.link(tmp, path)  # fails if the name was taken meanwhile: never replaces
        except FileExistsError:
            return write_new(path, data, digest, project)
        except OSError:  # a file system without hard links
            if os.path.lexists(path):
                raise FileExistsError(path) from None
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return True


def written_path(place: Path, markdown_path: Path, settings: Settings) -> str:
    """How a Markdown file names the image at `place`: relative to its folder; `/rooted` when
    `site_root` is a folder apart from the project's root and the image lies under it (a site
    generator serves that folder at `/`, so a relative path into it would break the site)."""
    site_root = Path(os.path.abspath(settings.site_root))
    absolute = Path(os.path.abspath(place))
    if site_root != Path(os.path.abspath(settings.root)) and absolute.is_relative_to(site_root):
        text = "/" + absolute.relative_to(site_root).as_posix()
    else:
        text = os.path.relpath(absolute, os.path.abspath(markdown_path.parent))
        text = text.replace(os.sep, "/")
    return _escaped(text)


def _escaped(path: str) -> str:
    """`path` as a destination that reads back as it: what a local path's reading would take
    for something else (a `%XX`, a `?query`, a `#fragment`, a space) percent-encoded."""
    return "".join(
        f"%{ord(c):02X}" if c in "%?# " or ord(c) < 0x20 or c == "\x7f" else c for c in path
    )
