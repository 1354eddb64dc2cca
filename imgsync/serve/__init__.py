"""`imgsync serve`: a local server speaking PicGo's protocol, so that editors (Obsidian's
"Image auto upload" plugin, Typora, VS Code extensions) upload through imgsync's engine.

    POST /upload     JSON {"list": ["/abs/path.png"]}, or multipart/form-data files, or no
                     file at all (the clipboard); -> {"success", "result": [URL...], "fullResult"}
    POST /delete     JSON {"list": [fullResult item or URL...]}: images this project uploaded
    POST /heartbeat  -> {"success": true, "result": "alive"} (GET too)

It listens on 127.0.0.1 only. With a key (`--key`, or IMGSYNC_SERVE_KEY), /upload and /delete
want it as PicList's `?key=` or PicGo's `Authorization: Bearer`. A request from a web page (an
`Origin` of http:// or https://) or to another Host than this machine's (DNS rebinding) is
refused: a page open in a browser must not make the server upload the user's files. One line
is logged a request, the key never in it. Ctrl-C stops it.
"""

from __future__ import annotations

import hmac
import json
import signal
import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..config import Settings
from ..errors import ConfigError
from ..picgo_protocol import (
    HEARTBEAT_PATH,
    KEY_PARAMETER,
    SECRET_PARAMETER,
    UPLOAD_PATH,
    failure_reply,
    heartbeat_reply,
)
from .actions import Reply, Uploads
from .clipboard import NoClipboard, clipboard_image
from .multipart import FormError, FormFile, form_files

DEFAULT_PORT = 36677
DELETE_PATH = "/delete"
MOST_BYTES = 128 * 1024 * 1024  # the largest request body taken
LOCAL_NAMES = ("127.0.0.1", "localhost")


