"""A fake Chevereto (V4 or Free) API v1.1 on loopback that acts like the real one (hosts.md)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

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
    redacted,
)

DEFAULT_KEY = "chv_" + "f4k3" * 12  # the shape of a V4 user key
DAY = 24 * 3600.0  # how long Chevereto remembers an upload for its duplicate check
FLOOD_MESSAGE = "Flooding detected. You can only upload 50 images per minute"
Edition = Literal["v4", "free"]
Fault = Literal["flood", "500", "502", "html"] | GenericFault
_SECRET_HEADERS = frozenset({"x-api-key", "authorization", "cookie"})
_MAGIC = {  # what Chevereto sniffs from the bytes: the name and extension never count
    b"\x89PNG\r\n\x1a\n": ("png", "image/png"),
    b"\xff\xd8\xff": ("jpg", "image/jpeg"),
    b"GIF8": ("gif", "image/gif"),
    b"BM": ("bmp", "image/bmp"),
}


@dataclass(frozen=True)
class ReceivedUpload:
    """One call to the upload endpoint as the server read it."""

    filename: str | None  # of the `source` file part; None for a text source or none
    size: int
    md5: str
    field_names: tuple[str, ...]  # every form part's name in order, `source` included
    fields: dict[str, str]  # the plain form fields; the key's value redacted
    query: dict[str, str]  # the URL query; the key's value redacted
    headers: dict[str, str]  # lower-case names; secret values redacted
    error: int | None  # Chevereto's error.code, or None when the image was stored


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(eq=False, kw_only=True)
class FakeChevereto(FakeServer[Fault]):
    """A Chevereto API at `.url` once started; the public fields are switches tests may flip."""

    api_path: ClassVar[str] = "/api/1"

    edition: Edition = "v4"  # "free" reads only the `key` field and ignores the V4 fields
    api_key: str = field(default=DEFAULT_KEY, repr=False)  # the one valid key
    moderation: bool = False  # uploads wait for approval: replies carry only url_viewer
    max_size_kb: float = 2048  # Chevereto's default limit is 2 MB
    now: Callable[[], float] = time.time  # the clock of the 24-hour duplicate check
    _uploads: list[ReceivedUpload] = field(default_factory=list, init=False, repr=False)
    _seen: dict[tuple[str, str], float] = field(default_factory=dict, init=False, repr=False)
    _files: dict[str, Part] = field(default_factory=dict, init=False, repr=False)  # path -> file

    @property
    def uploads(self) -> list[ReceivedUpload]:
        with self._lock:
            return list(self._uploads)

    def respond(self, req: Request) -> Reply:
        if req.path.startswith(f"{self.api_path}/"):
            return self._api(req)
        with self._lock:
            found = self._files.get(req.path.lstrip("/"))
        if found is not None:
            return Reply(200, found.data, found.content_type)
        if req.path.startswith("/image/"):  # the viewer page, for people
            return html_reply(200, f"{req.path.rpartition('/')[2]} - Chevereto")
        return not_found()

    def _api(self, req: Request) -> Reply:
        form = req.form()
        # PHP's $_REQUEST: the query and the form together, the form winning.
        params = {name: values[0] for name, values in req.query.items()} | form.fields()
        fault = self.take_fault()
        if fault is not None and fault != "flood":
            reply, error = self._fault(fault), None
        else:
            try:
                reply, error = self._upload(req, params, form.get("source"), fault), None
            except _Refused as refused:
                reply, error = self._error(refused, params.get("format")), refused.code
        source = form.get("source")
        data = source.data if source else b""
        secret = {"key"}
        record = ReceivedUpload(
            filename=source.filename if source else None,
            size=len(data),
            md5=hashlib.md5(data).hexdigest(),
            field_names=tuple(name for name, _ in form.parts),
            fields=redacted(form.fields(), secret),
            query=redacted({k: v[0] for k, v in req.query.items()}, secret),
            headers=redacted(req.headers, _SECRET_HEADERS),
            error=error,
        )
        with self._lock:
            self._uploads.append(record)
        return reply

    def _upload(
        self, req: Request, params: dict[str, str], source: Part | None, fault: Fault | None
    ) -> Reply:
        # V4 takes the header first, then the field; Free knows only the field.
        given = params.get("key")
        if self.edition == "v4":
            given = req.headers.get("x-api-key") or given
        if not given or not hmac.compare_digest(given.encode(), self.api_key.encode()):
            raise _Refused(
                100, "Invalid API v1 key." if self.edition == "free" else "Invalid API key"
            )
        if req.path.rstrip("/") != f"{self.api_path}/upload":
            raise _Refused(120, "Invalid API action.")
        if fault == "flood":
            raise _Refused(130, FLOOD_MESSAGE)
        filename, data = self._read_source(req, params, source)
        sniffed = next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), None)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            sniffed = ("webp", "image/webp")
        if sniffed is None:
            raise _Refused(400, "Invalid image")
        if len(data) > self.max_size_kb * 1024:
            kb = self.max_size_kb
            limit = f"{kb / 1024:g} MB" if kb >= 1024 else f"{kb:g} KB"
            raise _Refused(313, f"File too big - max {limit}")
        md5 = hashlib.md5(data).hexdigest()
        with self._lock:
            # The same bytes from the same address within a day are refused, without the URL.
            first = self._seen.get((req.client, md5))
            if first is not None and self.now() - first < DAY:
                raise _Refused(101, "Duplicated upload")
            self._seen[(req.client, md5)] = self.now()
            image = self._store(filename, data, md5, sniffed, params)
        return self._success(image, params.get("format"))

    def _read_source(
        self, req: Request, params: dict[str, str], source: Part | None
    ) -> tuple[str, bytes]:
        if source is not None and source.filename is not None:
            return source.filename, source.data
        text = params.get("source", "")
        if not text:
            raise _Refused(130, "Empty upload source.")
        if req.method != "POST":
            raise _Refused(130, "Upload using base64 source must be done using POST method.")
        try:  # no `data:` prefix, as the real one wants; URL sources are not modelled
            return f"{secrets.token_hex(6)}.jpg", base64.b64decode(
                "".join(text.split()), validate=True
            )
        except (binascii.Error, ValueError):
            raise _Refused(120, "Invalid base64 string.") from None

    def _store(
        self, filename: str, data: bytes, md5: str, kind: tuple[str, str], params: dict[str, str]
    ) -> dict[str, Any]:
        ext, mime = kind
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in filename.rpartition(".")[0])
        folder = time.strftime("images/%Y/%m/%d", time.gmtime(self.now()))
        name = stem or secrets.token_hex(4)
        while f"{folder}/{name}.{ext}" in self._files:  # Chevereto keeps names unique
            name = f"{stem}-{secrets.token_hex(2)}"
        ident = secrets.token_urlsafe(4).replace("-", "x").replace("_", "y")
        url, viewer = f"{self.site}/{folder}/{name}.{ext}", f"{self.site}/image/{ident}"
        v4 = self.edition == "v4"  # Free ignores every optional field
        image: dict[str, Any] = {
            "id_encoded": ident,
            "name": name,
            "filename": f"{name}.{ext}",
            "extension": ext,
            "mime": mime,
            "size": len(data),
            "md5": md5,
            "original_filename": filename,
            "date_gmt": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.now())),
            "title": params.get("title", name) if v4 else name,
            "description": params.get("description") if v4 else None,
            "nsfw": params.get("nsfw", "0") if v4 else "0",
            "storage_mode": "datefolder",
            "url_viewer": viewer,
            "how_long_ago": "moments ago",
        }
        if ext == "png" and len(data) >= 24:
            image["width"], image["height"] = struct.unpack(">II", data[16:24])
        if v4:
            tags = params.get("tags", "")
            image["tags"] = [{"name": tag} for tag in tags.split(",") if tag]
            image["album"] = {"id_encoded": params["album_id"]} if "album_id" in params else None
            image["category_id"] = params.get("category_id")
            image["expiration"] = params.get("expiration")
        if self.moderation:  # held: no link to the file at all, only the viewer page
            return image
        thumb = f"{folder}/{name}.th.{ext}"
        self._files[f"{folder}/{name}.{ext}"] = self._files[thumb] = Part(filename, data, mime)
        file_info = {"filename": f"{name}.{ext}", "name": name, "mime": mime, "extension": ext}
        image |= {
            "url": url,
            "url_short": viewer,
            "display_url": url,
            "image": file_info | {"url": url, "size": len(data)},
            "thumb": file_info | {"filename": f"{name}.th.{ext}", "url": f"{self.site}/{thumb}"},
        }
        if v4:  # a page where a person confirms the deletion, not an API call
            image["delete_url"] = f"{viewer}/delete/{secrets.token_hex(16)}"
        return image

    def _success(self, image: dict[str, Any], fmt: str | None) -> Reply:
        if fmt == "txt":
            return Reply(200, str(image.get("url", "")).encode(), "text/plain; charset=UTF-8")
        if fmt == "redirect":
            return Reply(302, b"", "text/html; charset=UTF-8", {"Location": image["url_viewer"]})
        payload = {
            "status_code": 200,
            "success": {"message": "image uploaded", "code": 200},
            "image": image,
            "status_txt": "OK",
        }
        return json_reply(200, payload)

    def _error(self, refused: _Refused, fmt: str | None) -> Reply:
        if fmt in ("txt", "redirect"):  # even an error is HTTP 200 then: only the words
            return Reply(200, refused.message.encode(), "text/plain; charset=UTF-8")
        error: dict[str, Any] = {"message": refused.message, "code": refused.code}
        if self.edition == "v4":
            error["context"] = "Exception"
        payload = {"status_code": 400, "error": error, "status_txt": "Bad Request"}
        return json_reply(400, payload)

    def _fault(self, fault: Fault) -> Reply:
        generic = self.generic_fault(fault)
        if generic is not None:
            return generic
        if fault == "500":
            error = {"message": "Internal server error", "code": 500}
            payload = {"status_code": 500, "error": error, "status_txt": "Internal Server Error"}
            return json_reply(500, payload)
        if fault == "502":
            return html_reply(502, "502 Bad Gateway", "<hr><center>nginx</center>")
        # What the site's front page looks like to a client that reached it instead of the API.
        return html_reply(200, "Chevereto", "<p>Upload and share your images.</p>")


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake Chevereto until Ctrl-C: `python -m imgsync.testing.fake_chevereto --port 0`."""
    parser = fake_parser("imgsync.testing.fake_chevereto")
    parser.add_argument("--key", default=DEFAULT_KEY, help="the one valid API key")
    parser.add_argument("--edition", choices=("v4", "free"), default="v4")
    parser.add_argument("--moderation", action="store_true", help="hold uploads for approval")
    parser.add_argument("--max-size-kb", type=float, default=2048)
    args = parser.parse_args(argv)
    return serve(
        args,
        FakeChevereto,
        edition=args.edition,
        api_key=args.key,
        moderation=args.moderation,
        max_size_kb=args.max_size_kb,
    )


if __name__ == "__main__":
    raise SystemExit(main())
