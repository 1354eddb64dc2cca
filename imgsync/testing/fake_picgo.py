"""A fake PicGo or PicList server on loopback, acting like the real ones (docs/picgo.md).

It reads the paths it is given from disk (or the files of a form), "uploads" them to a
picbed held in memory, and serves them back at the URLs it returns. Two editions:

- "picgo": PicGo 3 (PicGo-Core 3's server): a secret as `Authorization: Bearer`,
  `X-PicGo-Secret` or `?secret=` (401 without it); form files in the field "files"; a
  failed file is left out of `result` with `success` still true; a thrown error a 500.
- "piclist": PicList's server: the key as `?key=` (HTTP 200, `success` false without it);
  form files in any field; `?picbed=&configName=`; `fullResult`; `success` false when no
  file went up.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Literal, get_args
from urllib.parse import quote, unquote

from ..picgo_protocol import (
    CONFIG_PARAMETER,
    DEFAULT_CONFIG,
    FORM_FIELD,
    HEARTBEAT_PATH,
    KEY_PARAMETER,
    PICBED_PARAMETER,
    PICGO_UNAUTHORIZED,
    PICLIST_BAD_KEY,
    SECRET_PARAMETER,
    UPLOAD_PATH,
    failure_reply,
    heartbeat_reply,
    success_reply,
)
from .command_line import fake_parser, serve
from .http import FakeServer, GenericFault, Reply, Request, html_reply, json_reply, not_found

__all__ = ["Edition", "FakePicGo", "Fault", "Received"]

Edition = Literal["picgo", "piclist"]
# "refuse": the picbed failed every file, said as PicList and PicGo 2's server say it (200,
# success false); "drop": the first file failed, left out of the result (PicGo 3 says no more).
Fault = Literal["refuse", "drop", "500", "502", "html"] | GenericFault
SERVER_ERROR = "connect ETIMEDOUT 203.0.113.9:443"  # what PicGo-Core's 500 says (debug on)
PICLIST_LOG = "/home/writer/.config/piclist/piclist.log"
PICLIST_FAILED = f"upload error. see {PICLIST_LOG} for more detail."
PICGO_FAILED = "upload error. see /home/writer/.config/picgo/picgo.log for more detail."


@dataclass(frozen=True)
class Received:
    """One POST /upload as the server read it: how, the files' names, bytes and MD5s."""

    how: Literal["path", "form", "clipboard"]
    paths: tuple[str, ...]  # as given ("path"), or the names of the form's files
    names: tuple[str, ...]  # the files' own names
    data: tuple[bytes | None, ...]  # None: the path could not be read
    query: dict[str, str]  # the key and secret replaced by "[redacted]"
    authorized: bool

    @property
    def md5s(self) -> tuple[str | None, ...]:
        return tuple(hashlib.md5(d).hexdigest() if d is not None else None for d in self.data)


