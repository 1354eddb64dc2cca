"""`imgsync delete FILE|URL...`: the uploads a user names, found in the cache."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..cache import CacheEntry
from .prune import Upload
from .references import url_key


def find_uploads(
    names: Sequence[str], entries: Mapping[str, CacheEntry], root: Path, cwd: Path
) -> tuple[list[Upload], list[str]]:
    """The uploads `names` name (a hosted URL, or a local image: its bytes' MD5, else the
    path it was uploaded from), and a one-line problem for each name that names none."""
    by_url = {url_key(entry.url): md5 for md5, entry in entries.items()}
    found: dict[str, Upload] = {}
    problems = []
    for name in names:
        md5 = by_url.get(url_key(name)) if "//" in name else _by_file(name, entries, root, cwd)
        if md5 is None:
            what = (
                "no upload of this project has this URL"
                if "//" in name
                else ("no upload of this project has these bytes or came from this file")
            )
            problems.append(f"{name}: {what} (the cache records it for this host)")
            continue
        found.setdefault(md5, Upload(md5, entries[md5]))
    return list(found.values()), problems


def _by_file(name: str, entries: Mapping[str, CacheEntry], root: Path, cwd: Path) -> str | None:
    path = (cwd / name).absolute()
    try:
        with path.open("rb") as stream:
            md5 = hashlib.file_digest(stream, "md5").hexdigest()
        if md5 in entries:
            return md5
    except OSError:
        pass
    try:
        source = path.relative_to(root.absolute()).as_posix()
    except ValueError:
        return None
    return next((md5 for md5, entry in entries.items() if entry.source == source), None)
