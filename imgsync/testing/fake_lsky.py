"""A fake Lsky Pro 2.x server on loopback that acts like the real one (hosts.md), odd parts too."""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import html
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.parser import HeaderParser
from email.utils import collapse_rfc2231_value
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import SHUT_RDWR, socket
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

DEFAULT_TOKEN = "1|" + "f4k3" * 10  # a Sanctum token's shape: id, bar, 40 characters
_ALLOWED = "png jpg jpeg gif webp bmp tif tiff ico psd svg"  # Lsky's default extension list
EXTENSIONS = frozenset(_ALLOWED.split())
PER_PAGE = 40  # Lsky's paginator size is fixed
Fault = Literal["429", "quota", "500", "502", "redirect", "html"]
Part = tuple[str | None, bytes, str]  # (filename or None for a plain field, bytes, content type)
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
class _Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def wants_json(self) -> bool:
        # Laravel's expectsJson(): JSON only for clients whose first choice is JSON.
        return "json" in self.headers.get("accept", "").split(",")[0]


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Record:
    key: str
    owner: str | None  # None for a guest upload
    album_id: str | None
    seq: int
    data: dict[str, Any]


def _json(status: int, payload: Mapping[str, Any]) -> _Reply:
    return _Reply(status, json.dumps(payload, ensure_ascii=False).encode())


def _html(status: int, title: str, text: str = "", **headers: str) -> _Reply:
    page = f"<!DOCTYPE html>\n<html>\n<head><title>{title}</title></head>\n<body>\n"
    page += f"<center><h1>{title}</h1></center>\n{text}\n</body>\n</html>\n"
    return _Reply(status, page.encode(), "text/html; charset=UTF-8", dict(headers))


def _not_found() -> _Reply:
    return _html(404, "404 Not Found")


def _refuse(message: str) -> _Reply:
    # Lsky's business errors are HTTP 200; only `status` says it failed.
    return _json(200, {"status": False, "message": message, "data": {}})


def parse_multipart(content_type: str, body: bytes) -> dict[str, Part]:
    """Split a multipart/form-data body into field name -> (filename, bytes, content type)."""
    outer = HeaderParser().parsestr(f"Content-Type: {content_type}\n\n")
    boundary = outer.get_boundary()
    if outer.get_content_type() != "multipart/form-data" or not boundary:
        raise ValueError("not a multipart/form-data body")
    # Parts follow CRLF--boundary; a leading CRLF makes the first delimiter look the same.
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
    if len(chunks) < 2 or not chunks[-1].startswith(b"--"):
        raise ValueError("the multipart body has no closing boundary")
    parts: dict[str, Part] = {}
    for chunk in chunks[1:-1]:
        head, blank, data = chunk.partition(b"\r\n\r\n")
        if not blank:
            raise ValueError("a multipart part has no blank line after its headers")
        headers = HeaderParser().parsestr(head.decode("utf-8", "replace").lstrip())
        name = headers.get_param("name", header="content-disposition")
        ctype = headers.get_content_type() if "content-type" in headers else "text/plain"
        if name is not None:
            parts[collapse_rfc2231_value(name)] = (headers.get_filename(), data, ctype)
    return parts


