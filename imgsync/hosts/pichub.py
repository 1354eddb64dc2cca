"""The PicHub image host: several files a request to `{url}/upload`, paced by its rate limits."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, Any, ClassVar, NoReturn

import httpx

from ..errors import AuthError, ConfigError, HostError, TransientHostError
from ._http import REDIRECTS, HostErrors, json_object, retry_after
from ._pacing import RateBudget, reset_at
from .base import HostProfile, UploadRequest, UploadResult

DEFAULT_URL = "https://api.pichub.app/api/v1"
MAX_SIZE = 50 * 1024 * 1024  # PicHub's limit for one file
_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}  # all that PicHub takes
# Option -> form field; booleans go as 1/0, the form PicHub documents for is_public.
_FLAGS = {"auto_rename": "auto_rename", "convert_to_webp": "convertToWebP"}
_FLAGS |= {"is_public": "is_public", "remove_exif": "remove_exif"}
_OPTIONS = sorted(("album_id", "batch_size", "format", "quality", "token", "url", *_FLAGS))
_BOOLS = {"true": "1", "1": "1", "yes": "1", "false": "0", "0": "0", "no": "0"}
_FORMATS = ("auto", "jpeg", "png", "webp")
_NAMES = ("original_name", "original_filename", "originalName")  # the name a file was sent as
_FILE_KEY = re.compile(r"(?:files|file|image)(?:\.|\[)(\d+)\]?")  # Laravel's "files.1"
_WEBP = (
    "PicHub converts every upload to WebP unless told not to (its convertToWebP is on by "
    "default): set convert_to_webp = false in the host profile to keep the original format"
)
Part = tuple[str, tuple[str, IO[bytes], str]]
Slot = Mapping[str, Any] | str | None  # a file's reply item, its error message, or nothing
_REFUSED = "PicHub refused this file of the batch"
_ADVICE: dict[int, tuple[type[HostError], str]] = {
    400: (HostError, "PicHub refused the request as malformed (HTTP 400)"),
    401: (AuthError, "PicHub rejected the token: check 'token' (an API token from PicHub)"),
    403: (AuthError, "PicHub refused access: the token may not upload, or the account is off"),
    404: (HostError, "PicHub answered 404: is 'url' the API base (…/api/v1) and album_id yours?"),
    413: (
        HostError,
        "PicHub refused the upload as too large: it takes up to 50 MB a file (a proxy may limit "
        "the whole request, which carries the batch: then lower batch_size)",
    ),
    415: (HostError, "PicHub refused the file type: it takes only JPG, PNG, WebP and GIF"),
    422: (HostError, "PicHub refused the fields: check quality (1-100), format and album_id"),
    507: (HostError, "PicHub's storage for this account is full: delete images or upgrade"),
}


class PicHubHost:
    """Uploads to PicHub, a batch of files a request, waiting its upload budget out in line."""

    type_name: ClassVar[str] = "pichub"

    def __init__(self, profile: HostProfile, http: httpx.Client) -> None:
        self._settings = _read_options(profile)
        self._http = http
        self._errors = HostErrors(self.identity, (self._settings.token,))
        self._pacer = RateBudget("PicHub's upload limit", self._errors)

    def __repr__(self) -> str:
        # Spelled out so the token can never appear in a repr.
        return f"PicHubHost({self._settings.url!r}, token=set)"

    @property
    def identity(self) -> str:
        return f"pichub {self._settings.url}"

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

    def upload_batch(self, requests: Sequence[UploadRequest]) -> list[UploadResult | HostError]:
        # What PicHub would refuse is refused here, so the rest of the batch still goes up.
        outcomes: list[UploadResult | HostError | None] = [self._refusal(r) for r in requests]
        with ExitStack() as streams:
            parts: list[Part] = []
            for index, request in enumerate(requests):
                try:
                    if outcomes[index] is None:
                        stream = streams.enter_context(request.path.open("rb"))
                        parts.append(("files[]", (request.filename, stream, request.mime)))
                except OSError as exc:
                    reason = f"{request.path} can't be read: {exc.strerror or exc}"
                    outcomes[index] = self._error(reason)
            sent = [index for index, outcome in enumerate(outcomes) if outcome is None]
            if sent:
                response = self._post(parts)
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
            size = f"{request.size / 1024 / 1024:.1f} MB"
            return self._error(f"{request.filename} is {size}, above PicHub's 50 MB a file")
        return None

    def _error(self, message: str, status: int | None = None, said: str | None = None) -> HostError:
        """One file's error, for the list upload_batch returns; redacted like the raised ones."""
        said = self._errors.redact(said) if said else None
        redacted = self._errors.redact(message)
        return HostError(redacted, host=self.identity, status=status, host_message=said)

    def _post(self, parts: list[Part]) -> httpx.Response:
        self._pacer.reserve(len(parts))  # RateLimited here means nothing was sent
        url, token, fields = self._settings.url, self._settings.token, self._settings.fields
        headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
        try:
            with self._errors.transport(url):
                response = self._http.post(
                    f"{url}/upload", headers=headers, data=fields, files=parts
                )
        except BaseException:
            self._pacer.settle(len(parts), None)
            raise
        self._pacer.settle(len(parts), response)
        return response

    def _results(
        self, response: httpx.Response, sent: list[UploadRequest]
    ) -> list[UploadResult | HostError]:
        code, body = response.status_code, json_object(response)
        if code in REDIRECTS or code >= 400:
            self._fail_by_status(response, _said(body))
        if body is None:
            advice = "the reply is not from the PicHub API; is 'url' the API base (…/api/v1)?"
            quoted = self._errors.quote(response.text)
            self._errors.fail(HostError, f"{advice} It began: {quoted}", code)
        if body.get("success") is False:
            self._errors.fail(HostError, "PicHub refused the upload", code, _said(body))
        data = body.get("data")
        items = [data] if isinstance(data, Mapping) else data if isinstance(data, list) else None
        if items is None:
            self._errors.fail(HostError, "PicHub reported success but sent no data", code)
        # Files refused in a request that partly went up: a list of items, or Laravel's map.
        errors, failed = body.get("errors"), {}
        if isinstance(errors, list):
            items = items + [{"success": False, **e} for e in errors if isinstance(e, Mapping)]
        elif isinstance(errors, Mapping):
            for key, value in errors.items():
                if (match := _FILE_KEY.fullmatch(str(key))) is not None:
                    failed[int(match.group(1))] = "; ".join(_words(value)) or "refused"
        slots = _match([i for i in items if isinstance(i, Mapping)], failed, sent)
        return [self._outcome(s, r, code) for s, r in zip(slots, sent, strict=True)]

    def _outcome(self, slot: Slot, request: UploadRequest, code: int) -> UploadResult | HostError:
        if slot is None:
            return self._error(
                f"PicHub's reply does not say what became of {request.filename}: it may be stored "
                "anyway; look in the PicHub library",
                code,
            )
        if isinstance(slot, str) or slot.get("success") is False:
            return self._error(_REFUSED, code, slot if isinstance(slot, str) else _said(slot))
        url = _url(slot)
        if url is None:
            said = _said(slot)
            if said:  # an item that carries an error but no success flag
                return self._error(_REFUSED, code, said)
            return self._error("PicHub reported success for this file but sent no URL", code)
        ident = slot.get("id")
        handle = {"id": str(ident)} if type(ident) in (str, int) and str(ident) else {}
        webp = url.partition("?")[0].lower().endswith(".webp") and request.mime != "image/webp"
        warning = f"stored as WebP: {_WEBP}" if webp and self._settings.webp_by_default else None
        return UploadResult(url, handle, warning)

    def _fail_by_status(self, response: httpx.Response, said: str | None) -> NoReturn:
        code, headers = response.status_code, response.headers
        if code in REDIRECTS:
            where = headers.get("Location", "elsewhere")
            advice = f"PicHub redirected the upload to {where}: check 'url' (https, …/api/v1)"
            self._errors.fail(HostError, advice, code, said)
        if code == 429:
            wait = retry_after(headers.get("Retry-After"))
            if wait is None and (reset := reset_at(headers, time.time())) is not None:
                wait = max(0.0, reset - time.time())
            self._errors.rate_limited("PicHub asks us to slow down (HTTP 429)", wait, code, said)
        if code in _ADVICE:
            self._errors.fail(*_ADVICE[code], code, said)
        cls = TransientHostError if code >= 500 else HostError
        advice = f"PicHub {'had a server error' if code >= 500 else 'refused'} (HTTP {code})"
        if said:
            self._errors.fail(cls, advice, code, said)
        self._errors.fail(cls, f"{advice}; it began: {self._errors.quote(response.text)}", code)


