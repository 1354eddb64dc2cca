"""A fake Lsky Pro 2.x server on loopback that acts like the real one (hosts.md), odd parts too."""

from __future__ import annotations

import hashlib
import html
import math
import random
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

from .command_line import fake_parser, serve
from .fake_lsky_pages import (
    ALBUM_FIELDS,
    album_filter,
    listed_image,
    ordered,
    page_number,
    paginate,
)
from .http import (
    FakeServer,
    GenericFault,
    Part,
    Reply,
    Request,
    html_reply,
    json_reply,
    not_found,
    parse_multipart,
    redacted,
)

__all__ = ["DEFAULT_TOKEN", "FakeLsky", "Fault", "ReceivedUpload", "parse_multipart"]

DEFAULT_TOKEN = "1|" + "f4k3" * 10  # a Sanctum token's shape: id, bar, 40 characters
_ALLOWED = "png jpg jpeg gif webp bmp tif tiff ico psd svg"  # Lsky's default extension list
EXTENSIONS = frozenset(_ALLOWED.split())
Fault = Literal["429", "quota", "500", "502", "redirect", "html"] | GenericFault
_SECRET_HEADERS = frozenset({"authorization", "cookie", "token"})


@dataclass(frozen=True)
class ReceivedUpload:
    """One POST /upload as the server read it; `key` is None unless the image was stored."""

    filename: str | None
    size: int
    md5: str
    fields: dict[str, str]
    headers: dict[str, str]  # lower-case names; secret values replaced by "[redacted]"
    key: str | None


@dataclass
class _Record:
    key: str
    owner: str | None  # None for a guest upload
    album_id: int | None
    seq: int
    data: dict[str, Any]
    created_at: int = 0  # Unix seconds: MySQL's timestamp keeps no fraction


@dataclass
class _Album:
    id: int
    owner: str
    name: str
    created_at: float
    intro: str = ""
    image_num: int = 0  # Lsky's own count, kept by upload and delete (not by album deletes)


def _refuse(message: str) -> Reply:
    # Lsky's business errors are HTTP 200; only `status` says it failed.
    return json_reply(200, {"status": False, "message": message, "data": {}})