@dataclass(eq=False, kw_only=True)
class FakeLsky:
    """A Lsky Pro 2.x API at `.url` once started; the public fields are switches tests may flip."""

    token: str | None = field(default=DEFAULT_TOKEN, repr=False)  # the one valid bearer token
    guest_uploads: bool = True
    api_enabled: bool = True  # off: 403 JSON, or an HTML 404 without the Accept header
    max_size_kb: float = 5120
    strategies: set[int] = field(default_factory=lambda: {1})
    capacity_kb: float | None = None  # the account's storage; None for unlimited
    rate_limit: int | None = 60  # API requests a minute, as Laravel's throttle counts them
    latency: float = 0.0  # seconds to wait before each reply
    quota_unit: str = "分钟"  # 分钟/小时/天/周/月, for the "quota" fault
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port
    log_requests: bool = False
    requests: int = field(default=0, init=False)  # every request, any path
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _stopped: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _faults: deque[Fault] = field(default_factory=deque, init=False, repr=False)
    _uploads: list[ReceivedUpload] = field(default_factory=list, init=False, repr=False)
    _records: list[_Record] = field(default_factory=list, init=False, repr=False)
    _paths: dict[str, str] = field(default_factory=dict, init=False, repr=False)  # md5.ext -> path
    _files: dict[str, Part] = field(default_factory=dict, init=False, repr=False)  # path -> file
    _window: tuple[float, int] = field(default=(0.0, 0), init=False, repr=False)
    _server: _Server | None = field(default=None, init=False, repr=False)

    @property
    def site(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeLsky is not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.site}/api/v1"

    @property
    def uploads(self) -> list[ReceivedUpload]:
        with self._lock:
            return list(self._uploads)

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        """Answer the next `times` uploads with `fault` instead of handling them."""
        with self._lock:
            self._faults.extend([fault] * times)

    def start(self) -> FakeLsky:
        self._stopped.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.fake = self
        name = f"fake-lsky-{self._server.server_address[1]}"
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)  # quick stop()
        threading.Thread(target=serve, name=name, daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            self._stopped.set()  # wakes handlers waiting out `latency`
            server.shutdown()
            server.close_connections()
            server.server_close()

    def __enter__(self) -> FakeLsky:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _respond(self, req: _Request) -> _Reply:
        """Answer one request; the HTTP handler around it only moves bytes."""
        with self._lock:
            self.requests += 1
            start, hits = self._window
            now = time.monotonic()
            self._window = (start, hits + 1) if now - start < 60 else (now, 1)
            hits = self._window[1]
        if self.latency:
            self._stopped.wait(self.latency)
        if not req.path.startswith("/api/v1/"):
            return self._serve_file(req.path)
        reply = self._api(req, hits)
        if self.rate_limit is not None:
            reply.headers["X-RateLimit-Limit"] = str(self.rate_limit)
            reply.headers["X-RateLimit-Remaining"] = str(max(0, self.rate_limit - hits))
        return reply

    def _api(self, req: _Request, hits: int) -> _Reply:
        route = req.path.removeprefix("/api/v1/").rstrip("/")
        if not self.api_enabled:  # JSON clients are told; others see a page that isn't there
            return _json(403, {"message": "管理员未启用 API"}) if req.wants_json else _not_found()
        if self.rate_limit is not None and hits > self.rate_limit:
            return self._too_many(req)  # with no Retry-After, unlike most servers
        if (req.method, route) == ("POST", "upload"):
            return self._upload(req)
        if route == "images" or route.startswith("images/"):
            owner, denied = self._user(req)
            if denied or owner is None:
                return denied or self._unauthenticated(req)
            if (req.method, route) == ("GET", "images"):
                return self._list(owner, req.query)
            if req.method == "DELETE" and route != "images":
                key = route.removeprefix("images/")
                with self._lock:
                    self._records = [r for r in self._records if (r.key, r.owner) != (key, owner)]
                # Lsky answers success even for a key it doesn't know.
                return _json(200, {"status": True, "message": "删除成功", "data": {}})
        return _json(404, {"message": "Not Found"}) if req.wants_json else _not_found()

    def _upload(self, req: _Request) -> _Reply:
        try:
            parts = parse_multipart(req.headers.get("content-type", ""), req.body)
        except ValueError:
            parts = {}
        file = parts.pop("file", (None, b"", ""))
        fields = {k: v[1].decode("utf-8", "replace") for k, v in parts.items() if v[0] is None}
        reply, key = self._store(req, file, fields)
        seen = {k: "[redacted]" if k in _SECRET_HEADERS else v for k, v in req.headers.items()}
        md5 = hashlib.md5(file[1]).hexdigest()
        with self._lock:
            self._uploads.append(ReceivedUpload(file[0], len(file[1]), md5, fields, seen, key))
        return reply

    def _store(
        self, req: _Request, file: Part, fields: dict[str, str]
    ) -> tuple[_Reply, str | None]:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
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
        if ext not in EXTENSIONS:
            return _refuse("不支持的文件类型"), None
        if len(data) > self.max_size_kb * 1024:
            return _refuse("图片大小超出限制"), None
        md5 = hashlib.md5(data).hexdigest()
        with self._lock:
            used = sum(r.data["size"] for r in self._records if r.owner == owner)
            if self.capacity_kb is not None and used + len(data) / 1024 > self.capacity_kb:
                return _refuse("储存空间不足"), None
            # The same bytes keep their first path, so their URL never changes.
            path = self._paths.setdefault(
                f"{md5}.{ext}", f"{time.strftime('%Y/%m')}/{md5[:12]}.{ext}"
            )
            self._files[path] = file
            key = secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")  # 8 letters/digits
            record = _Record(key, owner, fields.get("album_id"), len(self._records) + 1, {})
            record.data = self._describe(key, path, file)
            self._records.append(record)
        return _json(200, {"status": True, "message": "上传成功", "data": record.data}), key

    def _describe(self, key: str, pathname: str, file: Part) -> dict[str, Any]:
        origin, data, mime = file[0] or "", file[1], file[2]
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

    def _list(self, owner: str, query: Mapping[str, list[str]]) -> _Reply:
        page = int(query.get("page", ["1"])[0]) if query.get("page", [""])[0].isdigit() else 1
        album = query.get("album_id", [None])[0]  # without one: only images in no album
        order = query.get("order", ["newest"])[0]
        with self._lock:
            mine = [r for r in self._records if r.owner == owner and r.album_id == album]
        by_size = order in ("utmost", "least")
        descending = order not in ("earliest", "least")  # "newest" is the default
        mine.sort(key=lambda r: r.data["size"] if by_size else r.seq, reverse=descending)
        items = [r.data for r in mine[(max(page, 1) - 1) * PER_PAGE :][:PER_PAGE]]
        last = max(1, -(-len(mine) // PER_PAGE))
        listing = {
            "current_page": page,
            "last_page": last,
            "per_page": PER_PAGE,
            "total": len(mine),
        }
        return _json(200, {"status": True, "message": "success", "data": listing | {"data": items}})

    def _user(self, req: _Request) -> tuple[str | None, _Reply | None]:
        """(owner, None); (None, None) for a guest; (None, refusal): never a guest fallback."""
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        if not scheme:
            return None, None
        if scheme.lower() == "bearer" and self.token is not None and token.strip() == self.token:
            return "user", None
        return None, self._unauthenticated(req)

    def _unauthenticated(self, req: _Request, force_html: bool = False) -> _Reply:
        # Laravel answers JSON only to clients asking for it; others go to the login page.
        if req.wants_json and not force_html:
            return _json(401, {"message": "Unauthenticated."})
        login = f"{self.site}/login"
        link = f'Redirecting to <a href="{login}">{login}</a>.'
        return _html(302, f"Redirecting to {login}", link, Location=login)

    def _too_many(self, req: _Request) -> _Reply:
        if req.wants_json:
            return _json(429, {"message": "Too Many Attempts."})
        return _html(429, "429 Too Many Requests")

    def _fault(self, fault: Fault, req: _Request) -> _Reply:
        if fault == "429":
            return self._too_many(req)
        if fault == "quota":
            return _refuse(f"每{self.quota_unit}内你最多可以上传 20 张图片")
        if fault == "500" and req.wants_json:
            return _json(500, {"message": "Server Error"})
        if fault == "500":
            return _html(500, "500 Server Error", "<p>Whoops, looks like something went wrong.</p>")
        if fault == "502":
            return _html(502, "502 Bad Gateway", "<hr><center>nginx</center>")
        if fault == "redirect":  # what a rejected token gets when Accept is missing
            return self._unauthenticated(req, force_html=True)
        return _html(200, "Lsky Pro", "<p>Welcome to Lsky Pro, the image hosting site.</p>")

    def _serve_file(self, path: str) -> _Reply:
        if path == "/login":
            return _html(200, "Login - Lsky Pro", '<form method="post" action="/login"></form>')
        with self._lock:
            found = self._files.get(path.removeprefix("/i/")) if path.startswith("/i/") else None
        if found is None:
            return _not_found()
        return _Reply(200, found[1], found[2] or "application/octet-stream")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeLsky

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        # Idle keep-alive connections would otherwise keep their threads until the client leaves.
        with self._connections_lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a read timeout) is expected here, not a failure


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real server behind nginx
    disable_nagle_algorithm = True  # headers and body go out in two writes: don't stall them
    server: _Server

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "Bad request body")
            return
        url = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        req = _Request(self.command, url.path, parse_qs(url.query), headers, body)
        reply = self.server.fake._respond(req)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_DELETE = _dispatch

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass  # trailers
            return bytes(body)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.log_requests:
            super().log_message(format, *args)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake Lsky until Ctrl-C: `python -m imgsync.testing.fake_lsky --port 0`."""
    parser = argparse.ArgumentParser(prog="python -m imgsync.testing.fake_lsky")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the one valid bearer token")
    parser.add_argument("--no-guest", action="store_true", help="refuse guest uploads")
    parser.add_argument("--max-size-kb", type=float, default=5120)
    parser.add_argument("--quiet", action="store_true", help="don't log requests")
    args = parser.parse_args(argv)
    fake = FakeLsky(
        token=args.token,
        guest_uploads=not args.no_guest,
        max_size_kb=args.max_size_kb,
        host=args.host,
        port=args.port,
        log_requests=not args.quiet,
    )
    with fake:
        print(fake.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)  # the server runs in its thread; this only waits for Ctrl-C
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