def _whole(value: Any) -> int | None:
    """A whole number from a header or the configuration (where `${VAR}` yields text)."""
    if isinstance(value, str):
        return int(value) if value.strip().isdigit() else None
    return value if type(value) is int else None


def _url(item: Mapping[str, Any]) -> str | None:
    links = item.get("links")
    links_url = links.get("url") if isinstance(links, Mapping) else None
    for value in (item.get("url"), links_url, item.get("cdn_url")):
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return None


def _words(value: Any) -> list[str]:
    """The messages in an error's details, whatever their shape (text, list, field map)."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Mapping):
        return _words(value["message"]) if "message" in value else _words(list(value.values()))
    return [word for item in value for word in _words(item)] if isinstance(value, list) else []


def _said(body: Mapping[str, Any] | None) -> str | None:
    """The host's own words from either error shape: `error: {message, details}`, or flat."""
    error = body.get("error") if body else None
    if isinstance(error, Mapping):
        message, details = error.get("message"), error.get("details")
    elif body:
        message, details = error or body.get("message"), body.get("errors")
    else:
        return None
    said = message.strip() if isinstance(message, str) else ""
    extra = [word for word in _words(details) if word != said][:3]
    if extra:
        said = f"{said} ({'; '.join(extra)})" if said else "; ".join(extra)
    return said or None