@dataclass(eq=False, kw_only=True)
class FakeLsky(FakeServer[Fault]):
    """A Lsky Pro 2.x API at `.url` once started; the public fields are switches tests may flip."""

    api_path: ClassVar[str] = "/api/v1"

    token: str | None = field(default=DEFAULT_TOKEN, repr=False)  # the one valid bearer token
    guest_uploads: bool = True
    api_enabled: bool = True  # off: 403 JSON, or an HTML 404 without the Accept header
    max_size_kb: float = 5120
    strategies: set[int] = field(default_factory=lambda: {1})
    capacity_kb: float | None = None  # the account's storage; None for unlimited
    rate_limit: int | None = 60  # API requests a window, as Laravel's throttle counts them
    rate_window: float = 60.0  # seconds; Lsky's throttle counts a minute
    reset_header: bool = False  # also send X-RateLimit-Reset (Lsky doesn't; proxies may)
    quota_unit: str = "分钟"  # 分钟/小时/天/周/月, for the "quota" fault
    account_name: str = "writer"  # the signed-in user's name, as GET /profile shows it
    # Lsky Pro+ reads `album_id` on upload; the open-source server ignores it and puts an
    # account's uploads in the album its settings page names (默认上传相册), if any.
    plus: bool = False
    default_album: int | None = None
    shuffle_ties: bool = False  # images of the same second come in any order, per query
    albums: list[str] = field(default_factory=list)  # names of the albums it starts with
    extensions: frozenset[str] = EXTENSIONS  # a group's allowed types (an admin may add avif)
    album_listings: int = field(default=0, init=False)  # GET /albums answered
    _uploads: list[ReceivedUpload] = field(default_factory=list, init=False, repr=False)
    _records: list[_Record] = field(default_factory=list, init=False, repr=False)
    _paths: dict[str, str] = field(default_factory=dict, init=False, repr=False)  # md5.ext -> path
    _files: dict[str, Part] = field(default_factory=dict, init=False, repr=False)  # path -> file
    _window: tuple[float, int] = field(default=(0.0, 0), init=False, repr=False)
    _albums: dict[int, _Album] = field(default_factory=dict, init=False, repr=False)
    _ids: int = field(default=0, init=False, repr=False)  # the last image's id
    _album_ids: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in self.albums:
            self.add_album(name)

    # ---- test hooks: what only Lsky's web pages can do ---------------------------------

    def add_album(self, name: str, *, owner: str = "user") -> int:
        """Create an album as the web page does (the API can't); its id."""
        with self._lock:
            self._album_ids += 1
            self._albums[self._album_ids] = _Album(self._album_ids, owner, name, time.time())
            return self._album_ids

    def move_to_album(self, key: str, album_id: int | None) -> None:
        """Move an image into an album (or out of any), as the web page does."""
        with self._lock:
            record = next(r for r in self._records if r.key == key)
            for old in (record.album_id, album_id):
                if old in self._albums:
                    self._albums[old].image_num += 1 if old == album_id else -1
            record.album_id = album_id

    def stored(self) -> dict[str, int | None]:
        """Every stored image: key -> its album's id (None: in no album)."""
        with self._lock:
            return {r.key: r.album_id for r in self._records}

    def album_names(self) -> dict[int, str]:
        with self._lock:
            return {a.id: a.name for a in self._albums.values()}

    @property
    def uploads(self) -> list[ReceivedUpload]:
        with self._lock:
            return list(self._uploads)

    def respond(self, req: Request) -> Reply:
        with self._lock:
            start, hits = self._window
            now = time.monotonic()
            self._window = (start, hits + 1) if now - start < self.rate_window else (now, 1)
            start, hits = self._window
        if not req.path.startswith(f"{self.api_path}/"):
            return self._serve_file(req.path)
        reply = self._api(req, hits)
        if self.rate_limit is not None:
            reply.headers["X-RateLimit-Limit"] = str(self.rate_limit)
            reply.headers["X-RateLimit-Remaining"] = str(max(0, self.rate_limit - hits))
            if self.reset_header:
                ends = time.time() + (start + self.rate_window - time.monotonic())
                reply.headers["X-RateLimit-Reset"] = str(math.ceil(ends))
        return reply

    def _api(self, req: Request, hits: int) -> Reply:
        route = req.path.removeprefix(f"{self.api_path}/").rstrip("/")
        if not self.api_enabled:  # JSON clients are told; others see a page that isn't there
            return (
                json_reply(403, {"message": "管理员未启用 API"}) if req.wants_json else not_found()
            )
        if self.rate_limit is not None and hits > self.rate_limit:
            return self._too_many(req)  # with no Retry-After, unlike most servers
        if (req.method, route) == ("POST", "upload"):
            return self._upload(req)
        if (req.method, route) == ("GET", "profile"):  # behind auth:sanctum, guests included
            owner, denied = self._user(req)
            if denied or owner is None:
                return denied or self._unauthenticated(req)
            return self._profile(owner)
        if route == "images" or route.startswith("images/"):
            owner, denied = self._user(req)
            if denied or owner is None:
                return denied or self._unauthenticated(req)
            if (req.method, route) == ("GET", "images"):
                return self._list(owner, req.path, req.query)
            if req.method == "DELETE" and route != "images":
                self._delete(owner, route.removeprefix("images/"))
                # Lsky answers success even for a key it doesn't know.
                return json_reply(200, {"status": True, "message": "删除成功", "data": {}})
        if route == "albums" or route.startswith("albums/"):
            owner, denied = self._user(req)
            if denied or owner is None:
                return denied or self._unauthenticated(req)
            if (req.method, route) == ("GET", "albums"):
                with self._lock:
                    self.album_listings += 1
                return self._list_albums(owner, req.path, req.query)
            if req.method == "DELETE" and route != "albums":
                with self._lock:  # a query delete: the database sets the images' album_id null
                    gone = {
                        a.id
                        for a in self._albums.values()
                        if a.owner == owner and str(a.id) == route.removeprefix("albums/")
                    }
                    self._albums = {i: a for i, a in self._albums.items() if i not in gone}
                    for record in self._records:
                        record.album_id = None if record.album_id in gone else record.album_id
                return json_reply(200, {"status": True, "message": "删除成功", "data": {}})
        return json_reply(404, {"message": "Not Found"}) if req.wants_json else not_found()

    def _upload(self, req: Request) -> Reply:
        form = req.form()
        file = form.get("file", Part(None, b"", ""))
        fields = {k: v for k, v in form.fields().items() if k != "file"}
        reply, key = self._store(req, file, fields)
        seen = redacted(req.headers, _SECRET_HEADERS)
        md5 = hashlib.md5(file.data).hexdigest()
        with self._lock:
            self._uploads.append(
                ReceivedUpload(file.filename, len(file.data), md5, fields, seen, key)
            )
        return reply

    def _store(self, req: Request, file: Part, fields: dict[str, str]) -> tuple[Reply, str | None]:
        fault = self.take_fault()
        if fault is not None:
            return self._fault(fault, req), None
        owner, denied = self._user(req)
        if denied:
            return denied, None
        filename, data, _ = file
        strategy = fields.get("strategy_id")
        ext = filename.rpartition(".")[2].lower() if filename and "." in filename else ""
        if owner is None and not self.guest_uploads:
            return _refuse("管理员关闭了游客上传"), None
        if filename is None:
            return _refuse("file 字段必须是一个文件。"), None
        if strategy is not None and strategy not in map(str, self.strategies):
            return _refuse("选定的策略不存在"), None
        if ext not in self.extensions:
            return _refuse("不支持的文件类型"), None
        if len(data) > self.max_size_kb * 1024:
            return _refuse("图片大小超出限制"), None
        md5 = hashlib.md5(data).hexdigest()
        with self._lock:
            # Summed only when there is a capacity to check: over every record kept, it made
            # the fake's CPU grow with each upload (a benchmark's fake keeps thousands).
            if self.capacity_kb is not None:
                used = sum(r.data["size"] for r in self._records if r.owner == owner)
                if used + len(data) / 1024 > self.capacity_kb:
                    return _refuse("储存空间不足"), None
            # The same bytes keep their first path, so their URL never changes.
            path = self._paths.setdefault(
                f"{md5}.{ext}", f"{time.strftime('%Y/%m')}/{md5[:12]}.{ext}"
            )
            self._files[path] = file
            key = secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")  # 8 letters/digits
            album = self._album_for(owner, fields.get("album_id"))
            self._ids += 1
            record = _Record(key, owner, album, self._ids, {}, int(time.time()))
            record.data = self._describe(key, path, file)
            self._records.append(record)
            if album is not None:
                self._albums[album].image_num += 1
        return json_reply(200, {"status": True, "message": "上传成功", "data": record.data}), key

    def _album_for(self, owner: str | None, asked: str | None) -> int | None:
        """The album an upload lands in (lock held): Lsky Pro+ reads `album_id`, the
        open-source server the account's default album; each only if the account has it."""
        if owner is None:
            return None
        wanted = self.default_album
        if self.plus and asked is not None:
            wanted = int(asked) if asked.isdigit() else None
        album = self._albums.get(wanted) if wanted is not None else None
        return album.id if album is not None and album.owner == owner else None

    def _delete(self, owner: str, key: str) -> None:
        with self._lock:
            for record in [r for r in self._records if (r.key, r.owner) == (key, owner)]:
                if record.album_id in self._albums:
                    self._albums[record.album_id].image_num -= 1
                self._records.remove(record)

    def _describe(self, key: str, pathname: str, file: Part) -> dict[str, Any]:
        origin, data, mime = file.filename or "", file.data, file.content_type
        url, alt = f"{self.site}/i/{pathname}", html.escape(origin)
        links = {
            "url": url,
            "html": html.escape(f'<img src="{url}" alt="{alt}" title="{alt}" />'),
            "bbcode": f"[img]{url}[/img]",
            "markdown": f"![{origin}]({url})",
            "markdown_with_link": f"[![{origin}]({url})]({url})",
            "thumbnail_url": f"{self.site}/thumbnails/{hashlib.md5(data).hexdigest()}.png",
        }
        return {
            "key": key,
            "name": pathname.rpartition("/")[2],
            "pathname": pathname,
            "origin_name": origin,
            "size": round(len(data) / 1024, 2),  # KB, as Lsky reports it
            "mimetype": mime,
            "extension": pathname.rpartition(".")[2],
            "md5": hashlib.md5(data).hexdigest(),
            "sha1": hashlib.sha1(data).hexdigest(),
            "links": links,
        }

    def _profile(self, owner: str) -> Reply:
        """The fields Lsky's UserController makes visible, and no others."""
        with self._lock:
            mine = [r for r in self._records if r.owner == owner]
            used = sum(r.data["size"] for r in mine)
        profile = {
            "name": self.account_name,
            "avatar": f"{self.site}/avatar.png",
            "email": f"{self.account_name}@example.com",
            "capacity": self.capacity_kb or 0,
            "used_capacity": used,
            "url": "",
            "image_num": len(mine),
            "album_num": sum(a.owner == owner for a in self._albums.values()),
            "registered_ip": "127.0.0.1",
        }
        return json_reply(200, {"status": True, "message": "success", "data": profile})

    def _list(self, owner: str, path: str, query: Mapping[str, list[str]]) -> Reply:
        album = album_filter(query)  # without one: only the images in no album
        order = query.get("order", [""])[0] or "newest"
        with self._lock:
            mine = [r for r in self._records if r.owner == owner and r.album_id == album]
        ties = random.Random() if self.shuffle_ties else None
        rows = ordered(
            mine, order, lambda r: r.created_at, lambda r: r.data["size"], shuffle_ties=ties
        )
        now = time.time()
        items = [listed_image(r.data, r.created_at, now) for r in rows]
        listing = paginate(items, page_number(query), f"{self.url}/images", query)
        return json_reply(200, {"status": True, "message": "success", "data": listing})

    def _list_albums(self, owner: str, path: str, query: Mapping[str, list[str]]) -> Reply:
        order = query.get("order", [""])[0] or "newest"
        with self._lock:
            mine = [a for a in self._albums.values() if a.owner == owner]
        if order == "most":
            mine.sort(key=lambda a: a.image_num, reverse=True)
        elif order == "least":
            mine.sort(key=lambda a: a.image_num)
        else:
            mine.sort(key=lambda a: a.created_at, reverse=order != "earliest")
        items = [{k: getattr(a, k) for k in ALBUM_FIELDS} for a in mine]
        listing = paginate(items, page_number(query), f"{self.url}/albums", query)
        return json_reply(200, {"status": True, "message": "success", "data": listing})

    def _user(self, req: Request) -> tuple[str | None, Reply | None]:
        """(owner, None); (None, None) for a guest; (None, refusal): never a guest fallback."""
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        if not scheme:
            return None, None
        if scheme.lower() == "bearer" and self.token is not None and token.strip() == self.token:
            return "user", None
        return None, self._unauthenticated(req)

    def _unauthenticated(self, req: Request, force_html: bool = False) -> Reply:
        # Laravel answers JSON only to clients asking for it; others go to the login page.
        if req.wants_json and not force_html:
            return json_reply(401, {"message": "Unauthenticated."})
        login = f"{self.site}/login"
        link = f'Redirecting to <a href="{login}">{login}</a>.'
        return html_reply(302, f"Redirecting to {login}", link, Location=login)

    def _too_many(self, req: Request) -> Reply:
        if req.wants_json:
            return json_reply(429, {"message": "Too Many Attempts."})
        return html_reply(429, "429 Too Many Requests")

    def _fault(self, fault: Fault, req: Request) -> Reply:
        generic = self.generic_fault(fault)
        if generic is not None:
            return generic
        if fault == "429":
            return self._too_many(req)
        if fault == "quota":
            return _refuse(f"每{self.quota_unit}内你最多可以上传 20 张图片")
        if fault == "500" and req.wants_json:
            return json_reply(500, {"message": "Server Error"})
        if fault == "500":
            page = "<p>Whoops, looks like something went wrong.</p>"
            return html_reply(500, "500 Server Error", page)
        if fault == "502":
            return html_reply(502, "502 Bad Gateway", "<hr><center>nginx</center>")
        if fault == "redirect":  # what a rejected token gets when Accept is missing
            return self._unauthenticated(req, force_html=True)
        return html_reply(200, "Lsky Pro", "<p>Welcome to Lsky Pro, the image hosting site.</p>")

    def alter_served_file(self, url: str, data: bytes | None) -> None:
        """A test's hand on the host's disk, behind its API: the file at `url` (one this fake
        served) replaced by `data`, or gone for None. Its record stays (listing still shows
        it): what an admin's cleanup or a broken storage leaves. KeyError for an unknown URL."""
        path = url.removeprefix(f"{self.site}/i/")
        with self._lock:
            found = self._files[path]
            if data is None:
                del self._files[path]
            else:
                self._files[path] = found._replace(data=data)

    def _serve_file(self, path: str) -> Reply:
        if path == "/login":
            return html_reply(
                200, "Login - Lsky Pro", '<form method="post" action="/login"></form>'
            )
        with self._lock:
            found = self._files.get(path.removeprefix("/i/")) if path.startswith("/i/") else None
        if found is None:
            return not_found()
        return Reply(200, found.data, found.content_type or "application/octet-stream")


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake Lsky until Ctrl-C: `python -m imgsync.testing.fake_lsky --port 0`."""
    parser = fake_parser("imgsync.testing.fake_lsky")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the one valid bearer token")
    parser.add_argument("--no-guest", action="store_true", help="refuse guest uploads")
    parser.add_argument(
        "--plus", action="store_true", help="play Lsky Pro+: uploads land in their album_id"
    )
    parser.add_argument(
        "--album", action="append", default=[], help="an album of the account (repeatable)"
    )
    parser.add_argument("--max-size-kb", type=float, default=5120)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument(
        "--latency-max", type=float, help="each reply waits at random from --latency to this"
    )
    parser.add_argument(
        "--rate-limit", type=int, default=60, help="requests a window (0: no limit)"
    )
    parser.add_argument("--rate-window", type=float, default=60.0, help="seconds")
    parser.add_argument(
        "--reset-header", action="store_true", help="send X-RateLimit-Reset, as Lsky doesn't"
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of uploads that fail (0 to 1)"
    )
    parser.add_argument(
        "--faults",
        default="500,502,reset,hang",
        help="comma list of the ways they fail: 429 quota 500 502 redirect html reset hang",
    )
    args = parser.parse_args(argv)
    faults = tuple(f for f in args.faults.split(",") if f)
    known = {name for member in get_args(Fault) for name in get_args(member)}
    unknown = sorted(set(faults) - known)
    if unknown:
        parser.error(f"unknown fault(s): {', '.join(unknown)}")
    return serve(
        args,
        FakeLsky,
        albums=args.album,
        plus=args.plus,
        token=args.token,
        guest_uploads=not args.no_guest,
        max_size_kb=args.max_size_kb,
        rate_limit=args.rate_limit or None,
        rate_window=args.rate_window,
        reset_header=args.reset_header,
        fault_rate=args.fault_rate,
        random_faults=faults,  # checked against Fault above
        latency=args.latency,
        latency_max=args.latency_max,
    )


if __name__ == "__main__":
    raise SystemExit(main())
