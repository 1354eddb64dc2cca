"""Snapbin, an example image host on the host kit: the walkthrough of docs/adding-a-host.md.

Snapbin's API (made up, and typical of small hosts): `POST {url}/upload` with a
bearer token and the file in the multipart field `image`; optional `expires_days`
and `public`. It answers `{"ok": true, "image": {"id", "url"}}`, or
`{"ok": false, "error": "..."}` with an HTTP status that says what went wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import httpx

from imgsync.errors import AuthError, HostError
from imgsync.hosts._http import json_object
from imgsync.hosts.base import Access, HostProfile, UploadRequest, UploadResult
from imgsync.hosts.kit import KitHost, ReplyRules, text
from imgsync.hosts.options import ProfileOptions

# 1. The keys a profile of this type may hold: any other is refused, naming these.
OPTIONS = ("expires_days", "public", "token", "url")

# 2. What each HTTP status means for the user. Redirects, 429 and 5xx are handled
#    the same way for every host; this table adds the statuses Snapbin documents.
REPLIES = ReplyRules(
    api="Snapbin",
    base="…/api/v1",
    redirect=(HostError, "Snapbin redirected the upload to {where}: check 'url' (https?)"),
    statuses={
        401: (AuthError, "Snapbin rejected the token: check 'token' (Settings > API on the site)"),
        413: (HostError, "Snapbin refused the file as too large: shrink it or set max_size"),
        415: (HostError, "Snapbin takes only PNG, JPEG, GIF and WebP images"),
        507: (HostError, "your Snapbin storage is full: delete old images or upgrade"),
    },
    speaker="Snapbin",
    refuse_other_4xx=True,  # any other 4xx is a refusal, with Snapbin's words
)


class SnapbinHost(KitHost):
    """Uploads to Snapbin, one file a request."""

    type_name: ClassVar[str] = "snapbin"

    def __init__(self, profile: HostProfile, http: httpx.Client) -> None:
        # 3. Read every option up front: a bad profile fails before anything is sent.
        options = ProfileOptions(profile, OPTIONS)
        url = options.url(
            example="https://snapbin.example/api/v1", no_query="the token goes in 'token'"
        )
        self._token = options.secret("token", what="a token", hint="an API token from Snapbin")
        self._fields: dict[str, str] = {}
        days = options.whole("expires_days", low=1, high=365)
        if days is not None:
            self._fields["expires_days"] = str(days)
        public = options.flag("public")
        if public is not None:
            self._fields["public"] = "true" if public else "false"
        # 4. The kit keeps the token out of repr and identity, and redacts it from errors.
        super().__init__(url, self._token, http)

    def upload(self, request: UploadRequest) -> UploadResult:
        headers = {"Authorization": f"Bearer {self._token}"}
        with self.open(request) as stream:  # ImageError if the file can't be read
            files = {"image": (request.filename, stream, request.mime)}
            response = self.send(files, headers=headers, data=self._fields)
        return self._result(response)

    def check_access(self) -> Access:
        # 7. Optional: one read that uploads nothing, for `imgsync doctor`.
        response = self.read("/me", headers={"Authorization": f"Bearer {self._token}"})
        body = json_object(response)
        REPLIES.check_status(self.errors, response, text(body.get("error")) if body else None)
        if body is None or body.get("ok") is not True:
            REPLIES.not_the_api(self.errors, response, None)
        return Access(True, "Snapbin accepted the token (GET /me)")

    def _result(self, response: httpx.Response) -> UploadResult:
        # 5. Status first, then the body: judge success by Snapbin's own `ok`, not by HTTP 200.
        code, body = response.status_code, json_object(response)
        said = text(body.get("error")) if body else None
        REPLIES.check_status(self.errors, response, said)
        if body is None or not isinstance(body.get("ok"), bool):
            REPLIES.not_the_api(self.errors, response, said)
        if body["ok"] is not True:
            self.errors.fail(HostError, "Snapbin refused the upload", code, said)
        image = body.get("image")
        url = text(image.get("url")) if isinstance(image, Mapping) else None
        if not isinstance(image, Mapping) or url is None:
            self.errors.fail(HostError, "Snapbin reported success but sent no image.url", code)
        ident = text(image.get("id"))
        # 6. The handle is what a later delete would need; it goes into the cache.
        return UploadResult(url=url, handle={"id": ident} if ident else {})
