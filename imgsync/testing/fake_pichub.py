"""A fake PicHub API on loopback that acts like the real one (hosts.md), in every variant."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import secrets
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple

from .command_line import fake_parser, serve
from .http import (
    FakeServer,
    GenericFault,
    Part,
    Reply,
    Request,
    html_reply,
    json_reply,
    not_found,
)
from .http import redacted as redact

DEFAULT_TOKEN = "ph_" + "f4k3" * 10
Fault = Literal["429", "500", "502", "html"] | GenericFault
FILE_FIELDS = ("files[]", "file", "image")  # the docs say files[]; other examples file or image
STYLES = frozenset({"object", "list", "error_object", "flat"})
_SECRET_HEADERS = frozenset({"authorization", "cookie"})
_BOOLS = {"1": True, "true": True, "0": False, "false": False}
# convertToWebP and is_public are on unless the client turns them off.
_FLAGS = {"convertToWebP": "1", "is_public": "1", "remove_exif": "0", "auto_rename": "0"}
_FORMATS = {name: (ext, f"image/{name}") for name, ext in (("jpeg", "jpg"), ("png", "png"))}
_FORMATS["webp"] = ("webp", "image/webp")
_MAGIC = {b"\x89PNG\r\n\x1a\n": ("png", "image/png"), b"\xff\xd8\xff": ("jpg", "image/jpeg")}
_MAGIC |= {b"GIF87a": ("gif", "image/gif"), b"GIF89a": ("gif", "image/gif")}
_API_WINDOWS = {"minute": (0, 1), "hour": (1, 60), "day": (2, 1440)}  # limit index, windows
Item = dict[str, Any]
MAX_PER_PAGE = 100  # the most images a listing page holds, whatever per_page asks


class ReceivedFile(NamedTuple):
    """One file part of an upload request; `field` is files[], file or image."""

    field: str
    filename: str | None
    size: int
    md5: str
    content_type: str


@dataclass(frozen=True)
class ReceivedUpload:
    """One POST /upload as the server read it, and what it answered."""

    files: tuple[ReceivedFile, ...]
    fields: dict[str, str]  # the plain form fields
    headers: dict[str, str]  # lower-case names; secret values replaced by "[redacted]"
    status: int  # the reply's HTTP status; 0 when the connection was dropped or hung
    ids: tuple[str, ...]  # the images stored


@dataclass
class _Window:
    """A fixed rate-limit window that opens at the first hit after the last one closed."""

    limit: int
    length: float
    start: float = -math.inf
    used: int = 0

    def headers(self) -> dict[str, str]:
        # The reset is rounded up, so a client that waits until then finds the window closed.
        reset, left = math.ceil(self.start + self.length), max(0, self.limit - self.used)
        names = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
        return dict(zip(names, map(str, (self.limit, left, reset)), strict=True))


class _Refusal(Exception):
    """An error reply: HTTP status, PicHub's code, message, details and extra headers."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers: dict[str, str] = {}
        self.filename: str | None = None

    def body(self) -> Item:
        return {"code": self.code, "message": self.message}


