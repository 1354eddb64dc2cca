"""A fake Snapbin on loopback that answers as snapbin.py's docstring says the real one does."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from imgsync.testing.command_line import fake_parser, serve
from imgsync.testing.http import (
    FakeServer,
    GenericFault,
    Reply,
    Request,
    html_reply,
    json_reply,
    not_found,
)

DEFAULT_TOKEN = "sb_exampleTokenXXXXXXXXXXXXXXXXXXXX"
TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
Fault = Literal["429", "500", "502", "html"] | GenericFault


def _error(status: int, message: str, **headers: str) -> Reply:
    return json_reply(status, {"ok": False, "error": message}, **headers)


@dataclass(eq=False, kw_only=True)
class FakeSnapbin(FakeServer[Fault]):
    """Uploads under /api/v1, the stored images under /i/{id}."""

    api_path: ClassVar[str] = "/api/v1"

    token: str = DEFAULT_TOKEN
    max_size_kb: float = 10240
    storage_full: bool = False  # answer every upload 507
    images: dict[str, bytes] = field(default_factory=dict, init=False)

    def respond(self, req: Request) -> Reply:
        if req.method == "GET" and req.path.startswith("/i/"):
            data = self.images.get(req.path.removeprefix("/i/"))
            return not_found() if data is None else Reply(200, data, "image/png")
        if (req.method, req.path) == ("GET", f"{self.api_path}/me"):
            if req.headers.get("authorization") != f"Bearer {self.token}":
                return _error(401, "Invalid or missing API token")
            return json_reply(200, {"ok": True, "user": {"name": "writer"}})
        if (req.method, req.path) != ("POST", f"{self.api_path}/upload"):
            return not_found()
        if (fault := self.take_fault()) is not None:
            return self._fault(fault)
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "Invalid or missing API token")
        if self.storage_full:
            return _error(507, "Storage quota exceeded")
        part = req.form().get("image")
        if part is None or part.filename is None:
            return _error(400, "No file in the 'image' field")
        if len(part.data) > self.max_size_kb * 1024:
            return _error(413, f"The image is larger than {self.max_size_kb:g} KB")
        if part.content_type not in TYPES:
            return _error(415, f"Unsupported type {part.content_type}")
        ident = hashlib.sha256(part.data).hexdigest()[:12]
        self.images[ident] = part.data
        image = {"id": ident, "url": f"{self.site}/i/{ident}", "size": len(part.data)}
        return json_reply(201, {"ok": True, "image": image})

    def _fault(self, fault: Fault) -> Reply:
        if (generic := self.generic_fault(fault)) is not None:
            return generic
        if fault == "429":
            return _error(429, "Too many uploads, slow down", **{"Retry-After": "30"})
        if fault == "500":
            return _error(500, "Internal error")
        if fault == "502":
            return html_reply(502, "502 Bad Gateway", "<hr><center>nginx</center>")
        return html_reply(200, "Snapbin", "<p>Share your images.</p>")  # the site, not the API


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake Snapbin until Ctrl-C: `python -m tests.example_host.fake_snapbin`."""
    parser = fake_parser("tests.example_host.fake_snapbin")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the one valid bearer token")
    args = parser.parse_args(argv)
    return serve(args, FakeSnapbin, token=args.token)


if __name__ == "__main__":
    raise SystemExit(main())
