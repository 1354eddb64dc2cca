"""The Lsky Pro 2.x image host: multipart upload to `{url}/upload`, bearer token or guest."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import ClassVar, NoReturn
from urllib.parse import quote

import httpx

from ..errors import AuthError, HostError, WrongEndpoint
from ..sizes import human_size
from ._http import json_object
from ._pacing import RateBudget
from .base import Access, Album, HostedImage, HostProfile, UploadRequest, UploadResult
from .kit import KitHost, ReplyRules, text
from .lsky_listing import LskyPages, Patience
from .options import ProfileOptions

# A key as Lsky makes them (Str::random: letters and digits, 6 and more), and no path.
_KEY_RE = re.compile(r"[A-Za-z0-9]{1,64}")
_OPTIONS = ("album_id", "expired_at", "permission", "strategy_id", "token", "url")
# Lsky sends no Retry-After on 429; its throttle window is one minute.
_QUOTA_RE = re.compile(r"每\s*(分钟|小时|天|周|月)\s*内你最多可以上传\s*(\d+)\s*张图片")
_QUOTA_UNITS = {
    "分钟": ("minute", 60),
    "小时": ("hour", 3600),
    "天": ("day", 86400),
    "周": ("week", 7 * 86400),
    "月": ("month", 30 * 86400),
}
# The host's known refusals (HTTP 200, status false), matched by substring, as advice.
_REFUSALS = {
    "不支持的文件类型": "the host does not take this file type (not among its allowed extensions)",
    "图片大小超出限制": "the image ({size}) is larger than the host allows (Lsky's default limit "
    "is 5120 KB; the admin may have changed it): shrink the image or set max_size",
    "选定的策略不存在": "strategy_id {strategy} does not exist on the host or your group may not "
    "use it: check strategy_id in the configuration",
    "储存空间不足": "your storage space on the host is full: delete old images or ask the admin "
    "for more",
    "管理员关闭了游客上传": "the host does not allow guest uploads: set a token for this profile",
}
_REPLIES = ReplyRules(
    api="Lsky",
    base="…/api/v1",
    # Without `Accept: application/json` Lsky answers a rejected token with a redirect to /login.
    redirect=(
        AuthError,
        "the host redirected the upload to {where}: it treated us as logged out, so the token "
        "was rejected (or 'url' does not point at the API)",
    ),
    statuses={
        401: (
            AuthError,
            "the host rejected the token: check 'token' (a Lsky token looks like '1|' and 40 "
            "characters); a bad token never falls back to a guest upload",
        ),
        403: (
            AuthError,
            "the host refuses API access: its admin has disabled the API, or this account may not "
            "use it",
        ),
        404: (
            WrongEndpoint,
            "the host answered 404 Not Found: 'url' is probably wrong (it should end in "
            "/api/v1) or the admin has disabled the API",
        ),
        413: (
            HostError,
            "the server refused the file as too large (HTTP 413; probably a proxy's body-size "
            "limit in front of Lsky): shrink the image or set max_size",
        ),
    },
)


class LskyHost(KitHost):
    """Uploads to a Lsky Pro 2.x server (and Lsky Pro+, which reads a few more fields);
    lists and deletes the account's images and lists its albums (lsky_listing.py)."""

    type_name: ClassVar[str] = "lsky"
    can_create_albums: ClassVar[bool] = False  # Lsky's API has no call that makes one
    patience = Patience()  # how long listing and deleting wait out limits; tests shorten it
    # Said by `imgsync doctor` for a profile that names an album.
    album_note: ClassVar[str] = (
        "only Lsky Pro+ reads album_id on upload: the open-source Lsky Pro ignores it and "
        "puts API uploads into the default album its settings page names (默认上传相册)"
    )

    def __init__(self, profile: HostProfile, http: httpx.Client) -> None:
        options = ProfileOptions(profile, _OPTIONS)
        url, self._token, self._fields = _read_options(options)
        secret = (self._token or "").partition("|")[2]
        # The part after the bar is the secret itself; a short one would redact ordinary words.
        also = (secret if len(secret) >= 8 else None,)
        super().__init__(url, self._token, http, also_secret=also, origins=options.origins)
        self._budget = RateBudget("the host's request limit", self.errors)
        self.requests_made = 0  # listing, album and delete calls sent, for reports and tests

    def list_images(
        self, progress: Callable[[int, int | None], None] | None = None
    ) -> Iterator[HostedImage]:
        pages = self._pages()
        try:
            yield from pages.images(progress)
        finally:
            self.requests_made += pages.requests

    def albums(self) -> list[Album]:
        pages = self._pages()
        try:
            return pages.albums()
        finally:
            self.requests_made += pages.requests

    def create_album(self, name: str) -> Album:
        self.errors.fail(
            HostError,
            f"Lsky Pro's API can't create albums: create {name!r} on the host's web page",
            None,
        )

    def delete(self, handle: Mapping[str, str]) -> None:
        """DELETE /images/{key}. Lsky answers success for a key it doesn't know (another
        account's, or one deleted already), so success says only that none is left."""
        key = handle.get("key")
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise ValueError("a Lsky image is deleted by the 'key' its upload gave; none is known")
        pages = self._pages()
        try:
            pages.patiently(
                lambda where: self.remove(where, headers=self._auth()),
                f"/images/{quote(key)}",
                f"delete the image {key}",
            )
        finally:
            self.requests_made += pages.requests

    def _pages(self) -> LskyPages:
        if not self._token:
            self.errors.fail(
                AuthError,
                "listing, deleting and albums need the account's token: set 'token' in the "
                "host profile (guest uploads belong to no account)",
                None,
            )
        read = lambda where: self.read(where, headers=self._auth())  # noqa: E731
        return LskyPages(read, _REPLIES, self.errors, self._budget, self.patience)

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def upload(self, request: UploadRequest) -> UploadResult:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        with self.open(request) as stream:
            files = {"file": (request.filename, stream, request.mime)}
            response = self.send(files, headers=headers, data=self._fields, budget=self._budget)
        return self._result(response, request)

    def check_access(self) -> Access:
        """GET /profile: Lsky's read of the signed-in account, which uploads nothing.

        Without a token the profile answers 401 JSON, which still proves the API is there.
        """
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        response = self.read("/profile", headers=headers)
        body = json_object(response)
        said = text(body.get("message")) if body else None
        if not self._token and response.status_code == 401 and said:
            return Access(
                False,
                "no token is set: uploads go up as a guest (Lsky's API answers; set 'token' "
                "to upload to your account)",
            )
        _REPLIES.check_status(self.errors, response, said)
        if body is None or body.get("status") is not True:
            _REPLIES.not_the_api(self.errors, response, said)
        data = body.get("data")
        data = data if isinstance(data, Mapping) else {}
        name, count = text(data.get("name")), data.get("image_num")
        facts = ([f"account {name!r}"] if name else []) + (
            [f"{count} images"] if type(count) is int else []
        )
        more = f": {', '.join(facts)}" if facts else ""
        return Access(True, f"the host accepted the token (GET /profile{more})")

    def _result(self, response: httpx.Response, request: UploadRequest) -> UploadResult:
        code = response.status_code
        body = json_object(response)
        said = text(body.get("message")) if body else None
        _REPLIES.check_status(self.errors, response, said)
        if body is None or not isinstance(body.get("status"), bool):
            _REPLIES.not_the_api(self.errors, response, said)
        if body["status"] is not True:
            self._fail_refusal(said or f"HTTP {code}", code, request)
        data = body.get("data")
        links = data.get("links") if isinstance(data, Mapping) else None
        url = links.get("url") if isinstance(links, Mapping) else None
        if not isinstance(data, Mapping) or not isinstance(url, str) or not url:
            self.errors.fail(
                HostError, "the host reported success but sent no data.links.url", code
            )
        key = data.get("key")
        return UploadResult(url=url, handle={"key": key} if isinstance(key, str) and key else {})

    def _fail_refusal(self, said: str, code: int, request: UploadRequest) -> NoReturn:
        quota = _QUOTA_RE.search(said)
        if quota:
            unit, wait = _QUOTA_UNITS[quota.group(1)]
            message = (
                f"the host allows your group {quota.group(2)} uploads a {unit} and they are used up"
            )
            self.errors.rate_limited(message, float(wait), code, said)
        for known, advice in _REFUSALS.items():
            if known in said:
                strategy = self._fields.get("strategy_id", "(default)")
                advice = advice.format(size=human_size(request.size), strategy=strategy)
                self.errors.fail(HostError, advice, code, said)
        self.errors.fail(HostError, "the host refused the upload", code, said)


def _read_options(options: ProfileOptions) -> tuple[str, str | None, dict[str, str]]:
    """Check a profile's options: (API base URL, token or None for guest, extra form fields)."""
    url = options.url(example="https://img.example.com/api/v1")
    token = options.optional_secret(
        "token", what="a token", if_empty="remove the key to upload as a guest"
    )
    fields: dict[str, str] = {}
    for key in ("strategy_id", "album_id"):
        if key in options:
            fields[key] = str(options.whole(key, low=1))
    if "permission" in options:
        # Lsky Pro+ reads 1 as public and 0 as private.
        words = {"public": "1", "private": "0", "1": "1", "0": "0"}
        message = "'permission' must be 0, 1, 'public' or 'private'"
        fields["permission"] = options.choice("permission", words, message=message)
    if "expired_at" in options:
        fields["expired_at"] = options.text(
            "expired_at", message="'expired_at' must be a date-time string"
        )
    return url, token, fields