@dataclass(eq=False, kw_only=True)
class FakePicHub(FakeServer[Fault]):
    """A PicHub API at `.url` (and under /v1) once started; public fields are switches to flip.

    `response_style` picks the reply shapes: "object" (one file's `data` is an object) or "list"
    (always a list), and "error_object" (`error: {code, message, details}`) or "flat"
    (`message` and `errors`); join two with "+", e.g. "list+flat".

    The library: `GET /images` lists the newest first, `per_page` (default 20, PicHub's
    documented default) up to MAX_PER_PAGE, with the counts in `meta` (`listing_style`
    "meta") or the whole page as a Laravel paginator in `data` ("paginator");
    `DELETE /images/{id}` answers 404 NOT_FOUND for an id not (or no longer) there;
    `GET /albums` gives each album's `images_count`. `remove` and
    `delete_between_pages` delete as another client of the account would.
    """

    api_path: ClassVar[str] = "/api/v1"

    token: str = field(default=DEFAULT_TOKEN, repr=False)  # the one valid bearer token
    response_style: str = "object+error_object"
    request_limits: tuple[int, int, int] = (60, 1000, 10000)  # API requests a minute/hour/day
    upload_limit: int | None = 10  # files a window; None for no limit
    window_seconds: float = 60.0  # the "minute"; the hour and the day scale with it
    max_size_mb: float = 50
    storage_full: bool = False  # every upload gets 507
    listing_style: Literal["meta", "paginator"] = "meta"
    list_requests: list[dict[str, str]] = field(default_factory=list, init=False)  # queries
    now: Callable[[], float] = time.time
    _uploads: list[ReceivedUpload] = field(default_factory=list, init=False, repr=False)
    _images: dict[str, tuple[Item, Part]] = field(default_factory=dict, init=False, repr=False)
    _albums: dict[int, Item] = field(default_factory=dict, init=False, repr=False)
    _windows: dict[str, _Window] = field(default_factory=dict, init=False, repr=False)
    _after_page: dict[int, list[str]] = field(default_factory=dict, init=False, repr=False)

    @property
    def uploads(self) -> list[ReceivedUpload]:
        with self._lock:
            return list(self._uploads)

    @property
    def image_ids(self) -> list[str]:
        """The ids of the images stored now, oldest first: the fake's own records."""
        with self._lock:
            return list(self._images)

    def album_of(self, ident: str) -> int | None:
        with self._lock:
            album: int | None = self._images[ident][0]["album_id"]
            return album

    def remove(self, ident: str) -> bool:
        """Delete an image as another client (the web page, a teammate) would."""
        with self._lock:
            return self._images.pop(ident, None) is not None

    def delete_between_pages(self, after_page: int, ident: str) -> None:
        """Delete `ident` right after the next listing of page `after_page` is answered."""
        with self._lock:
            self._after_page.setdefault(after_page, []).append(ident)

    def respond(self, req: Request) -> Reply:
        base = next((p for p in (self.api_path, "/v1") if req.path.startswith(f"{p}/")), None)
        if base is None:
            return self._cdn(req.path)
        route = req.path.removeprefix(f"{base}/").rstrip("/")
        upload = (req.method, route) == ("POST", "upload")
        ids: list[str] = []
        try:
            with self._lock:
                self._count_request()
            reply = self._upload(req, ids) if upload else self._other(req, route)
        except _Refusal as refusal:
            reply = self._error(refusal)
        # Every reply tells a budget: upload replies the tighter one, files a window.
        told = "uploads" if upload and self.upload_limit is not None else "minute"
        with self._lock:
            reply.headers = self._window(told).headers() | reply.headers
            if upload:
                self._record(req, reply.status, ids)
        return reply

    def _window(self, name: str) -> _Window:
        """A window as it is now, started afresh when a test changed its limit or length."""
        if name == "uploads":
            limit, length = self.upload_limit or 0, self.window_seconds
        else:
            index, scale = _API_WINDOWS[name]
            limit, length = self.request_limits[index], self.window_seconds * scale
        window = self._windows.get(name)
        if window is None or (window.limit, window.length) != (limit, length):
            window = self._windows[name] = _Window(limit, length)
        if self.now() >= window.start + window.length:
            window.start, window.used = self.now(), 0
        return window

    def _count_request(self) -> None:
        windows = [self._window(name) for name in _API_WINDOWS]
        for window in windows:
            if window.used >= window.limit:
                raise self._too_many(window, "Too many requests")
        for window in windows:
            window.used += 1

    def _too_many(self, window: _Window, message: str) -> _Refusal:
        refusal = _Refusal(429, "RATE_LIMIT_EXCEEDED", message)
        wait = max(1, math.ceil(window.start + window.length - self.now()))
        refusal.headers = window.headers() | {"Retry-After": str(wait)}
        return refusal

    def _record(self, req: Request, status: int, ids: list[str]) -> None:
        form, headers = req.form(), redact(req.headers, _SECRET_HEADERS)
        files = [(n, p.filename, p.data, p.content_type) for n, p in form.parts if p.filename]
        received = tuple(
            ReceivedFile(n, f, len(d), hashlib.md5(d).hexdigest(), t) for n, f, d, t in files
        )
        self._uploads.append(ReceivedUpload(received, form.fields(), headers, status, tuple(ids)))

    def _upload(self, req: Request, ids: list[str]) -> Reply:
        fault = self.take_fault()
        if fault is not None:
            return self._fault(fault)
        self._authorize(req)
        form = req.form()
        parts = [p for n, p in form.parts if n in FILE_FIELDS and p.filename is not None]
        options = self._options(form.fields(), has_files=bool(parts))
        with self._lock:
            if options["album_id"] is not None and options["album_id"] not in self._albums:
                raise _Refusal(404, "ALBUM_NOT_FOUND", "Album not found")
            if self.upload_limit is not None:  # counted in files, not requests
                window = self._window("uploads")
                if window.used + len(parts) > window.limit:
                    raise self._too_many(window, f"Upload limit of {window.limit} files reached")
                window.used += len(parts)
        if self.storage_full:
            raise _Refusal(507, "STORAGE_FULL", "Storage quota exceeded")
        outcomes: list[Item | _Refusal] = []
        for part in parts:
            try:
                outcomes.append(self._store(part, options))
            except _Refusal as refusal:
                refusal.filename = part.filename
                outcomes.append(refusal)
        ids.extend(o["id"] for o in outcomes if isinstance(o, dict))
        return self._outcomes(outcomes)

    def _authorize(self, req: Request) -> None:
        scheme, _, given = req.headers.get("authorization", "").partition(" ")
        valid = hmac.compare_digest(given.strip().encode(), self.token.encode())
        if scheme.lower() != "bearer" or not valid:
            raise _Refusal(401, "UNAUTHORIZED", "Invalid or missing API token")

    def _options(self, fields: dict[str, str], has_files: bool) -> Item:
        """The upload options with the server's defaults; 422 listing every bad one."""
        problems: dict[str, list[str]] = {}
        if not has_files:
            problems["files"] = ["The files field is required."]
        options: Item = {}
        for name, default in _FLAGS.items():
            value = fields.get(name, default).strip().lower()
            if value not in _BOOLS:
                problems[name] = [f"The {name} field must be true or false."]
            options[name] = _BOOLS.get(value, False)
        quality, fmt, album = fields.get("quality", "85"), fields.get("format", "auto"), None
        if not quality.isdigit() or not 1 <= int(quality) <= 100:
            problems["quality"] = ["The quality field must be between 1 and 100."]
        if fmt not in ("auto", *_FORMATS):
            problems["format"] = ["The selected format is invalid."]
        if "album_id" in fields:
            album = int(fields["album_id"]) if fields["album_id"].isdigit() else None
            if album is None:
                problems["album_id"] = ["The album id field must be an integer."]
        if problems:
            raise _Refusal(422, "VALIDATION_ERROR", "The given data was invalid.", problems)
        return options | {"format": fmt, "album_id": album}

    def _store(self, part: Part, options: Item) -> Item:
        data, name = part.data, part.filename or ""
        kind = next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), None)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            kind = _FORMATS["webp"]
        if kind is None:
            what = "SVG files are not supported" if b"<svg" in data[:512] else "Unsupported type"
            raise _Refusal(415, "UNSUPPORTED_MEDIA_TYPE", f"{what}: {name} (jpg, png, webp, gif)")
        if len(data) > self.max_size_mb * 1024 * 1024:
            limit = f"{self.max_size_mb:g} MB"
            raise _Refusal(413, "FILE_TOO_LARGE", f"{name} exceeds the maximum size of {limit}")
        if options["format"] != "auto":
            kind = _FORMATS[options["format"]]
        elif options["convertToWebP"]:
            kind = _FORMATS["webp"]  # the bytes are kept as they came: a fake doesn't re-encode
        ident = secrets.token_urlsafe(8).replace("-", "x").replace("_", "y")
        url = f"{self.site}/cdn/{ident}.{kind[0]}"
        item: Item = {
            "id": ident,
            "original_name": name,
            "filename": f"{ident}.{kind[0]}",
            "url": url,
        }
        item |= {"cdn_url": url, "size": len(data), "mime_type": kind[1]}
        item |= {"album_id": options["album_id"], "is_public": options["is_public"]}
        item["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.now()))
        with self._lock:
            self._images[ident] = (item, Part(name, data, kind[1]))
        return item

    def _outcomes(self, outcomes: list[Item | _Refusal]) -> Reply:
        stored = [o for o in outcomes if isinstance(o, dict)]
        refused = {i: o for i, o in enumerate(outcomes) if isinstance(o, _Refusal)}
        if not refused:
            data: Any = stored[0] if len(stored) == 1 and "list" not in self._styles() else stored
            return json_reply(200, {"success": True, "message": "Upload successful", "data": data})
        details = {f"files.{i}": [r.message] for i, r in refused.items()}
        if not stored:  # one status for the request: the files' own when they agree
            first = refused[min(refused)]
            if len({r.status for r in refused.values()}) > 1:
                first = _Refusal(422, "VALIDATION_ERROR", "None of the files were uploaded")
            raise _Refusal(first.status, first.code, first.message, details)
        # Some stored and some not: 207, each refusal in the shape of the error style.
        body: Item = {"success": True, "message": f"{len(stored)} of {len(outcomes)} uploaded"}
        if "flat" in self._styles():
            return json_reply(207, body | {"data": stored, "errors": details})
        failed = [
            {"original_name": o.filename, "success": False, "error": o.body()}
            for o in outcomes
            if isinstance(o, _Refusal)
        ]
        body["data"] = [o if isinstance(o, dict) else failed.pop(0) for o in outcomes]
        return json_reply(207, body)

    def _other(self, req: Request, route: str) -> Reply:
        self._authorize(req)
        if (req.method, route) == ("GET", "images"):
            return self._list(req)
        if req.method == "DELETE" and route.startswith("images/"):  # irreversible
            with self._lock:
                if self._images.pop(route.removeprefix("images/"), None) is None:
                    raise _Refusal(404, "NOT_FOUND", "Image not found")
            return json_reply(200, {"success": True, "message": "Image deleted"})
        if (req.method, route) == ("GET", "albums"):
            with self._lock:
                counts = Counter(item["album_id"] for item, _ in self._images.values())
                albums = [a | {"images_count": counts[a["id"]]} for a in self._albums.values()]
            return json_reply(200, {"success": True, "data": albums})
        if (req.method, route) == ("POST", "albums"):
            fields = req.form().fields()
            with contextlib.suppress(ValueError, AttributeError):  # a JSON body, most likely
                fields = {k: str(v) for k, v in json.loads(req.body).items()}
            if not fields.get("name"):
                details = {"name": ["The name field is required."]}
                raise _Refusal(422, "VALIDATION_ERROR", "The given data was invalid.", details)
            public = _BOOLS.get(fields.get("is_public", "1").lower(), True)
            with self._lock:
                ident = len(self._albums) + 1
                made = {"id": ident, "name": fields["name"], "is_public": public}
                self._albums[ident] = made | {"description": fields.get("description")}
                return json_reply(201, {"success": True, "data": self._albums[ident]})
        raise _Refusal(404, "NOT_FOUND", "Route not found")

    def _list(self, req: Request) -> Reply:
        """One page of the account's images (or an album's), the newest first."""
        query = {k: v[0] for k, v in req.query.items() if v}
        page = _number(query.get("page", "")) or 1
        per_page = min(MAX_PER_PAGE, _number(query.get("per_page", "")) or 20)
        album = query.get("album_id")
        with self._lock:
            self.list_requests.append(query)
            newest = [item for item, _ in reversed(self._images.values())]
            items = [i for i in newest if album in (None, str(i["album_id"]))]
            total, start = len(items), (page - 1) * per_page
            shown = items[start : start + per_page]
            for ident in self._after_page.pop(page, []):
                self._images.pop(ident, None)
        counts: Item = {"current_page": page, "per_page": per_page, "total": total}
        counts["last_page"] = max(1, math.ceil(total / per_page))
        counts |= {"from": start + 1 if shown else None, "to": start + len(shown) or None}
        if self.listing_style == "paginator":
            body = {"success": True, "data": counts | {"data": shown}}
        else:
            body = {"success": True, "data": shown, "meta": counts}
        return json_reply(200, body)

    def _styles(self) -> set[str]:
        styles = set(self.response_style.split("+"))
        if not styles <= STYLES:
            raise ValueError(f"unknown response_style {self.response_style!r}")
        return styles

    def _error(self, refusal: _Refusal) -> Reply:
        if "flat" in self._styles():
            body = {"success": False, "message": refusal.message, "errors": refusal.details or {}}
        else:
            error = refusal.body() | {"details": refusal.details}
            body = {"success": False, "error": error}
        return json_reply(refusal.status, body, **refusal.headers)

    def _fault(self, fault: Fault) -> Reply:
        generic = self.generic_fault(fault)
        if generic is not None:
            return generic
        if fault == "429":  # as if other clients of the account had spent the window
            with self._lock:
                window = self._window("minute" if self.upload_limit is None else "uploads")
                refusal = self._too_many(window, "Upload limit reached")
            refusal.headers["X-RateLimit-Remaining"] = "0"
            return self._error(refusal)
        if fault == "500":
            return self._error(_Refusal(500, "INTERNAL_ERROR", "Internal server error"))
        if fault == "502":
            return html_reply(502, "502 Bad Gateway", "<hr><center>cloudflare</center>")
        return html_reply(200, "PicHub", "<p>Fast image hosting for developers.</p>")

    def reencode_served_file(self, url: str, data: bytes, content_type: str) -> None:
        """A test's hand on the CDN: the image at `url` served as `data` from now on, as the
        real PicHub serves a WebP it made of the upload. KeyError for an unknown URL."""
        ident = url.removeprefix(f"{self.site}/cdn/").rpartition(".")[0]
        with self._lock:
            item, part = self._images[ident]
            self._images[ident] = (item, Part(part.filename, data, content_type))

    def _cdn(self, path: str) -> Reply:
        # Like cdn.pichub.app/{id}.webp?w=&h=, but the resizing query is ignored.
        ident = path.removeprefix("/cdn/").rpartition(".")[0] if path.startswith("/cdn/") else ""
        with self._lock:
            found = self._images.get(ident)
        return not_found() if found is None else Reply(200, found[1].data, found[1].content_type)


def _number(text: str) -> int:
    """A positive whole number from a query value; 0 when it is anything else."""
    return max(0, int(text)) if text.isdigit() else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake PicHub until Ctrl-C: `python -m imgsync.testing.fake_pichub --port 0`."""
    parser = fake_parser("imgsync.testing.fake_pichub")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the one valid bearer token")
    parser.add_argument("--upload-limit", type=int, default=10, help="files a window")
    parser.add_argument("--window-seconds", type=float, default=60.0)
    parser.add_argument("--max-size-mb", type=float, default=50)
    parser.add_argument("--response-style", default="object+error_object")
    args = parser.parse_args(argv)
    options = {k: v for k, v in vars(args).items() if k not in ("host", "port", "quiet")}
    return serve(args, FakePicHub, **options)


if __name__ == "__main__":
    raise SystemExit(main())
