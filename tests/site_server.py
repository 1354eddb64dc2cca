"""A web site on loopback for the hosts that need no API: it serves a folder's files (what a
folder host writes), and takes files PUT to /upload/NAME (what a command host's program
sends), answering as a storage service would, faults included."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from imgsync.testing.http import FakeServer, Reply, Request, html_reply, not_found

SiteFault = Literal["hang", "reset", "403", "html"]
REFUSAL_WORDS = "AccessDenied: the bucket's quota is used up"


@dataclass(eq=False, kw_only=True)
class SiteServer(FakeServer[SiteFault]):
    """Serves the files of `root` by GET; stores PUT /upload/NAME into `root/uploads/`."""

    root: Path
    uploads: list[str] = field(default_factory=list, init=False)  # names PUT, in order

    def respond(self, req: Request) -> Reply:
        if req.method == "PUT" and req.path.startswith("/upload/"):
            return self._store(req.path.removeprefix("/upload/"), req.body)
        if req.method != "GET":
            return html_reply(405, "405 Method Not Allowed")
        path = (self.root / req.path.lstrip("/")).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            return not_found()
        return Reply(200, path.read_bytes(), "application/octet-stream")

    def _store(self, name: str, body: bytes) -> Reply:
        fault = self.take_fault()
        if fault is not None:
            reply = self.generic_fault(fault)
            if reply is not None:
                return reply
            if fault == "403":
                return Reply(403, REFUSAL_WORDS.encode(), "text/plain")
            return html_reply(200, "Welcome to nginx!")  # a front page where the API should be
        if "/" in name or name.startswith("."):
            return Reply(400, b"bad name", "text/plain")
        folder = self.root / "uploads"
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(body)
        self.uploads.append(name)
        return Reply(201, f"{self.site}/uploads/{name}\n".encode(), "text/plain")

    def stored(self) -> list[str]:
        folder = self.root / "uploads"
        return sorted(os.listdir(folder)) if folder.is_dir() else []


class ProjectSite(SiteServer):
    """A SiteServer over `static/` of a new project in a temp folder, removed at stop()."""

    def __init__(self) -> None:
        project = Path(tempfile.mkdtemp(prefix="site-contract-")) / "blog"
        (project / "static").mkdir(parents=True)
        super().__init__(root=project / "static")

    @property
    def project(self) -> Path:
        return self.root.parent

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.root.parent.parent, ignore_errors=True)
