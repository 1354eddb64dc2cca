"""The loopback HTTP machinery every fake image host shares: server, requests, replies, faults."""

from __future__ import annotations

import contextlib
import functools
import json
import random
import socket
import ssl
import struct
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.parser import HeaderParser
from email.utils import collapse_rfc2231_value
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Generic, Literal, NamedTuple, Self, TypeVar
from urllib.parse import parse_qs, parse_qsl, urlsplit

REDACTED = "[redacted]"
HOLD_AT_MOST = 30.0  # seconds a reply waits for `hold_until` requests
GenericFault = Literal["reset", "hang"]  # every fake understands these; compose them into yours
FaultT = TypeVar("FaultT", bound=str)


class Part(NamedTuple):
    """One form field: a plain field has no filename; its value is `data`."""

    filename: str | None
    data: bytes
    content_type: str


class Form(Mapping[str, Part]):
    """A form body as a multi-dict: `form[name]` is the first part of that name, `.parts` all.

    Repeated names (PicHub's `files[]`) are all kept, in the order they came.
    """

    def __init__(self, parts: Iterable[tuple[str, Part]] = ()) -> None:
        self.parts: list[tuple[str, Part]] = list(parts)

    def __getitem__(self, name: str) -> Part:
        for key, part in self.parts:
            if key == name:
                return part
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key for key, _ in self.parts))

    def __len__(self) -> int:
        return len(dict.fromkeys(key for key, _ in self.parts))

    def __repr__(self) -> str:
        return f"Form({self.parts!r})"

    def getall(self, name: str) -> list[Part]:
        return [part for key, part in self.parts if key == name]

    def fields(self) -> dict[str, str]:
        """The plain (non-file) fields as text, the first value of each name."""
        found: dict[str, str] = {}
        for key, part in self.parts:
            if part.filename is None:
                found.setdefault(key, part.data.decode("utf-8", "replace"))
        return found


def parse_multipart(content_type: str, body: bytes) -> Form:
    """Split a multipart/form-data body into its parts; ValueError if it is not one."""
    outer = HeaderParser().parsestr(f"Content-Type: {content_type}\n\n")
    boundary = outer.get_boundary()
    if outer.get_content_type() != "multipart/form-data" or not boundary:
        raise ValueError("not a multipart/form-data body")
    # Parts follow CRLF--boundary; a leading CRLF makes the first delimiter look the same.
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
    if len(chunks) < 2 or not chunks[-1].startswith(b"--"):
        raise ValueError("the multipart body has no closing boundary")
    form = Form()
    for chunk in chunks[1:-1]:
        head, blank, data = chunk.partition(b"\r\n\r\n")
        if not blank:
            raise ValueError("a multipart part has no blank line after its headers")
        headers = HeaderParser().parsestr(head.decode("utf-8", "replace").lstrip())
        name = headers.get_param("name", header="content-disposition")
        ctype = headers.get_content_type() if "content-type" in headers else "text/plain"
        if name is not None:
            form.parts.append(
                (collapse_rfc2231_value(name), Part(headers.get_filename(), data, ctype))
            )
    return form


def redacted(values: Mapping[str, str], secret: Collection[str]) -> dict[str, str]:
    """A copy with the values of the `secret` names (lower-case) replaced, for records."""
    return {k: REDACTED if k.lower() in secret else v for k, v in values.items()}


@dataclass(frozen=True)
class Request:
    """One HTTP request as a fake sees it; the handler around it only moves bytes."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    client: str = "127.0.0.1"  # the peer's IP address
    raw_query: str = ""  # the query as sent (`query` drops blank values): for forwarding

    @property
    def wants_json(self) -> bool:
        # Laravel's expectsJson(): JSON only for clients whose first choice is JSON.
        return "json" in self.headers.get("accept", "").split(",")[0]

    def form(self) -> Form:
        """The body as a form (multipart or URL-encoded); empty when it is neither or broken."""
        ctype = self.headers.get("content-type", "")
        if ctype.lower().startswith("application/x-www-form-urlencoded"):
            pairs = parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
            return Form((k, Part(None, v.encode(), "text/plain")) for k, v in pairs)
        try:
            return parse_multipart(ctype, self.body)
        except ValueError:
            return Form()


@dataclass
class Reply:
    """What to answer; `action` "reset" drops the connection, "hang" never answers."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    action: Literal["send", "reset", "hang"] = "send"


def json_reply(status: int, payload: Mapping[str, Any], **headers: str) -> Reply:
    return Reply(status, json.dumps(payload, ensure_ascii=False).encode(), headers=dict(headers))


def html_reply(status: int, title: str, text: str = "", **headers: str) -> Reply:
    page = f"<!DOCTYPE html>\n<html>\n<head><title>{title}</title></head>\n<body>\n"
    page += f"<center><h1>{title}</h1></center>\n{text}\n</body>\n</html>\n"
    return Reply(status, page.encode(), "text/html; charset=UTF-8", dict(headers))


def not_found() -> Reply:
    return html_reply(404, "404 Not Found")


