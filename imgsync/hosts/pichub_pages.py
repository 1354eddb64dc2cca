"""Reading PicHub's listing replies: a page's items and where it stands, an image, an album.

PicHub's page documents `page` and `per_page` (default 20) for `GET /images`, not the
reply's shape, so every shape its Laravel back end may give is read: the items as `data`
(a list, beside `meta` or `pagination`) or inside it (`data.data`, `data.images`,
`data.items`, a paginator), and the counts under the names Laravel and others use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .base import Album, HostedImage
from .pichub_reply import item_url

_LISTS = ("data", "images", "items", "albums")
_COUNTS = ("images_count", "image_count", "photos_count", "count")
_NAMES = ("original_name", "original_filename", "originalName", "name", "filename")


@dataclass(frozen=True)
class PageInfo:
    """Where a page stands, as far as the reply says; None for what it does not."""

    total: int | None = None
    per_page: int | None = None
    last_page: int | None = None


def page_items(body: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The items of one page, or None when the reply holds no list of them."""
    data = body.get("data")
    if isinstance(data, Mapping):
        data = next((data[k] for k in _LISTS if isinstance(data.get(k), list)), None)
    if not isinstance(data, list):
        return None
    return [item for item in data if isinstance(item, Mapping)]


def page_info(body: Mapping[str, Any]) -> PageInfo:
    """The counts from `meta`, `meta.pagination`, `pagination` or a paginator in `data`."""
    places: list[Mapping[str, Any]] = []
    for key in ("meta", "pagination", "data"):
        value = body.get(key)
        if isinstance(value, Mapping):
            places.append(value)
            inner = value.get("pagination")
            if isinstance(inner, Mapping):
                places.append(inner)
    places.append(body)

    def first(*names: str) -> int | None:
        for place in places:
            for name in names:
                number = _whole(place.get(name))
                if number is not None:
                    return number
        return None

    return PageInfo(
        total=first("total", "total_count"),
        per_page=first("per_page", "perPage", "page_size"),
        last_page=first("last_page", "total_pages", "totalPages", "pages"),
    )


def hosted_image(item: Mapping[str, Any]) -> HostedImage | None:
    """One listed image; None for an item without an id or a URL, which can't be used."""
    ident, url = _ident(item.get("id")), item_url(item)
    if ident is None or url is None:
        return None
    name = next((item[k] for k in _NAMES if isinstance(item.get(k), str)), "")
    album = _ident(item.get("album_id"))
    return HostedImage(
        url=url,
        handle={"id": ident},
        size=_whole(item.get("size")),
        uploaded_at=utc_stamp(item.get("created_at") or item.get("uploaded_at")),
        name=name,
        album=album or "",
    )


def album_of(item: Mapping[str, Any]) -> Album | None:
    """One album; None for an item without an id or a name."""
    ident, name = _ident(item.get("id")), item.get("name")
    if ident is None or not isinstance(name, str):
        return None
    count = next((n for k in _COUNTS if (n := _whole(item.get(k))) is not None), None)
    return Album(id=ident, name=name, image_count=count)


def utc_stamp(value: Any) -> str:
    """A reply's time as "2026-11-23T11:30:05Z" (UTC); "" when it is not a time.

    ISO 8601 with or without a zone (Laravel's "2024-09-05T01:59:26.000000Z", a
    "2024-09-05 01:59:26" read as UTC), or a Unix time.
    """
    when: datetime | None = None
    if type(value) in (int, float) and 0 < value < 1e11:
        when = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str) and 10 <= len(value.strip()) <= 40:
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            return ""
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when is not None else ""


def _ident(value: Any) -> str | None:
    """An id as text: a number or a short printable string; None for anything else."""
    if type(value) is int and value >= 0:
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable():
        return value.strip() or None
    return None


def _whole(value: Any) -> int | None:
    """A count from a reply: an int or ASCII digits; None for anything else (bools too)."""
    if type(value) is int:
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 15:
        return int(value)
    return None
