"""The Chevereto image host (V4 and Free, API v1.1): multipart `source` to `{url}/upload`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NoReturn

import httpx

from ..errors import AuthError, ConfigError, HostError, ImageError, TransientHostError
from ._http import REDIRECTS, HostErrors, json_object, retry_after
from .base import HostProfile, UploadRequest, UploadResult

_OPTIONS = (
    "album_id",
    "category_id",
    "description",
    "expiration",
    "key",
    "nsfw",
    "tags",
    "title",
    "url",
)
_TITLE_LIMIT = 100  # Chevereto keeps 100 characters of a title; long alt text is cut to fit
# An ISO-8601 duration as PHP's DateInterval reads it: P3D, PT5M, P1Y2M10DT2H30M, P2W.
_EXPIRATION_RE = re.compile(
    r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?"
)
Complain = Callable[[str], NoReturn]
_NSFW = {"1": "1", "0": "0", "true": "1", "false": "0", "yes": "1", "no": "0"}
_DUPLICATE = (
    "Chevereto refused this image as a duplicate: this exact image was uploaded to this Chevereto "
    "from this address within the last 24 hours, but imgsync's cache has no record of it (the "
    "cache file was deleted, or the copy that recorded it was never committed). Chevereto refuses "
    "duplicates and will not say the existing URL. The way out: restore the cache file from git; "
    "or find the image in your Chevereto library and put its URL in the Markdown by hand; or wait "
    "24 hours and upload it again"
)
_BAD_IMAGE = (
    "Chevereto refused the image ({size}) as too large or not a valid image: the size limit and "
    "the allowed formats are its admin's settings; shrink or convert the image, or set max_size"
)
# Chevereto's own error.code (not an HTTP status) -> what the user should do about it.
_ERRORS: dict[int, tuple[type[HostError], str]] = {
    100: (
        AuthError,
        "Chevereto rejected the API key: check 'key' (a V4 user key, from /settings/api on the "
        "site, starts with 'chv_'; Chevereto Free takes the one key set in Dashboard > Settings > "
        "API)",
    ),
    **dict.fromkeys((101, 102, 103), (HostError, _DUPLICATE)),
    120: (
        HostError,
        "Chevereto could not read the upload (error 120: bad base64 data, or an API action it "
        "doesn't know): check that 'url' ends in /api/1 and that no proxy rewrites the request",
    ),
    130: (
        HostError,
        "Chevereto received no image (error 130: empty upload source): a proxy or the server's "
        "PHP upload limits probably dropped the file; shrink the image or ask the site's admin",
    ),
    **dict.fromkeys((311, 312, 313, 314, 400, 601), (HostError, _BAD_IMAGE)),
    401: (
        AuthError,
        "Chevereto denied the request (error 401): uploads or the API may be turned off for this "
        "account or address; ask the site's admin",
    ),
}
_STATUS_ADVICE = {
    404: "the host answered 404 Not Found: 'url' is probably wrong (it should end in /api/1)",
    413: "the server refused the file as too large (HTTP 413; probably a proxy's body-size limit "
    "in front of Chevereto): shrink the image or set max_size",
}
_REDIRECT = (
    "the host redirected the upload to {where}: check 'url' (https:// rather than http://? the "
    "API base, ending in /api/1?)"
)
_MODERATION = (
    "Chevereto holds this image for moderation, so it has no image URL yet: the link written is "
    "its viewer page {viewer} (a web page, not the image); once it is approved, replace the link "
    "with the image's direct URL shown on that page"
)


class CheveretoHost:
    """Uploads to Chevereto V4 or Chevereto Free, whichever answers, with one configuration."""

    type_name: ClassVar[str] = "chevereto"

    def __init__(self, profile: HostProfile, http: httpx.Client) -> None:
        self._url, self._key, self._title, self._fields = _read_options(profile)
        self._http = http
        self._errors = HostErrors(self.identity, (self._key,))

    def __repr__(self) -> str:
        # Spelled out so the key can never appear in a repr.
        return f"CheveretoHost({self._url!r}, key=set)"

    @property
    def identity(self) -> str:
        return f"chevereto {self._url}"

    @property
    def max_size(self) -> int | None:
        # The limit is an admin setting the API does not expose.
        return None

    def upload(self, request: UploadRequest) -> UploadResult:
        # V4 reads the header, Free only the form field: send both (never the URL query, which
        # servers log). `format=json` because txt and redirect answer even errors with HTTP 200.
        headers = {"Accept": "application/json", "X-API-Key": self._key}
        data = {"key": self._key, "format": "json"} | self._fields
        title = self._title or " ".join(request.alt.split())[:_TITLE_LIMIT]
        if title:
            data["title"] = title
        try:
            stream = request.path.open("rb")
        except OSError as exc:
            raise ImageError(f"{request.path} can't be read: {exc.strerror or exc}") from None
        with stream, self._errors.transport(self._url):
            response = self._http.post(
                f"{self._url}/upload",
                headers=headers,
                data=data,
                files={"source": (request.filename, stream, request.mime)},
            )
        return self._result(response, request)

    def _result(self, response: httpx.Response, request: UploadRequest) -> UploadResult:
        code = response.status_code
        body = json_object(response)
        error = body.get("error") if body else None
        said = _text(error.get("message")) if isinstance(error, Mapping) else None
        if code in REDIRECTS or code == 429 or code >= 500:
            self._fail_by_status(response, said)
        if body is not None and isinstance(error, Mapping):
            number = error.get("code")
            self._fail_chevereto(number if isinstance(number, int) else None, said, code, request)
        if body is None or body.get("status_code") != 200:
            if code in _STATUS_ADVICE:
                self._errors.fail(HostError, _STATUS_ADVICE[code], code)
            advice = "the reply is not from the Chevereto API; is 'url' the API base (…/api/1)?"
            quoted = self._errors.quote(response.text)
            self._errors.fail(HostError, f"{advice} It began: {quoted}", code)
        image = body.get("image")
        image = image if isinstance(image, Mapping) else {}
        url, viewer, delete = (_text(image.get(k)) for k in ("url", "url_viewer", "delete_url"))
        handle = {"delete_url": delete} if delete else {}
        if url:
            return UploadResult(url=url, handle=handle)
        if viewer:  # held for moderation: the viewer page is the only link there is
            warning = _MODERATION.format(viewer=viewer)
            return UploadResult(url=viewer, handle=handle, warning=warning)
        self._errors.fail(HostError, "Chevereto reported success but sent no image URL", code)

    def _fail_by_status(self, response: httpx.Response, said: str | None) -> NoReturn:
        code = response.status_code
        if code in REDIRECTS:
            where = response.headers.get("Location", "elsewhere")
            self._errors.fail(HostError, _REDIRECT.format(where=where), code, said)
        if code == 429:
            wait = retry_after(response.headers.get("Retry-After"))
            self._errors.rate_limited("the host asks us to slow down (HTTP 429)", wait, code, said)
        advice = f"the host had a server error (HTTP {code})"
        if said:
            self._errors.fail(TransientHostError, advice, code, said)
        quoted = self._errors.quote(response.text)
        self._errors.fail(TransientHostError, f"{advice}; it began: {quoted}", code)

    def _fail_chevereto(
        self, number: int | None, said: str | None, code: int, request: UploadRequest
    ) -> NoReturn:
        if number == 130 and said and "flood" in said.lower():
            # Per-address flood protection: a wait of unknown length, not a refusal.
            message = "Chevereto's flood protection is refusing uploads from this address for now"
            self._errors.rate_limited(message, None, code, said)
        cls, advice = _ERRORS.get(number or 0, (HostError, "Chevereto refused the upload"))
        if number is not None and number not in _ERRORS:
            advice += f" (error {number})"
        self._errors.fail(cls, advice.format(size=_size(request.size)), code, said)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _read_options(profile: HostProfile) -> tuple[str, str, str | None, dict[str, str]]:
    """Check a profile's options: (API base URL, key, fixed title or None, extra form fields)."""

    def bad(problem: str) -> NoReturn:
        raise ConfigError(f"host profile {profile.name!r}: {problem}", profile.source)

    options = profile.options
    for name in options:
        if name not in _OPTIONS:
            bad(f"unknown key {name!r} for type chevereto (known: {', '.join(_OPTIONS)})")
    url = options.get("url")
    if not isinstance(url, str) or not url.strip():
        bad("'url' is required, e.g. 'https://img.example.org/api/1'")
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        bad("'url' must start with http:// or https://")
    if "?" in url or "#" in url:
        bad("'url' must not hold a query or fragment; the API key goes in 'key'")
    key = options.get("key")
    # The value is never quoted in these messages: it is a secret.
    if not isinstance(key, str) or not key.strip():
        bad("'key' is required (is its variable set?): the API key from the site")
    key = key.strip()
    if not key.isascii() or not key.isprintable() or " " in key:
        bad("'key' holds spaces or characters an API key can't have")
    fields: dict[str, str] = {}
    for name in ("album_id", "category_id", "description", "title"):
        if name in options:
            value = options[name]
            # Numbers are fine for ids; `${VAR}` expansion always yields text anyway.
            numeric = name.endswith("_id") and type(value) is int
            if not (isinstance(value, str) and value.strip()) and not numeric:
                bad(f"{name!r} must be a non-empty string")
            fields[name] = str(value).strip()
    if "tags" in options:
        fields["tags"] = _tags(options["tags"], bad)
    if "expiration" in options:
        expiration = options["expiration"]
        text = expiration.strip().upper() if isinstance(expiration, str) else ""
        if not _EXPIRATION_RE.fullmatch(text):
            bad("'expiration' must be an ISO-8601 duration such as 'PT5M' (5 minutes) or 'P3D'")
        fields["expiration"] = text
    if "nsfw" in options:
        nsfw = options["nsfw"]
        word = str(nsfw).strip().lower() if isinstance(nsfw, str | int) else ""
        if word not in _NSFW:
            bad("'nsfw' must be true or false")
        fields["nsfw"] = _NSFW[word]
    title = fields.pop("title", None)
    return url, key, title, fields


def _tags(value: Any, bad: Complain) -> str:
    if isinstance(value, str):
        tags = [tag.strip() for tag in value.split(",")]
    elif isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        if any("," in tag for tag in value):
            bad("'tags' entries can't hold commas (Chevereto reads tags as a comma list)")
        tags = [tag.strip() for tag in value]
    else:
        bad("'tags' must be a list of strings or a comma-separated string")
    tags = [tag for tag in tags if tag]
    if not tags:
        bad("'tags' is empty; remove the key to send no tags")
    return ",".join(tags)