@dataclass(eq=False, kw_only=True)
class FakeServer(ABC, Generic[FaultT]):
    """A fake host on loopback once started; subclasses answer requests in `respond`.

    The public fields are switches tests may flip while it runs. `fail_next`
    queues faults that the subclass takes with `take_fault` wherever its real
    host would fail (usually the upload), and turns into replies; the generic
    "reset" and "hang" faults become replies through `generic_fault`.
    """

    api_path: ClassVar[str] = ""  # the API base under the site, e.g. "/api/v1"

    latency: float = 0.0  # seconds to wait before each reply
    latency_max: float | None = None  # if set, each reply waits uniformly latency..latency_max
    # After the first POST (an upload; imgsync sends it alone, to try the host), replies to
    # POSTs wait until this many POSTs have come (at most HOLD_AT_MOST seconds): a test that
    # needs several uploads in flight at once gets them however loaded the machine is.
    hold_until: int = 0
    # Called with each POST as it arrives, before it is answered (in the connection's thread):
    # a test sees what the client had done by the time its first upload came.
    on_post: Callable[[Request], None] | None = None
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port
    log_requests: bool = False
    tls: ssl.SSLContext | None = None  # serve HTTPS with this context (its certificate)
    # Each upload fails with probability `fault_rate`, by one of `random_faults` at random
    # (after the faults queued by fail_next); `seed` makes the sequence repeatable.
    fault_rate: float = 0.0
    random_faults: tuple[FaultT, ...] = ()
    seed: int | None = None
    requests: int = field(default=0, init=False)  # every request, any path
    # How many replies of each status were sent; "reset" and "hang" count as 0.
    statuses: Counter[int] = field(default_factory=Counter, init=False)
    most_at_once: int = field(default=0, init=False)  # the most requests being answered at once
    first_post_at: float | None = field(default=None, init=False)  # time.time() it arrived
    _at_once: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _stopped: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _arrived: threading.Condition = field(init=False, repr=False)  # on _lock: hold_until
    _posts: int = field(default=0, init=False, repr=False)
    _faults: deque[FaultT] = field(default_factory=deque, init=False, repr=False)
    _server: _Server | None = field(default=None, init=False, repr=False)
    _random: random.Random = field(default_factory=random.Random, init=False, repr=False)

    def __post_init__(self) -> None:
        self._random.seed(self.seed)
        self._arrived = threading.Condition(self._lock)

    @property
    def site(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.host}:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.site}{self.api_path}"

    def fail_next(self, fault: FaultT, times: int = 1) -> None:
        """Answer the next `times` uploads with `fault` instead of handling them."""
        with self._lock:
            self._faults.extend([fault] * times)

    def take_fault(self) -> FaultT | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            if self.random_faults and self._random.random() < self.fault_rate:
                return self._random.choice(self.random_faults)
            return None

    def generic_fault(self, fault: str) -> Reply | None:
        """The reply for "reset" or "hang"; None for a fault the subclass must answer."""
        if fault == "reset":
            return Reply(0, action="reset")
        if fault == "hang":
            return Reply(0, action="hang")
        return None

    @abstractmethod
    def respond(self, req: Request) -> Reply:
        """Answer one request (after `latency`); runs in the connection's thread."""

    def start(self) -> Self:
        self._stopped.clear()
        self._server = _Server((self.host, self.port), _Handler)
        if self.tls is not None:  # each connection's handshake then happens as it is accepted
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._server.fake = self
        name = f"fake-{type(self).__name__.lower()}-{self._server.server_address[1]}"
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)  # quick stop()
        threading.Thread(target=serve, name=name, daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            self._stopped.set()  # wakes handlers waiting out `latency` or a "hang"
            with self._arrived:  # ...or held for `hold_until`
                self._arrived.notify_all()
            server.shutdown()
            server.close_connections()
            server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, req: Request) -> Reply:
        with self._arrived:
            self.requests += 1
            self._at_once += 1
            self.most_at_once = max(self.most_at_once, self._at_once)
            if req.method == "POST":
                self._posts += 1
                if self.first_post_at is None:
                    self.first_post_at = time.time()
            if self.hold_until and req.method == "POST" and self._posts > 1:
                self._arrived.notify_all()
                self._arrived.wait_for(
                    lambda: self._posts >= self.hold_until or self._stopped.is_set(),
                    timeout=HOLD_AT_MOST,
                )
        try:
            if req.method == "POST" and self.on_post is not None:
                self.on_post(req)
            return self._answer(req)
        finally:
            with self._lock:
                self._at_once -= 1

    def _answer(self, req: Request) -> Reply:
        if self.latency_max is not None:
            with self._lock:
                delay = self._random.uniform(self.latency, self.latency_max)
            self._stopped.wait(delay)
        elif self.latency:
            self._stopped.wait(self.latency)
        reply = self.respond(req)
        with self._lock:
            self.statuses[reply.status] += 1
        return reply


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer[Any]

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
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
                    conn.shutdown(socket.SHUT_RDWR)

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
        query = parse_qs(url.query)
        req = Request(
            self.command, url.path, query, headers, body, self.client_address[0], url.query
        )
        reply = self.server.fake._serve(req)
        if reply.action != "send":
            self._drop(reply.action == "hang")
            return
        self.send_response(reply.status)
        # A HEAD reply has no body but tells the length of the one a GET would get.
        length = str(len(reply.body))
        for name, value in reply.headers.items():
            if name.lower() == "content-length":
                length = value if self.command == "HEAD" else length
            else:
                self.send_header(name, value)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch

    def _drop(self, hang: bool) -> None:
        if hang:
            self.server.fake._stopped.wait()  # a server that took the request and went silent
        self.close_connection = True
        # Linger 0: close() sends a TCP reset, as a crashed backend or a killed proxy would.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

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


def serve_until_interrupted(fake: FakeServer[Any]) -> int:
    """Run `fake`, print its URL, and wait for Ctrl-C: the body of each fake's `main`."""
    # Ctrl-C is suppressed from the moment the URL is printed: a caller may send it as soon
    # as it has read the URL, before this thread has come back from print() to wait.
    with fake, contextlib.suppress(KeyboardInterrupt):
        print(fake.url, flush=True)
        threading.Event().wait()  # the server runs in its thread; this only waits
    return 0