@dataclass(eq=False, kw_only=True)
class FakePicGo(FakeServer[Fault]):
    """A PicGo or PicList server at `.url` once started; public fields are switches."""

    api_path: ClassVar[str] = ""

    edition: Edition = "picgo"
    key: str | None = field(default=None, repr=False)  # PicGo 3's secret, PicList's key
    max_size_kb: float | None = None  # the picbed's limit: a larger file fails to upload
    current: tuple[str, str] = ("github", DEFAULT_CONFIG)  # the picbed and configuration in use
    configs: dict[str, set[str]] = field(default_factory=lambda: {"github": {DEFAULT_CONFIG}})
    # The picbed's own site, as "https://cdn.example.net": its URLs then point there (and are
    # not served); None: they point at this fake, which serves them.
    link_base: str | None = None
    _received: list[Received] = field(default_factory=list, init=False, repr=False)
    _stored: dict[str, bytes] = field(default_factory=dict, init=False, repr=False)
    _picbeds: dict[str, str] = field(default_factory=dict, init=False, repr=False)  # url -> picbed

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def stored(self) -> dict[str, bytes]:
        """Every URL the picbed holds -> its bytes."""
        with self._lock:
            return {self._link(path): data for path, data in self._stored.items()}

    def picbed_of(self, url: str) -> str:
        with self._lock:
            return self._picbeds[url]

    def _link(self, path: str) -> str:
        return f"{self.link_base or self.site}/i/{quote(path)}"

    def respond(self, req: Request) -> Reply:
        if req.method == "GET" and req.path.startswith("/i/"):
            with self._lock:
                data = self._stored.get(unquote(req.path.removeprefix("/i/")))
            return Reply(200, data, "application/octet-stream") if data is not None else not_found()
        if req.method == "POST" and req.path == HEARTBEAT_PATH:
            return json_reply(200, heartbeat_reply())  # neither server asks a key for it
        if req.method == "POST" and req.path == UPLOAD_PATH:
            return self._upload(req)
        if self.edition == "piclist":  # its GET of any path is the API's help page
            if req.method == "GET":
                return html_reply(200, "PicList", "<h2>内置Server的使用</h2>")
            return json_reply(404, {"success": False})
        return json_reply(404, {"success": False, "message": "Not Found"})

    # ---- POST /upload ------------------------------------------------------------------

    def _upload(self, req: Request) -> Reply:
        authorized = self._authorized(req)
        received = self._read(req, authorized)
        with self._lock:
            self._received.append(received)
        fault = self.take_fault()
        if fault is not None:
            generic = self.generic_fault(fault)
            if generic is not None:
                return generic
            if fault in ("500", "502", "html"):
                return self._fault_page(fault)
        if not authorized:
            if self.edition == "piclist":
                return json_reply(200, failure_reply(PICLIST_BAD_KEY))
            return json_reply(401, failure_reply(PICGO_UNAUTHORIZED))
        if received.how == "clipboard":  # the clipboard of a test machine holds no image
            if self.edition == "piclist":
                return json_reply(200, failure_reply(PICLIST_FAILED))
            return json_reply(500, {**failure_reply("image not found in clipboard"), "result": []})
        if fault == "refuse":
            return json_reply(
                200, failure_reply(PICLIST_FAILED if self.edition == "piclist" else PICGO_FAILED)
            )
        picbed = self._picbed(req)
        went_up: list[tuple[str, str]] = []  # (url, name)
        for n, (name, data) in enumerate(zip(received.names, received.data, strict=True)):
            too_big = self.max_size_kb is not None and len(data or b"") > self.max_size_kb * 1024
            if data is None or too_big or (fault == "drop" and n == 0):
                continue  # the picbed refused it: PicGo leaves it out of the result
            went_up.append((self._store(name, data, picbed), name))
        return self._uploaded(went_up, picbed)

    def _uploaded(self, went_up: list[tuple[str, str]], picbed: str) -> Reply:
        urls = [url for url, _ in went_up]
        if self.edition == "picgo":
            return json_reply(200, success_reply(urls))
        if not urls:
            return json_reply(200, failure_reply(PICLIST_FAILED))
        full = [
            {
                "fileName": name,
                "extname": PurePosixPath(name).suffix,
                "imgUrl": url,
                "type": picbed,
                "isEncrypted": 1,
                "EncryptedData": f"{secrets.token_hex(16)}:{secrets.token_hex(32)}",
            }
            for url, name in went_up
        ]
        return json_reply(200, success_reply(urls, full))

    def _authorized(self, req: Request) -> bool:
        if self.key is None:
            return True
        if self.edition == "piclist":
            return req.query.get(KEY_PARAMETER, [""])[0] == self.key
        bearer = req.headers.get("authorization", "")
        if bearer:
            scheme, _, token = bearer.strip().partition(" ")
            return scheme.lower() == "bearer" and token.strip() == self.key
        if "x-picgo-secret" in req.headers:
            return req.headers["x-picgo-secret"] == self.key
        return req.query.get(SECRET_PARAMETER, [""])[0] == self.key

    def _read(self, req: Request, authorized: bool) -> Received:
        query = {
            k: "[redacted]" if k in (KEY_PARAMETER, SECRET_PARAMETER) else v[0]
            for k, v in req.query.items()
        }
        if req.headers.get("content-type", "").startswith("multipart/form-data"):
            form = req.form()
            parts = [
                part
                for name, part in form.parts
                if part.filename is not None and (self.edition == "piclist" or name == FORM_FIELD)
            ]
            names = tuple(PurePosixPath(p.filename or "").name for p in parts)
            # Both servers write a request's files into one folder by name: a repeated name
            # is the last file's bytes for each.
            last = {PurePosixPath(p.filename or "").name: p.data for p in parts}
            data = tuple(last[n] for n in names)
            return Received("form", names, names, data, query, authorized)
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            body = {}
        paths = body.get("list") if isinstance(body, dict) else None
        if not isinstance(paths, list) or not paths:
            return Received("clipboard", (), (), (), query, authorized)
        texts = tuple(str(p) for p in paths)
        return Received(
            "path",
            texts,
            tuple(Path(p).name for p in texts),
            tuple(map(_read_file, texts)),
            query,
            authorized,
        )

    def _picbed(self, req: Request) -> str:
        """The picbed this upload goes to: PicList switches for a request whose picbed has a
        configuration of that name; otherwise (and always in PicGo) the current one."""
        asked = req.query.get(PICBED_PARAMETER, [""])[0]
        config = req.query.get(CONFIG_PARAMETER, [DEFAULT_CONFIG])[0] or DEFAULT_CONFIG
        if self.edition == "piclist" and asked and config in self.configs.get(asked, set()):
            return asked
        return self.current[0]

    def _store(self, name: str, data: bytes, picbed: str) -> str:
        """The picbed keeps the file under its name in a folder of its bytes' MD5."""
        path = f"{picbed}/{hashlib.md5(data).hexdigest()[:12]}/{name}"
        with self._lock:
            self._stored[path] = data
            url = self._link(path)
            self._picbeds[url] = picbed
        return url

    def _fault_page(self, fault: str) -> Reply:
        if fault == "500":
            return json_reply(500, {**failure_reply(SERVER_ERROR), "result": []})
        if fault == "502":
            return html_reply(502, "502 Bad Gateway", "<hr><center>nginx</center>")
        return html_reply(
            200, "Welcome", "<p>Not the PicGo server: the page of another program.</p>"
        )


def _read_file(path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake PicGo until Ctrl-C: `python -m imgsync.testing.fake_picgo --port 0`."""
    parser = fake_parser("imgsync.testing.fake_picgo")
    parser.add_argument("--edition", choices=get_args(Edition), default="picgo")
    parser.add_argument("--key", help="PicGo 3's server secret, or PicList's server key")
    parser.add_argument("--max-size-kb", type=float, help="the picbed's limit for one file")
    parser.add_argument(
        "--picbed",
        action="append",
        default=[],
        help="PicList: a picbed and a configuration it has, as picbed:config (repeatable)",
    )
    args = parser.parse_args(argv)
    configs: dict[str, set[str]] = {"github": {DEFAULT_CONFIG}}
    for item in args.picbed:
        picbed, _, config = item.partition(":")
        configs.setdefault(picbed, set()).add(config or DEFAULT_CONFIG)
    fields: Mapping[str, Any] = {"edition": args.edition, "key": args.key, "configs": configs}
    return serve(args, FakePicGo, max_size_kb=args.max_size_kb, **fields)


if __name__ == "__main__":
    raise SystemExit(main())
