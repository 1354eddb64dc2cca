"""The Chevereto image host (V4 and Free, API v1.1): multipart `source` to `{url}/upload`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import ClassVar, NoReturn

import httpx

from ..errors import AuthError, HostError, WrongEndpoint
from ..sizes import human_size
from ._http import json_object
from .base import Access, HostProfile, UploadRequest, UploadResult
from .kit import KitHost, ReplyRules, text
from .options import ProfileOptions

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
# What to do instead, for what Chevereto can't do beyond uploading: the commands that would
# need it say "chevereto hosts can't ... through their API: " and this (read from Chevereto
# 4.2's and Chevereto Free's source: API v1.1 has one call, the upload; V4's API 4 is "work
# in progress", its routes to list and delete images commented out).
CANNOT_DELETE_HINT = (
    "delete them in the site's web pages, signed in (imgsync never keeps V4's delete_url, a "
    "link that deletes the image for anyone who opens it, since the cache is committed)"
)
CANNOT_LIST_HINT = "its only call is the upload: see the images in the site's web pages"
CANNOT_ALBUMS_HINT = (
    "create an album in the site's web pages, then set its id as album_id in the host profile (V4)"
)
_TITLE_LIMIT = 100  # Chevereto keeps 100 characters of a title; long alt text is cut to fit
# An ISO-8601 duration as PHP's DateInterval reads it: P3D, PT5M, P1Y2M10DT2H30M, P2W.
_EXPIRATION_RE = re.compile(
    r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?"
)
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
_REPLIES = ReplyRules(
    api="Chevereto",
    base="…/api/1",
    redirect=(
        WrongEndpoint,
        "the host redirected the upload to {where}: check 'url' (https:// rather than http://? "
        "the API base, ending in /api/1?)",
    ),
    late_statuses={
        404: (
            WrongEndpoint,
            "the host answered 404 Not Found: 'url' is probably wrong (it should end in /api/1)",
        ),
        413: (
            HostError,
            "the server refused the file as too large (HTTP 413; probably a proxy's body-size "
            "limit in front of Chevereto): shrink the image or set max_size",
        ),
    },
)
_MODERATION = (
    "Chevereto holds this image for moderation, so it has no image URL yet: the link written is "
    "its viewer page {viewer} (a web page, not the image); once it is approved, replace the link "
    "with the image's direct URL shown on that page"
)


class CheveretoHost(KitHost):
    """Uploads to Chevereto V4 or Chevereto Free, whichever answers, with one configuration."""

    type_name: ClassVar[str] = "chevereto"
    secret_option: ClassVar[str] = "key"
    # No ListingHost, DeletingHost or AlbumHost: `supports()` is empty, and these say why,
    # by the names `supports()` uses.
    cannot_delete_hint: ClassVar[str] = CANNOT_DELETE_HINT
    unsupported_hints: ClassVar[Mapping[str, str]] = {
        "list": CANNOT_LIST_HINT,
        "delete": CANNOT_DELETE_HINT,
        "albums": CANNOT_ALBUMS_HINT,
        "create_album": CANNOT_ALBUMS_HINT,
    }

    def __init__(self, profile: HostProfile, http: httpx.Client) -> None:
        url, self._key, self._title, self._fields = _read_options(profile)
        super().__init__(url, self._key, http)

    def upload(self, request: UploadRequest) -> UploadResult:
        # V4 reads the header, Free only the form field: send both (never the URL query, which
        # servers log). `format=json` because txt and redirect answer even errors with HTTP 200.
        headers = {"X-API-Key": self._key}
        data = {"key": self._key, "format": "json"} | self._fields
        title = self._title or " ".join(request.alt.split())[:_TITLE_LIMIT]
        if title:
            data["title"] = title
        with self.open(request) as stream:
            files = {"source": (request.filename, stream, request.mime)}
            response = self.send(files, headers=headers, data=data)
        return self._result(response, request)

    def check_access(self) -> Access:
        """Chevereto's API has one call, the upload: nothing checks a key without uploading.

        What can be tested is that the API answers at 'url': a GET of the upload call with
        no key and no source (the key never goes in a URL) gets Chevereto's own JSON error.
        """
        response = self.read(self.upload_path, headers={})
        body = json_object(response)
        error = body.get("error") if body else None
        said = text(error.get("message")) if isinstance(error, Mapping) else None
        _REPLIES.check_status(self.errors, response, said)
        if body is None or not isinstance(body.get("status_code"), int):
            _REPLIES.not_the_api(self.errors, response, said)
        return Access(
            False,
            "Chevereto's API answers at 'url', but Chevereto has no call that checks a key "
            "without uploading: the key is first used by an upload",
        )

    def _result(self, response: httpx.Response, request: UploadRequest) -> UploadResult:
        code = response.status_code
        body = json_object(response)
        error = body.get("error") if body else None
        said = text(error.get("message")) if isinstance(error, Mapping) else None
        _REPLIES.check_status(self.errors, response, said)
        if body is not None and isinstance(error, Mapping):
            number = error.get("code")
            self._fail_chevereto(number if isinstance(number, int) else None, said, code, request)
        if body is None or body.get("status_code") != 200:
            _REPLIES.not_the_api(self.errors, response, said)
        image = body.get("image")
        image = image if isinstance(image, Mapping) else {}
        url, viewer = (text(image.get(k)) for k in ("url", "url_viewer"))
        # V4's delete_url deletes the image for anyone who opens it (a plain GET, no sign-in:
        # Chevereto 4.2's app/legacy/routes/image.php). It is a secret, like a token: never
        # kept in the cache, a file committed to the repository, nor shown.
        handle: dict[str, str] = {}
        if url:
            return UploadResult(url=url, handle=handle)
        if viewer:  # held for moderation: the viewer page is the only link there is
            warning = _MODERATION.format(viewer=viewer)
            return UploadResult(url=viewer, handle=handle, warning=warning)
        self.errors.fail(HostError, "Chevereto reported success but sent no image URL", code)

    def _fail_chevereto(
        self, number: int | None, said: str | None, code: int, request: UploadRequest
    ) -> NoReturn:
        if number == 130 and said and "flood" in said.lower():
            # Per-address flood protection: a wait of unknown length, not a refusal.
            message = "Chevereto's flood protection is refusing uploads from this address for now"
            self.errors.rate_limited(message, None, code, said)
        cls, advice = _ERRORS.get(number or 0, (HostError, "Chevereto refused the upload"))
        if number is not None and number not in _ERRORS:
            advice += f" (error {number})"
        self.errors.fail(cls, advice.format(size=human_size(request.size)), code, said)


def _read_options(profile: HostProfile) -> tuple[str, str, str | None, dict[str, str]]:
    """Check a profile's options: (API base URL, key, fixed title or None, extra form fields)."""
    options = ProfileOptions(profile, _OPTIONS)
    url = options.url(example="https://img.example.org/api/1", no_query="the API key goes in 'key'")
    key = options.secret("key", what="an API key", hint="the API key from the site")
    fields: dict[str, str] = {}
    for name in ("album_id", "category_id", "description", "title"):
        if name in options:
            # Ids may be numbers; `${VAR}` expansion always yields text anyway.
            least = -math.inf if name.endswith("_id") else None
            fields[name] = options.text(name, least=least)
    if "tags" in options:
        reason = "Chevereto reads tags as a comma list"
        fields["tags"] = ",".join(options.comma_list("tags", reason=reason))
    if "expiration" in options:
        expiration = options.raw("expiration")
        duration = expiration.strip().upper() if isinstance(expiration, str) else ""
        if not _EXPIRATION_RE.fullmatch(duration):
            options.bad(
                "'expiration' must be an ISO-8601 duration such as 'PT5M' (5 minutes) or 'P3D'"
            )
        fields["expiration"] = duration
    if "nsfw" in options:
        fields["nsfw"] = "1" if options.flag("nsfw") else "0"
    title = fields.pop("title", None)
    return url, key, title, fields
