"""PicHub's library calls: the account's images page by page, deleting one, its albums.

Every call spends PicHub's API budget (60 requests a minute, 1,000 an hour), which its
X-RateLimit-* headers tell: a RateBudget of its own, apart from the upload budget,
keeps the calls within it. A budget spent, or a 429, is waited out here when the wait
is short (up to LONGEST_WAIT); a longer one (the hour's budget spent) is raised as
RateLimited with the time to wait, for the command to say.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from ..errors import AuthError, HostError, Interrupted, RateLimited, WrongEndpoint
from ..stop_signal import stopped
from ._http import HostErrors, json_object
from ._pacing import RateBudget
from .base import Album, HostedImage
from .bounded import delete_bounded, get_bounded, post_bounded
from .kit import ReplyRules
from .pichub_pages import PageInfo, album_of, hosted_image, page_info, page_items
from .pichub_reply import said

PER_PAGE = 100  # images asked for a page; PicHub documents the default (20), not a maximum
LONGEST_WAIT = 65.0  # seconds waited here for the API budget: a minute's window, and a bit
MOST_PAGES = 10_000  # a listing that never ends (a broken or hostile host) stops here
_UNSAID_WAIT = 60.0  # a spent budget whose reset is not told: a minute, PicHub's window
_RULES = ReplyRules(
    api="PicHub",
    base="…/api/v1",
    redirect=(WrongEndpoint, "PicHub redirected the request to {where}: check 'url' (…/api/v1)"),
    speaker="PicHub",
    refuse_other_4xx=True,
    statuses={
        401: (AuthError, "PicHub rejected the token: check 'token' (an API token from PicHub)"),
        403: (AuthError, "PicHub refused access: the token may not manage this account's images"),
        404: (WrongEndpoint, "PicHub answered 404: is 'url' the API base (…/api/v1)?"),
        422: (HostError, "PicHub refused the request's fields"),
    },
)
Progress = Callable[[int, int | None], None]


_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # an image id as PicHub gives them


class PicHubLibrary:
    """The calls beside the upload, for one account; PicHubHost hands its methods on to it."""

    def __init__(self, url: str, token: str, http: httpx.Client, errors: HostErrors) -> None:
        self._url, self._http, self._errors = url, http, errors
        self._headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
        self._budget = RateBudget("PicHub's API limit", errors)
        self._api_answered = False  # a listing came back: the 'url' and token are right

    def list_images(
        self, progress: Progress | None = None, album_id: str | None = None
    ) -> Iterator[HostedImage]:
        """Every image of the account (or of one album), each once.

        Pages shift while someone deletes: an image after a deleted one moves to the
        page before. So each page's `total` is compared with the one before it: when it
        fell by d, the walk goes back ceil(d / per_page) pages and reads on from there,
        which brings every image that moved back into view; ids already listed are not
        listed again. Images added meanwhile may be listed or not; none twice.
        """
        seen: set[str] = set()
        page, before = 1, None
        for _ in range(MOST_PAGES):
            query: dict[str, str | int] = {"page": page, "per_page": PER_PAGE}
            if album_id is not None:
                query["album_id"] = album_id
            body = self._json("GET", f"/images?{urlencode(query)}")
            items, info = page_items(body), page_info(body)
            if items is None:
                self._errors.fail(HostError, "PicHub's listing reply holds no list of images", 200)
            for item in items:
                image = hosted_image(item)
                if image is not None and image.handle["id"] not in seen:
                    seen.add(image.handle["id"])
                    yield image
            if progress is not None:
                progress(len(seen), info.total)
            size = info.per_page or max(len(items), 1)  # a page's size, when not told
            if before is not None and info.total is not None and info.total < before:
                page = max(1, page - math.ceil((before - info.total) / size))
                before = info.total
                continue
            before = info.total if info.total is not None else before
            if _last(page, items, info, size):
                return
            page += 1
        self._errors.fail(HostError, f"PicHub's listing did not end after {MOST_PAGES} pages", None)

    def delete(self, handle: Mapping[str, str]) -> None:
        """DELETE /images/{id}, which PicHub can't undo.

        An image already gone is done: PicHub answers 404 with a JSON error (its own, or
        Laravel's `{"message": ...}`). A wrong 'url' may answer 404 too, so such a 404
        counts as gone only once a listing of the same API has worked (one GET
        /images?per_page=1, made at the first 404 if none was made yet): else every
        delete would "succeed" against a wrong URL. A 2xx with no body (204) is done too.
        """
        ident = handle.get("id", "")
        if not isinstance(ident, str) or not ident.strip():
            raise ValueError("no PicHub image id recorded for this upload (the handle has no 'id')")
        if not _ID.fullmatch(ident.strip()):
            # A cache is a file in a repository: what it says is checked before it is sent.
            raise ValueError(f"{ident!r} is not a PicHub image id (letters, digits, - and _)")
        response, body = self._call("DELETE", f"/images/{quote(ident.strip(), safe='')}")
        code = response.status_code
        if code == 404 and body is not None:  # JSON, in whichever error shape: not a web page
            if not self._api_answered:
                self._json("GET", "/images?per_page=1")  # raises for a wrong 'url' or token
            return
        if 200 <= code < 300 and not response.content.strip():
            return  # 204 No Content, as many APIs answer a DELETE
        self._check(response, body)

    def albums(self) -> list[Album]:
        """Every album of the account (all pages, when PicHub pages them)."""
        found: dict[str, Album] = {}
        for page in range(1, MOST_PAGES + 1):
            body = self._json("GET", f"/albums?page={page}")
            items, info = page_items(body), page_info(body)
            if items is None:
                self._errors.fail(HostError, "PicHub's albums reply holds no list of albums", 200)
            for item in items:
                album = album_of(item)
                if album is not None:
                    found.setdefault(album.id, album)
            unsaid = info.last_page is None and info.total is None  # one page, then
            if unsaid or _last(page, items, info, info.per_page or max(len(items), 1)):
                break
        return list(found.values())

    def create_album(self, name: str, fields: Mapping[str, str]) -> Album:
        """POST /albums with `name` and the profile's `is_public` (when set)."""
        if not name.strip():
            raise ValueError("an album needs a name")
        data = {"name": name.strip(), "description": "created by imgsync"} | dict(fields)
        body = self._json("POST", "/albums", data=data)
        item = body.get("data")
        album = album_of(item) if isinstance(item, Mapping) else None
        if album is None:
            self._errors.fail(HostError, "PicHub created the album but sent no id for it", None)
        return album

    def _json(
        self, method: str, path: str, data: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """One call whose reply must be PicHub's success; HostError subclasses otherwise."""
        response, body = self._call(method, path, data)
        return self._check(response, body)

    def _check(self, response: httpx.Response, body: dict[str, Any] | None) -> dict[str, Any]:
        code = response.status_code
        _RULES.check_status(self._errors, response, said(body))
        if body is None:
            _RULES.not_the_api(self._errors, response, None)
        if body.get("success") is False:
            self._errors.fail(HostError, "PicHub refused the request", code, said(body))
        if _proves_the_api(response):
            self._api_answered = True
        return body

    def _call(
        self, method: str, path: str, data: Mapping[str, str] | None = None
    ) -> tuple[httpx.Response, dict[str, Any] | None]:
        """Send, waiting out the API budget or a 429 when the wait is short."""
        started = time.monotonic()
        while True:
            try:
                response = self._send(method, path, data)
                if response.status_code == 429:
                    _RULES.check_status(self._errors, response, said(json_object(response)))
                return response, json_object(response)
            except RateLimited as error:
                wait = error.retry_after if error.retry_after is not None else _UNSAID_WAIT
                if time.monotonic() - started + wait > LONGEST_WAIT:
                    raise
                _pause(max(wait, 0.05))

    def _send(self, method: str, path: str, data: Mapping[str, str] | None) -> httpx.Response:
        self._budget.reserve(1)
        response = None
        try:
            with self._errors.transport(self._url):
                url, host = f"{self._url}{path}", self._errors.host
                if method == "GET":
                    response = get_bounded(self._http, url, headers=self._headers, host=host)
                elif method == "DELETE":
                    response = delete_bounded(self._http, url, headers=self._headers, host=host)
                else:
                    response = post_bounded(
                        self._http,
                        url,
                        headers=self._headers,
                        data=data or {},
                        files=None,
                        host=host,
                    )
        finally:
            self._budget.settle(1, response)
        return response


def _proves_the_api(response: httpx.Response) -> bool:
    """Whether `response` answered a GET of the image listing: then 'url' and token are right."""
    return response.request.method == "GET" and response.request.url.path.endswith("/images")


def _last(page: int, items: list[Mapping[str, Any]], info: PageInfo, size: int) -> bool:
    """Whether `page` is the listing's last: by its last_page, its total, or an empty page."""
    if not items:
        return True
    if info.last_page is not None:
        return page >= info.last_page
    if info.total is not None:
        return page * size >= info.total
    return False  # nothing said: the next page, empty, ends it


def _pause(seconds: float) -> None:
    """Sleep, hearing Ctrl-C (the run's stop signal) within a fraction of a second."""
    until = time.monotonic() + seconds
    while (left := until - time.monotonic()) > 0:
        if stopped():
            raise Interrupted
        time.sleep(min(left, 0.25))
