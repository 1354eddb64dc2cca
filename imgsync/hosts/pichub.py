"""The PicHub image host: several files a request to `{url}/upload`, paced by its rate limits.

Beyond uploading it lists, deletes and makes albums (pichub_library.py), and may link
its processing URLs instead of the plain ones (pichub_links.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, ClassVar

import httpx

from ..errors import AuthError, HostError, ImageError, WrongEndpoint
from ..sizes import human_size
from ._http import json_object
from ._pacing import RateBudget
from .base import Access, Album, HostedImage, HostProfile, UploadRequest, UploadResult
from .kit import KitHost, ReplyRules
from .options import ProfileOptions
from .pichub_library import PicHubLibrary
from .pichub_links import processing_url, read_transform
from .pichub_reply import Slot, batch_slots, item_url, said

DEFAULT_URL = "https://api.pichub.app/api/v1"
MAX_SIZE = 50 * 1024 * 1024  # PicHub's limit for one file
_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}  # all that PicHub takes
# Option -> form field; booleans go as 1/0, the form PicHub documents for is_public.
_FLAGS = {"auto_rename": "auto_rename", "convert_to_webp": "convertToWebP"}
_FLAGS |= {"is_public": "is_public", "remove_exif": "remove_exif"}
_OPTIONS = ("album_id", "batch_size", "format", "quality", "token", "transform", "url", *_FLAGS)
_FORMATS = ("auto", "jpeg", "png", "webp")
_WEBP = (
    "PicHub converts every upload to WebP unless told not to (its convertToWebP is on by "
    "default): set convert_to_webp = false in the host profile to keep the original format"
)
Part = tuple[str, tuple[str, IO[bytes], str]]
_REFUSED = "PicHub refused this file of the batch"
_REPLIES = ReplyRules(
    api="PicHub",
    base="…/api/v1",
    redirect=(
        WrongEndpoint,
        "PicHub redirected the upload to {where}: check 'url' (https, …/api/v1)",
    ),
    speaker="PicHub",
    refuse_other_4xx=True,
    statuses={
        400: (HostError, "PicHub refused the request as malformed (HTTP 400)"),
        401: (AuthError, "PicHub rejected the token: check 'token' (an API token from PicHub)"),
        403: (AuthError, "PicHub refused access: the token may not upload, or the account is off"),
        404: (
            WrongEndpoint,
            "PicHub answered 404: is 'url' the API base (…/api/v1) and album_id yours?",
        ),
        413: (
            HostError,
            "PicHub refused the upload as too large: it takes up to 50 MB a file (a proxy may "
            "limit the whole request, which carries the batch: then lower batch_size)",
        ),
        415: (HostError, "PicHub refused the file type: it takes only JPG, PNG, WebP and GIF"),
        422: (HostError, "PicHub refused the fields: check quality (1-100), format and album_id"),
        507: (HostError, "PicHub's storage for this account is full: delete images or upgrade"),
    },
)


class PicHubHost(KitHost):
    """Uploads to PicHub, a batch of files a request, waiting its upload budget out in line;
    lists, deletes and makes albums (a ListingHost, DeletingHost and AlbumHost)."""

    type_name: ClassVar[str] = "pichub"
    can_create_albums: ClassVar[bool] = True

    def __init__(self, profile: HostProfile, http: httpx.Client) -> None:
        self._settings = _read_options(profile)
        super().__init__(self._settings.url, self._settings.token, http)
        self._pacer = RateBudget("PicHub's upload limit", self.errors)
        self._library = PicHubLibrary(self._settings.url, self._settings.token, http, self.errors)

    @property
    def max_size(self) -> int | None:
        return MAX_SIZE

    @property
    def batch_size(self) -> int:
        return self._settings.batch_size

    def upload(self, request: UploadRequest) -> UploadResult:
        [outcome] = self.upload_batch([request])
        if isinstance(outcome, HostError):
            raise outcome
        return outcome

    def link_url(self, url: str) -> str:
        """The link to write for a hosted `url`: with the profile's `transform` parameters."""
        return processing_url(url, self._settings.transform)

    def list_images(
        self, progress: Callable[[int, int | None], None] | None = None
    ) -> Iterator[HostedImage]:
        return self._library.list_images(progress)

    def delete(self, handle: Mapping[str, str]) -> None:
        self._library.delete(handle)

    def albums(self) -> list[Album]:
        return self._library.albums()

    def create_album(self, name: str) -> Album:
        public = self._settings.fields.get("is_public")
        return self._library.create_album(name, {} if public is None else {"is_public": public})

    def check_access(self) -> Access:
        """GET /images?per_page=1: PicHub's list of the account's images, which uploads nothing
        and needs the token."""
        headers = {"Authorization": f"Bearer {self._settings.token}"}
        response = self.read("/images?per_page=1", headers=headers)
        body = json_object(response)
        _REPLIES.check_status(self.errors, response, said(body))
        if body is None:
            _REPLIES.not_the_api(self.errors, response, None)
        if body.get("success") is False:
            self.errors.fail(
                HostError, "PicHub refused the check", response.status_code, said(body)
            )
        return Access(True, "PicHub accepted the token (GET /images)")

    def upload_batch(self, requests: Sequence[UploadRequest]) -> list[UploadResult | HostError]:
        # What PicHub would refuse is refused here, so the rest of the batch still goes up.
        outcomes: list[UploadResult | HostError | None] = [self._refusal(r) for r in requests]
        with ExitStack() as streams:
            parts: list[Part] = []
            for index, request in enumerate(requests):
                try:
                    if outcomes[index] is None:
                        stream = streams.enter_context(self.open(request))
                        parts.append(("files[]", (request.filename, stream, request.mime)))
                except ImageError as exc:
                    outcomes[index] = self._error(str(exc))
            sent = [index for index, outcome in enumerate(outcomes) if outcome is None]
            if sent:
                headers = {"Authorization": f"Bearer {self._settings.token}"}
                fields, units = self._settings.fields, len(parts)
                response = self.send(
                    parts, headers=headers, data=fields, budget=self._pacer, units=units
                )
                results = self._results(response, [requests[i] for i in sent])
                for index, result in zip(sent, results, strict=True):
                    outcomes[index] = result
        return [outcome for outcome in outcomes if outcome is not None]

    def _refusal(self, request: UploadRequest) -> HostError | None:
        if request.mime not in _TYPES:
            return self._error(
                f"PicHub takes only JPG, PNG, WebP and GIF images, and {request.filename} is "
                f"{request.mime}: convert it (an SVG to PNG, say) and link the converted file"
            )
        if request.size > MAX_SIZE:
            size = human_size(request.size)
            return self._error(f"{request.filename} is {size}, above PicHub's 50 MB a file")
        return None

    def _error(self, message: str, status: int | None = None, said: str | None = None) -> HostError:
        """One file's error, for the list upload_batch returns; redacted like the raised ones."""
        said = self.errors.redact(said) if said else None
        redacted = self.errors.redact(message)
        return HostError(redacted, host=self.identity, status=status, host_message=said)

    def _results(
        self, response: httpx.Response, sent: list[UploadRequest]
    ) -> list[UploadResult | HostError]:
        code, body = response.status_code, json_object(response)
        _REPLIES.check_status(self.errors, response, said(body))
        if body is None:
            _REPLIES.not_the_api(self.errors, response, None)
        if body.get("success") is False:
            self.errors.fail(HostError, "PicHub refused the upload", code, said(body))
        slots = batch_slots(body, sent)
        if slots is None:
            self.errors.fail(HostError, "PicHub reported success but sent no data", code)
        return [self._outcome(s, r, code) for s, r in zip(slots, sent, strict=True)]

    def _outcome(self, slot: Slot, request: UploadRequest, code: int) -> UploadResult | HostError:
        if slot is None:
            return self._error(
                f"PicHub's reply does not say what became of {request.filename}: it may be stored "
                "anyway; look in the PicHub library",
                code,
            )
        if isinstance(slot, str) or slot.get("success") is False:
            return self._error(_REFUSED, code, slot if isinstance(slot, str) else said(slot))
        url = item_url(slot)
        if url is None:
            words = said(slot)
            if words:  # an item that carries an error but no success flag
                return self._error(_REFUSED, code, words)
            return self._error("PicHub reported success for this file but sent no URL", code)
        ident = slot.get("id")
        handle = {"id": str(ident)} if type(ident) in (str, int) and str(ident) else {}
        webp = url.partition("?")[0].lower().endswith(".webp") and request.mime != "image/webp"
        warning = f"stored as WebP: {_WEBP}" if webp and self._settings.webp_by_default else None
        return UploadResult(url, handle, warning)


