"""Lsky Pro's listings read whole: every image of the account once, every album, paced.

What Lsky Pro 2.x answers (its Api/V1 ImageController and AlbumController):
`GET /images?page=N` and `GET /albums?page=N` are Laravel paginators of a fixed 40
a page (`data.current_page`, `data.last_page`, `data.total`, `data.data[]`). An
image shows `key`, `name`, `pathname`, `origin_name`, `size` (KB, a float),
`mimetype`, `extension`, `md5`, `sha1`, `width`, `height`, `links`, `human_date`
and `date` ("Y-m-d H:i:s" in the server's time zone, which Lsky's config/app.php
fixes to PRC, UTC+8); never its album. Without `album_id` the listing holds only
the images in no album, so the whole account is each album's listing plus that one.

The walking rule, so that someone else's deletes and uploads mid-listing neither skip
an image nor list one twice:
- each listing asks `order=earliest` (oldest first) and reads its pages from the last
  to the first: a new upload joins the end, behind every page still to read, and a
  deleted image that was already listed only moves the images after it, all of them
  listed already. A deleted image not yet listed pulls one listed image onto the page
  still to read: it comes again, and is dropped by its key.
- the albums are walked first, the images in no album last: an album deleted
  meanwhile gives its images back to "no album" (Lsky's foreign key sets null), where
  they are then found.
- Lsky orders by one column with no tie-breaker, and MySQL may order images of the
  same second differently from one page to the next (a burst of uploads shares
  seconds), which can hide an image: when fewer keys were seen than the listing's
  `total`, it is read again ordered by size (`least`, then `utmost`), keeping the new
  keys; images of the same second and the same size (to 10 bytes) are rare.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import httpx

from ..errors import HostError, Interrupted, RateLimited, TransientHostError
from ..stop_signal import stopped
from ._http import HostErrors, json_object, whole_number
from ._pacing import RateBudget
from .base import Album, HostedImage
from .kit import ReplyRules, text

PER_PAGE = 40  # Lsky's paginators are fixed at 40
_LSKY_ZONE = timezone(timedelta(hours=8))  # 'timezone' => 'PRC' in Lsky Pro's config/app.php
# The orders a listing is read in: oldest first, then, only when ties of created_at hid
# some, by size (Lsky's other orders), as images of the same second rarely share a size.
IMAGE_ORDERS = ("earliest", "least", "utmost")
ALBUM_ORDERS = ("earliest", "least", "most")  # Album::scopeFilter: by image count


@dataclass(frozen=True)
class Patience:
    """How long a listing waits out rate limits and server hiccups before giving up."""

    first_wait: float = 5.0  # after a 429 that says nothing of when (Lsky's); doubles
    longest_wait: float = 60.0  # Lsky's throttle window is a minute
    most_waiting: float = 900.0  # seconds of waiting, all pages together
    transient_attempts: int = 4  # tries of one page against timeouts and 5xx


Getter = Callable[[str], httpx.Response]  # GET {api}{path?query}, with the token


class LskyPages:
    """Reads Lsky's paginated listings, one page at a time, within the host's budget."""

    def __init__(
        self,
        get: Getter,
        replies: ReplyRules,
        errors: HostErrors,
        budget: RateBudget,
        patience: Patience,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._get, self._replies, self._budget = get, replies, budget
        self._errors = errors
        self._patience, self._sleep = patience, sleep
        self.requests = 0  # pages asked for, 429s included: for reports and tests

    # ---- whole listings ---------------------------------------------------------------

    def albums(self) -> list[Album]:
        """Every album, with Lsky's own count of its images (`image_num`)."""
        found: dict[str, Album] = {}
        for item in self._walk("/albums", {}, ALBUM_ORDERS, lambda seen, total: None):
            album_id, name = item.get("id"), text(item.get("name"))
            if type(album_id) is int and name is not None:
                count = item.get("image_num")
                found.setdefault(
                    str(album_id), Album(str(album_id), name, count if type(count) is int else None)
                )
        return sorted(found.values(), key=lambda album: int(album.id))

    def images(
        self, progress: Callable[[int, int | None], None] | None = None
    ) -> Iterator[HostedImage]:
        """Every image of the account once: each album's, then those in no album."""
        albums = self.albums()
        in_albums = sum(album.image_count or 0 for album in albums)  # Lsky's own counts
        seen: set[str] = set()

        def told(total: int | None, last: bool) -> None:
            # The whole is known once the no-album listing, read last, says its total.
            if progress is not None:
                progress(len(seen), in_albums + total if last and total is not None else None)

        for album in [*albums, None]:
            listing = "" if album is None else album.id
            query = {} if album is None else {"album_id": album.id}
            on_page = lambda _n, total, last=album is None: told(total, last)  # noqa: E731
            for item in self._walk("/images", query, IMAGE_ORDERS, on_page):
                image = _hosted(item, listing)
                if image is not None and image.handle["key"] not in seen:
                    seen.add(image.handle["key"])
                    yield image

    def _walk(
        self,
        path: str,
        query: Mapping[str, str],
        orders: Sequence[str],
        progress: Callable[[int, int | None], None],
    ) -> Iterator[Mapping[str, Any]]:
        """Every item of one listing, read from the last page to the first in `orders[0]`,
        then in the next order while fewer keys were seen than the listing holds (see the
        module's docstring); an item may come twice (its caller keeps one by its key)."""
        keys: set[str] = set()
        for order in orders:
            # Page 1 first only to learn how many there are: it is read again at the end,
            # as a delete meanwhile may pull an image from page 2 onto it.
            page = self._page(path, {**query, "order": order, "page": "1"})
            last, total = _paging(page)
            for number in range(last, 0, -1):
                if last > 1:
                    page = self._page(path, {**query, "order": order, "page": str(number)})
                    total = _paging(page)[1]
                for item in _items(page):
                    keys.add(str(item.get("key", item.get("id"))))
                    yield item
                progress(len(keys), total)
            if len(keys) >= total:
                return

    # ---- one page ---------------------------------------------------------------------

    def _page(self, path: str, query: Mapping[str, str]) -> Mapping[str, Any]:
        """`data` of one page: rate limits waited out, timeouts and 5xx tried again."""
        data = self.patiently(self._get, f"{path}?{urlencode(query)}", "list")
        if not isinstance(data.get("data"), list):
            self._errors.fail(HostError, f"the host's listing {path} holds no data.data", 200)
        return data

    def patiently(self, send: Getter, where: str, what: str) -> Mapping[str, Any]:
        """The `data` of one call's reply: rate limits waited out, timeouts and 5xx tried
        again; `what` the call does, for the error when the host refuses it."""
        waited, wait, attempts = 0.0, self._patience.first_wait, 0
        while True:
            try:
                return self._call(send, where, what)
            except RateLimited as error:
                delay = error.retry_after if error.retry_after is not None else wait
                wait = min(wait * 2, self._patience.longest_wait)
                if waited + delay > self._patience.most_waiting:
                    limit = f"{self._patience.most_waiting:g}s"
                    raise error.with_note(f"gave up listing after waiting {limit}") from None
                waited += delay
                self._pause(delay)
            except TransientHostError as error:
                attempts += 1
                if attempts >= self._patience.transient_attempts:
                    raise error.with_note(f"gave up after {attempts} attempts") from None
                self._pause(min(self._patience.first_wait * 2 ** (attempts - 1), 30.0))

    def _pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if stopped():
                raise Interrupted
            self._sleep(min(left, 0.5))

    def _call(self, send: Getter, where: str, what: str) -> Mapping[str, Any]:
        self._budget.reserve(1)
        self.requests += 1
        try:
            response = send(where)
        except BaseException:
            self._budget.settle(1, None)
            raise
        self._budget.settle(1, response)
        body = json_object(response)
        said = text(body.get("message")) if body else None
        self._replies.check_status(self._errors, response, said)
        if body is None or not isinstance(body.get("status"), bool):
            self._replies.not_the_api(self._errors, response, said)
        if body["status"] is not True:
            self._errors.fail(HostError, f"the host refused to {what}", response.status_code, said)
        data = body.get("data")
        return data if isinstance(data, Mapping) else {}


