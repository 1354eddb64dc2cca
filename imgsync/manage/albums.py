"""`imgsync albums`: the host's albums, with their image counts."""

from __future__ import annotations

from typing import Any

from ..hosts.base import Album


def albums_lines(albums: list[Album]) -> list[str]:
    """One line an album: its name, id and image count (when the host says)."""
    if not albums:
        return ["no albums on this account"]
    lines = []
    for album in sorted(albums, key=lambda a: a.name.casefold()):
        count = "" if album.image_count is None else f", {album.image_count} image(s)"
        lines.append(f"{album.name} (id {album.id}{count})")
    return lines


def albums_json(albums: list[Album]) -> list[dict[str, Any]]:
    return [
        {"id": a.id, "name": a.name, "images": a.image_count}
        for a in sorted(albums, key=lambda a: a.name.casefold())
    ]