@dataclass(frozen=True)
class _Settings:
    url: str
    token: str
    batch_size: int
    fields: dict[str, str]
    transform: dict[str, str]

    @property
    def webp_by_default(self) -> bool:
        """True when the profile chose no output format, so PicHub's WebP default applies."""
        return "convertToWebP" not in self.fields and "format" not in self.fields


def _read_options(profile: HostProfile) -> _Settings:
    """Check a profile's options; ConfigError naming the file and the key."""
    options, fields = ProfileOptions(profile, _OPTIONS), {}
    url = options.url(default=DEFAULT_URL, no_query="the token goes in 'token'")
    token = options.secret("token", what="a token", hint="an API token from PicHub")
    batch_size = options.whole("batch_size", high=20, default=5, why=" (files a request)")
    if "album_id" in options:
        message = "'album_id' must be a positive number or a non-empty string"
        fields["album_id"] = options.text("album_id", least=1, message=message)
    if "quality" in options:
        fields["quality"] = str(options.whole("quality", high=100))
    if "format" in options:
        fields["format"] = options.choice("format", _FORMATS)
    why = {"convert_to_webp": f" ({_WEBP})", "is_public": " (PicHub's default, 1, is public)"}
    for key, name in _FLAGS.items():
        flag = options.flag(key, why=why.get(key, ""))
        if flag is not None:
            fields[name] = "1" if flag else "0"
    return _Settings(url, token, batch_size or 5, fields, read_transform(options))