def _paging(page: Mapping[str, Any]) -> tuple[int, int]:
    """(last page, total) as a page says them; at least (1, 0). A last page beyond what the
    total fills (a broken or hostile reply) is not believed: no endless walk."""
    last = whole_number(page.get("last_page")) or 1
    total = whole_number(page.get("total")) or 0
    return max(1, min(last, -(-total // PER_PAGE))), total


def _items(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [item for item in page.get("data", []) if isinstance(item, Mapping)]


def _hosted(item: Mapping[str, Any], album: str) -> HostedImage | None:
    """One listed image; None for an entry without a key or a URL (nothing to act on)."""
    key, links = text(item.get("key")), item.get("links")
    url = text(links.get("url")) if isinstance(links, Mapping) else None
    if key is None or url is None:
        return None
    size = item.get("size")
    kb = float(size) if isinstance(size, int | float) and not isinstance(size, bool) else None
    return HostedImage(
        url=url,
        handle={"key": key},
        size=round(kb * 1024) if kb is not None and kb >= 0 else None,
        uploaded_at=_utc(text(item.get("date"))),
        name=text(item.get("origin_name")) or text(item.get("name")) or "",
        album=album,
    )


def _utc(date: str | None) -> str:
    """Lsky's "Y-m-d H:i:s" (UTC+8) as "2026-11-23T03:30:05Z"; "" when absent or odd."""
    if date is None:
        return ""
    try:
        when = datetime.strptime(date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=_LSKY_ZONE)
    except ValueError:
        return ""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
