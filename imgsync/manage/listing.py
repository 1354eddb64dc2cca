"""`imgsync list`: the images on the host account joined with the project.

Each image is "referenced" (used somewhere in the project: where, how many times),
"unreferenced" (uploaded by this project, in its cache, but used nowhere any more) or
"unknown" (the cache doesn't record it: uploaded by hand or by another tool).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..cache import CacheEntry
from ..hosts.base import HostedImage
from .references import References, Use, url_key


@dataclass(frozen=True)
class Row:
    """One image of the host, joined with the project."""

    image: HostedImage
    status: str  # "referenced", "unreferenced" or "unknown"
    uses: tuple[Use, ...] = ()
    md5: str = ""  # the cache's, for an upload it records
    source: str = ""  # the project file it was uploaded from, as the cache records it

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.image.url,
            "status": self.status,
            "size": self.image.size,
            "uploaded_at": self.image.uploaded_at or None,
            "name": self.image.name or None,
            "album": self.image.album or None,
            "handle": dict(self.image.handle),
            "md5": self.md5 or None,
            "source": self.source or None,
            "references": [
                {
                    "file": u.file,
                    "line": u.line or None,
                    "where": u.where or "work tree",
                    "how": u.how,
                }
                for u in self.uses
            ],
        }


@dataclass
class Listing:
    """Every row, and what the cache records that the host's listing didn't show."""

    rows: list[Row] = field(default_factory=list)
    not_listed: int = 0

    def within(self, folders: list[str]) -> Listing:
        """Only the images used in, or uploaded from, these project files or folders."""

        def inside(path: str) -> bool:
            return any(
                f in ("", ".") or path == f or path.startswith(f.rstrip("/") + "/") for f in folders
            )

        rows = [r for r in self.rows if inside(r.source) or any(inside(u.file) for u in r.uses)]
        return Listing(rows, self.not_listed)

    def totals(self) -> dict[str, dict[str, int]]:
        """By status, and "all": how many images and how many bytes (those the host told)."""
        totals = {status: {"images": 0, "bytes": 0} for status in _STATUSES}
        for row in self.rows:
            for key in (row.status, "all"):
                totals[key]["images"] += 1
                totals[key]["bytes"] += row.image.size or 0
        return totals


_STATUSES = ("referenced", "unreferenced", "unknown", "all")


def join_listing(
    images: Iterable[HostedImage], entries: Mapping[str, CacheEntry], refs: References
) -> Listing:
    """Join the host's images with the cache's `entries` (for that host, by MD5): by the
    handle the upload reply gave, else by URL (without query or fragment)."""
    by_handle: dict[tuple[str, str], str] = {}
    by_url: dict[str, str] = {}
    for md5, entry in entries.items():
        for pair in entry.handle.items():
            by_handle[pair] = md5
        by_url[url_key(entry.url)] = md5
    listing = Listing()
    seen: set[str] = set()
    for image in images:
        found = next((by_handle[p] for p in image.handle.items() if p in by_handle), None)
        md5 = found or by_url.get(url_key(image.url)) or ""
        recorded = entries.get(md5) if md5 else None
        uses = tuple(refs.uses(image.url, md5))
        if recorded is not None:
            seen.add(md5)
            status = "referenced" if uses else "unreferenced"
            listing.rows.append(Row(image, status, uses, md5, recorded.source))
        else:
            listing.rows.append(Row(image, "referenced" if uses else "unknown", uses))
    listing.not_listed = len(set(entries) - seen)
    return listing
