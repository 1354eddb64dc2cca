"""The Lsky Pro 2.x image host: multipart upload to `{url}/upload`, bearer token or guest."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar, NoReturn

import httpx

from ..errors import AuthError, ConfigError, HostError, ImageError, TransientHostError
from ._http import REDIRECTS, HostErrors, json_object, retry_after
from ._pacing import RateBudget, reset_at
from .base import HostProfile, UploadRequest, UploadResult

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
# Without `Accept: application/json` Lsky answers a rejected token with a redirect to /login.
_REDIRECT_ADVICE = (
    "the host redirected the upload to {where}: it treated us as logged out, so the token was "
    "rejected (or 'url' does not point at the API)"
)
_STATUS_ADVICE: dict[int, tuple[type[HostError], str]] = {
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
        HostError,
        "the host answered 404 Not Found: 'url' is probably wrong (it should end in /api/v1) or "
        "the admin has disabled the API",
    ),
    413: (
        HostError,
        "the server refused the file as too large (HTTP 413; probably a proxy's body-size limit "
        "in front of Lsky): shrink the image or set max_size",
    ),
}


class LskyHost:
    """Uploads to a Lsky Pro 2.x server (and Lsky Pro+, which reads a few more fields)."""

    type_name: ClassVar[str] = "lsky"

    def __init__(self, profile: HostProfile, http: httpx.Client) -> None:
        self._url, self._token, self._fields = _read_options(profile)
        self._http = http
        secret = (self._token or "").partition("|")[2]
        # The part after the bar is the secret itself; a short one would redact ordinary words.
        self._errors = HostErrors(
            self.identity, (self._token, secret if len(secret) >= 8 else None)
        )
        self._budget = RateBudget("the host's request limit", self._errors)

    def __repr__(self) -> str:
        # Spelled out so the token can never appear in a repr.
        return f"LskyHost({self._url!r}, token={'set' if self._token else 'none'})"

    @property
    def identity(self) -> str:
        return f"lsky {self._url}"

    @property
    def max_size(self) -> int | None:
        # The server's limit (5120 KB by default) is an admin setting the API does not expose.
        return None

    def upload(self, request: UploadRequest) -> UploadResult:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            stream = request.path.open("rb")
        except OSError as exc:
            raise ImageError(f"{request.path} can't be read: {exc.strerror or exc}") from None
        with stream:
            self._budget.reserve(1)  # RateLimited here means nothing was sent
            try:
                with self._errors.transport(self._url):
                    response = self._http.post(
                        f"{self._url}/upload",
                        headers=headers,
                        data=self._fields,
                        files={"file": (request.filename, stream, request.mime)},
                    )
            except BaseException:
                self._budget.settle(1, None)
                raise
            self._budget.settle(1, response)
        return self._result(response, request)

    def _result(self, response: httpx.Response, request: UploadRequest) -> UploadResult:
        code = response.status_code
        body = json_object(response)
        said = _message(body)
        if code in REDIRECTS or code in _STATUS_ADVICE or code == 429 or code >= 500:
            self._fail_by_status(response, said)
        if body is None or not isinstance(body.get("status"), bool):
            if said and code >= 400:  # a framework error such as a 422 validation reply
                self._errors.fail(
                    HostError, f"the host refused the upload (HTTP {code})", code, said
                )
            advice = "the reply is not from the Lsky API; is 'url' the API base (…/api/v1)?"
            self._errors.fail(
                HostError, f"{advice} It began: {self._errors.quote(response.text)}", code
            )
        if body["status"] is not True:
            self._fail_refusal(said or f"HTTP {code}", code, request)
        data = body.get("data")
        links = data.get("links") if isinstance(data, Mapping) else None
        url = links.get("url") if isinstance(links, Mapping) else None
        if not isinstance(data, Mapping) or not isinstance(url, str) or not url:
            self._errors.fail(
                HostError, "the host reported success but sent no data.links.url", code
            )
        key = data.get("key")
        return UploadResult(url=url, handle={"key": key} if isinstance(key, str) and key else {})

    def _fail_by_status(self, response: httpx.Response, said: str | None) -> NoReturn:
        code = response.status_code
        if code in REDIRECTS:
            where = response.headers.get("Location", "elsewhere")
            self._errors.fail(AuthError, _REDIRECT_ADVICE.format(where=where), code, said)
        if code == 429:
            # Lsky itself says neither; a proxy or a newer version in front may say either.
            wait = retry_after(response.headers.get("Retry-After"))
            if wait is None and (reset := reset_at(response.headers, time.time())) is not None:
                wait = max(0.0, reset - time.time())
            self._errors.rate_limited("the host asks us to slow down (HTTP 429)", wait, code, said)
        if code in _STATUS_ADVICE:
            cls, advice = _STATUS_ADVICE[code]
            self._errors.fail(cls, advice, code, said)
        advice = f"the host had a server error (HTTP {code})"
        if said:
            self._errors.fail(TransientHostError, advice, code, said)
        self._errors.fail(
            TransientHostError, f"{advice}; it began: {self._errors.quote(response.text)}", code
        )

    def _fail_refusal(self, said: str, code: int, request: UploadRequest) -> NoReturn:
        quota = _QUOTA_RE.search(said)
        if quota:
            unit, wait = _QUOTA_UNITS[quota.group(1)]
            message = (
                f"the host allows your group {quota.group(2)} uploads a {unit} and they are used up"
            )
            self._errors.rate_limited(message, float(wait), code, said)
        for known, advice in _REFUSALS.items():
            if known in said:
                size = f"{request.size / 1024:.0f} KB"
                strategy = self._fields.get("strategy_id", "(default)")
                self._errors.fail(
                    HostError, advice.format(size=size, strategy=strategy), code, said
                )
        self._errors.fail(HostError, "the host refused the upload", code, said)


def _message(body: dict[str, Any] | None) -> str | None:
    message = body.get("message") if body else None
    return message if isinstance(message, str) and message else None


def _read_options(profile: HostProfile) -> tuple[str, str | None, dict[str, str]]:
    """Check a profile's options: (API base URL, token or None for guest, extra form fields)."""

    def bad(problem: str) -> NoReturn:
        raise ConfigError(f"host profile {profile.name!r}: {problem}", profile.source)

    options = profile.options
    for key in options:
        if key not in _OPTIONS:
            bad(f"unknown key {key!r} for type lsky (known: {', '.join(_OPTIONS)})")
    url = options.get("url")
    if not isinstance(url, str) or not url.strip():
        bad("'url' is required, e.g. 'https://img.example.com/api/v1'")
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        bad("'url' must start with http:// or https://")
    token = options.get("token")
    if token is not None:
        # The value is never quoted in these messages: it is a secret.
        if not isinstance(token, str):
            bad("'token' must be a string")
        token = token.strip()
        if not token:
            bad("'token' is empty (is its variable set?); remove the key to upload as a guest")
        if not token.isascii() or not token.isprintable() or " " in token:
            bad("'token' holds spaces or characters a token can't have")
    fields: dict[str, str] = {}
    for key in ("strategy_id", "album_id"):
        if key in options:
            value = options[key]
            # Digit strings are accepted because `${VAR}` expansion always yields text.
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                bad(f"{key!r} must be a positive whole number")
            fields[key] = str(value)
    if "permission" in options:
        # Lsky Pro+ reads 1 as public and 0 as private.
        words = {"public": "1", "private": "0", "1": "1", "0": "0"}
        value = options["permission"]
        text = str(value).strip().lower() if isinstance(value, str | int) else ""
        if isinstance(value, bool) or text not in words:
            bad("'permission' must be 0, 1, 'public' or 'private'")
        fields["permission"] = words[text]
    if "expired_at" in options:
        expired = options["expired_at"]
        if not isinstance(expired, str) or not expired.strip():
            bad("'expired_at' must be a date-time string")
        fields["expired_at"] = expired.strip()
    return url, token, fields
