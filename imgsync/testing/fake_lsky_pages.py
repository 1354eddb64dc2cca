"""The fake Lsky's listings as Lsky Pro 2.x writes them: Laravel's paginator, orders, fields.

Read from Lsky Pro's Api/V1 ImageController::images and AlbumController::index, the
scopeFilter of its Image and Album models, and Laravel's LengthAwarePaginator::toArray.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

PER_PAGE = 40  # `paginate(40)` in both controllers
# What ImageController::images makes visible ('album' too, but the relation is never
# loaded there, so it never shows); album_id, created_at and the owner stay hidden.
IMAGE_FIELDS: tuple[str, ...] = ("key", "name", "pathname", "origin_name", "size", "mimetype")
IMAGE_FIELDS += ("extension", "md5", "sha1", "width", "height", "links")
ALBUM_FIELDS = ("id", "name", "intro", "image_num")
LSKY_UTC_OFFSET = 8 * 3600  # config/app.php: 'timezone' => 'PRC'


def page_number(query: Mapping[str, list[str]]) -> int:
    """Laravel's page resolver: a whole number of at least 1, else 1."""
    value = query.get("page", [""])[0]
    return int(value) if value.isdigit() and int(value) >= 1 else 1


def album_filter(query: Mapping[str, list[str]]) -> int | None:
    """`(int) $request->query('album_id')`: 0 (absent, not a number) means "in no album"."""
    value = query.get("album_id", [""])[0].strip()
    digits = value[: len(value) - len(value.lstrip("0123456789"))] if value else ""
    return int(digits) if digits and int(digits) > 0 else None


def ordered(
    rows: Sequence[Any],
    order: str,
    created: Callable[[Any], int],
    size: Callable[[Any], float],
    *,
    shuffle_ties: random.Random | None = None,
) -> list[Any]:
    """Rows in the `order` Lsky's scopeFilter asks for (newest by default).

    Each is ORDER BY one column without a tie-breaker; MySQL may then return rows of
    the same value in any order, and differently from one query to the next:
    `shuffle_ties` plays that (a query's own order of ties), else ties keep upload order.
    """
    rows = list(rows)
    if shuffle_ties is not None:
        shuffle_ties.shuffle(rows)
    if order == "earliest":
        return sorted(rows, key=created)
    if order == "utmost":
        return sorted(rows, key=size, reverse=True)
    if order == "least":
        return sorted(rows, key=size)
    # latest(): ORDER BY created_at DESC; a stable sort keeps ties as they are
    if shuffle_ties is None:
        rows.reverse()  # upload order reversed: the newest first among the same second too
    return sorted(rows, key=created, reverse=True)


def paginate(
    items: Sequence[Mapping[str, Any]],
    page: int,
    path: str,
    query: Mapping[str, list[str]],
) -> dict[str, Any]:
    """LengthAwarePaginator::toArray() of `items` (all rows, in order) at `page`, with
    withQueryString()'s URLs."""
    total = len(items)
    last = max(1, -(-total // PER_PAGE))
    shown = list(items[(page - 1) * PER_PAGE :][:PER_PAGE])
    kept = {k: v[0] for k, v in query.items() if k != "page" and v}

    def url(number: int) -> str:
        return f"{path}?{urlencode(kept | {'page': number})}"

    links = [
        {"url": url(page - 1) if page > 1 else None, "label": "&laquo; 上一页", "active": False}
    ]
    links += [{"url": url(n), "label": str(n), "active": n == page} for n in range(1, last + 1)]
    links.append(
        {"url": url(page + 1) if page < last else None, "label": "下一页 &raquo;", "active": False}
    )
    first_row = (page - 1) * PER_PAGE + 1
    return {
        "current_page": page,
        "data": shown,
        "first_page_url": url(1),
        "from": first_row if shown else None,
        "last_page": last,
        "last_page_url": url(last),
        "links": links,
        "next_page_url": url(page + 1) if page < last else None,
        "path": path,
        "per_page": PER_PAGE,
        "prev_page_url": url(page - 1) if page > 1 else None,
        "to": first_row + len(shown) - 1 if shown else None,
        "total": total,
    }


def listed_image(data: Mapping[str, Any], created_at: int, now: float) -> dict[str, Any]:
    """One image as the listing shows it: the visible fields, `human_date` and `date`."""
    shown = {k: data[k] for k in IMAGE_FIELDS if k in data}
    shown["date"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(created_at + LSKY_UTC_OFFSET))
    shown["human_date"] = _human(max(0, int(now) - created_at))
    return shown


def _human(seconds: int) -> str:
    """Carbon's diffForHumans() in Lsky's zh_CN locale, roughly."""
    for size, unit in ((86400, "天"), (3600, "小时"), (60, "分钟")):
        if seconds >= size:
            return f"{seconds // size}{unit}前"
    return f"{seconds}秒前"