def serve(
    settings: Settings,
    *,
    host_name: str | None,
    port: int,
    key: str | None,
    say: Callable[[str], None],
) -> int:
    """Serve until Ctrl-C (or SIGTERM); the exit status. ConfigError before listening when
    the host can't be used (no profile, no token): every upload would fail."""
    from ..upload import open_host

    with open_host(settings, host_name) as host:  # builds it: the options and the token
        identity = host.identity
    uploads = Uploads(settings, host_name)
    handler = _handler(uploads, key or None, port, say)
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        raise ConfigError(
            f"can't listen on 127.0.0.1:{port}: {error.strerror or error} (is PicGo or PicList"
            " running on it? quit it, or choose another --port)"
        ) from None
    server.daemon_threads = True
    bound = server.server_address[1]
    for stop in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C even where a shell ignored it
        signal.signal(stop, _interrupt)
    say(
        f"imgsync serve: listening on http://127.0.0.1:{bound}/upload for {settings.root},"
        f" uploading to {identity}{' (a key is required)' if key else ''}; Ctrl-C stops"
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    say("imgsync serve: stopped")
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _handler(
    uploads: Uploads, key: str | None, port: int, say: Callable[[str], None]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "imgsync"
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line of our own a request (_log), never the query with the key

        def _answer(self) -> None:
            started = time.monotonic()
            reply = self._route()
            data = json.dumps(reply.body, ensure_ascii=False).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            took = time.monotonic() - started
            path = urlsplit(self.path).path
            say(f"{self.command} {path} {reply.status} {reply.said} ({took:.2f} s)")

        def _route(self) -> Reply:
            path = urlsplit(self.path).path.rstrip("/") or "/"
            if (refused := self._foreign()) is not None:
                return refused
            if path == HEARTBEAT_PATH:
                return Reply(heartbeat_reply(), "alive")
            if path not in (UPLOAD_PATH, DELETE_PATH) or self.command != "POST":
                return Reply(
                    failure_reply(f"no {self.command} {path} here: POST /upload, /delete"),
                    "not found",
                    404,
                )
            if key is not None and not self._has_key():
                message = "wrong or missing key: send it as ?key=, as PicList does"
                return Reply(failure_reply(message), "refused: wrong or missing key", 401)
            try:
                body = self._body()
            except ValueError as error:
                return Reply(failure_reply(str(error)), f"refused: {error}", 400)
            if path == DELETE_PATH:
                return self._delete(body)
            return self._upload(body)

        def _foreign(self) -> Reply | None:
            origin = self.headers.get("Origin", "")
            host = self.headers.get("Host", "").rsplit(":", 1)[0].strip("[]")
            if origin.lower().startswith(("http://", "https://")):
                why = f"a request from a web page ({origin}) is refused"
            elif host and host not in LOCAL_NAMES:
                why = f"a request for another host ({host}) is refused"
            else:
                return None
            return Reply(failure_reply(why), f"refused: {why}", 403)

        def _has_key(self) -> bool:
            query = parse_qs(urlsplit(self.path).query)
            given = [*query.get(KEY_PARAMETER, []), *query.get(SECRET_PARAMETER, [])]
            bearer = self.headers.get("Authorization", "")
            if bearer.lower().startswith("bearer "):
                given.append(bearer[7:].strip())
            given.append(self.headers.get("X-PicGo-Secret", ""))
            assert key is not None
            return any(hmac.compare_digest(g.encode(), key.encode()) for g in given if g)

        def _body(self) -> tuple[str, bytes]:
            length = self.headers.get("Content-Length")
            if length is None:
                if self.headers.get("Transfer-Encoding"):
                    raise ValueError("send the body with a Content-Length")
                return "", b""
            try:
                size = int(length)
            except ValueError:
                raise ValueError("Content-Length is not a number") from None
            if not 0 <= size <= MOST_BYTES:
                raise ValueError(f"the body is over {MOST_BYTES // (1024 * 1024)} MB")
            return self.headers.get("Content-Type", ""), self.rfile.read(size)

        def _upload(self, body: tuple[str, bytes]) -> Reply:
            kind, data = body
            if kind.lower().startswith("multipart/form-data"):
                try:
                    return uploads.by_forms(form_files(kind, data))
                except FormError as error:
                    return Reply(failure_reply(str(error)), f"refused: {error}", 400)
            listed = _listed(data)
            if isinstance(listed, str):
                return Reply(failure_reply(listed), f"refused: {listed}", 400)
            if listed:
                return uploads.by_paths(listed)
            try:  # no file named: the clipboard, as PicGo does
                image = clipboard_image()
            except NoClipboard as error:
                return Reply(failure_reply(str(error)), "refused: no clipboard image")
            return uploads.by_forms([FormFile("clipboard.png", image)])

        def _delete(self, body: tuple[str, bytes]) -> Reply:
            from .deleting import delete_urls

            listed = _listed(body[1])
            if isinstance(listed, str) or not listed:
                why = listed if isinstance(listed, str) else "nothing named to delete"
                return Reply(failure_reply(why), f"refused: {why}", 400)
            with uploads.lock:
                problems = delete_urls(uploads.settings, uploads.host_name, listed)
            if problems:
                message = "; ".join(problems)
                return Reply(failure_reply(message), f"failed: {message}")
            return Reply({"success": True, "message": "deleted"}, f"{len(listed)} deleted")

    return Handler


def _listed(data: bytes) -> list[Any] | str:
    """The `list` of a JSON body ([] when there is none: the clipboard), or why it is unusable."""
    if not data.strip():
        return []
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        return 'the body is not JSON (send {"list": [paths]} or a multipart form)'
    listed = body.get("list") if isinstance(body, dict) else None
    if listed is None:
        return []
    if not isinstance(listed, list):
        return "`list` must be a list of paths"
    return listed


def print_line(line: str) -> None:
    """One log line on stderr, made safe to print (a file name comes from a request)."""
    from ..terminal import safe_line

    print(safe_line(line), file=sys.stderr, flush=True)