def _match(
    items: list[Mapping[str, Any]], failed: dict[int, str], sent: Sequence[UploadRequest]
) -> list[Slot]:
    """Each file's reply item: by the name it was sent as, when the reply says it, else by order."""
    slots: list[Slot] = [failed.get(index) for index in range(len(sent))]
    waiting: dict[str, deque[int]] = {}
    for index, request in enumerate(sent):
        if slots[index] is None:
            waiting.setdefault(request.filename, deque()).append(index)
    unnamed = []
    for item in items:
        name = next((item[k] for k in _NAMES if isinstance(item.get(k), str)), None)
        if queue := waiting.get(name or ""):
            slots[queue.popleft()] = item
        else:
            unnamed.append(item)
    free = [index for index, slot in enumerate(slots) if slot is None]
    if len(unnamed) == len(free):  # else a URL could land on the wrong file: leave them empty
        for index, item in zip(free, unnamed, strict=True):
            slots[index] = item
    return slots


@dataclass(frozen=True)
class _Settings:
    url: str
    token: str
    batch_size: int
    fields: dict[str, str]

    @property
    def webp_by_default(self) -> bool:
        """True when the profile chose no output format, so PicHub's WebP default applies."""
        return "convertToWebP" not in self.fields and "format" not in self.fields


def _read_options(profile: HostProfile) -> _Settings:
    """Check a profile's options; ConfigError naming the file and the key."""

    def bad(problem: str) -> NoReturn:
        raise ConfigError(f"host profile {profile.name!r}: {problem}", profile.source)

    options, fields = profile.options, {}
    for key in options:
        if key not in _OPTIONS:
            bad(f"unknown key {key!r} for type pichub (known: {', '.join(_OPTIONS)})")
    url = options.get("url", DEFAULT_URL)
    if not isinstance(url, str) or not url.strip().startswith(("http://", "https://")):
        bad(f"'url' must be the API base, starting with http:// or https://: '{DEFAULT_URL}'")
    url = url.strip().rstrip("/")
    if "?" in url or "#" in url:
        bad("'url' must not hold a query or fragment; the token goes in 'token'")
    token = options.get("token")
    # The value is never quoted in these messages: it is a secret.
    if not isinstance(token, str) or not token.strip():
        bad("'token' is required (is its variable set?): an API token from PicHub")
    token = token.strip()
    if not token.isascii() or not token.isprintable() or " " in token:
        bad("'token' holds spaces or characters a token can't have")
    batch_size = _whole(options.get("batch_size", 5))
    if batch_size is None or not 1 <= batch_size <= 20:
        bad("'batch_size' must be a whole number from 1 to 20 (files a request)")
    if "album_id" in options:
        album = options["album_id"]
        if not (isinstance(album, str) and album.strip()) and (_whole(album) or 0) < 1:
            bad("'album_id' must be a positive number or a non-empty string")
        fields["album_id"] = str(album).strip()
    if "quality" in options:
        quality = _whole(options["quality"])
        if quality is None or not 1 <= quality <= 100:
            bad("'quality' must be a whole number from 1 to 100")
        fields["quality"] = str(quality)
    if "format" in options:
        fmt = options["format"]
        if not isinstance(fmt, str) or fmt.strip().lower() not in _FORMATS:
            bad(f"'format' must be one of {', '.join(_FORMATS)}")
        fields["format"] = fmt.strip().lower()
    why = {"convert_to_webp": f" ({_WEBP})", "is_public": " (PicHub's default, 1, is public)"}
    for key, name in _FLAGS.items():
        if key in options:
            value = options[key]
            word = str(value).strip().lower() if type(value) in (bool, int, str) else ""
            if word not in _BOOLS:
                bad(f"'{key}' must be true or false{why.get(key, '')}")
            fields[name] = _BOOLS[word]
    return _Settings(url, token, batch_size, fields)
