"""What `imgsync serve` does for each request: the sync's engine, cache and dedup behind the
PicGo protocol (picgo_protocol.py).

Uploads go through upload_command.upload_files, as `imgsync upload` does: each image sniffed,
stripped of its location, looked up in the cache by the MD5 of its bytes (the same screenshot
pasted twice is one upload) and recorded before its URL is answered. Unlike `imgsync upload`,
a path must lie inside the project, symlinks resolved, as every path a sync reads: an editor
names files for the server, and the server is reachable by every program on this machine.

A reply is all or nothing: editors match the URLs to their files by position, so a request
with a failed file answers `success: false` naming each failure (the files that did go up are
in the cache, and the editor's retry takes them from there).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from ..config import Settings
from ..errors import ImgsyncError, OutsideProject
from ..files import confined, private_folder
from ..picgo_protocol import failure_reply, success_reply
from ..progress import Progress
from ..report import UploadOutcome
from .multipart import FormFile

SERVED_TYPE = "imgsync"  # the `type` of each fullResult item: the "picbed" that answered


@dataclass(frozen=True)
class Reply:
    """One answer: the HTTP status, the JSON body, and the words of the request's log line."""

    body: dict[str, Any]
    said: str
    status: int = 200


@dataclass
class Uploads:
    """The project's engine behind the server; one request at a time uses it."""

    settings: Settings
    host_name: str | None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def by_paths(self, paths: list[Any]) -> Reply:
        """Upload the project's files `paths` names (absolute paths, as editors send them)."""
        files, refused = [], []
        for item in paths:
            problem = self._refusal(item)
            if problem is None:
                files.append(Path(item))
            else:
                refused.append(f"{item}: {problem}")
        if refused:
            return _failed(refused, "refused")
        with self.lock:
            return self._upload(files, names=None)

    def by_forms(self, forms: list[FormFile]) -> Reply:
        """Upload files sent in the request (a pasted image, a remote editor's file)."""
        if not forms:
            return _failed(["the form holds no file"], "refused")
        with self.lock:
            folder = Path(tempfile.mkdtemp(dir=self._staging(), prefix="request-"))
            try:
                files, names = [], {}
                for index, form in enumerate(forms):
                    place = folder / str(index)
                    place.mkdir()
                    path = place / form.name
                    path.write_bytes(form.data)
                    files.append(path)
                    names[path] = form.name
                return self._upload(files, names)
            finally:
                shutil.rmtree(folder, ignore_errors=True)

    def _staging(self) -> Path:
        """`.imgsync/serve/`, for the files of a form while they go up."""
        folder = private_folder(self.settings.state_dir) / "serve"
        folder.mkdir(exist_ok=True)
        return confined(folder, self.settings.root)

    def _refusal(self, item: Any) -> str | None:
        """Why the path `item` can't be uploaded by the server, or None."""
        if not isinstance(item, str) or not item.strip():
            return "not a path"
        if not PurePath(item).is_absolute():
            return "not an absolute path (editors send the file's full path)"
        try:
            confined(Path(item), self.settings.root)
        except OutsideProject:
            return (
                f"outside the project ({self.settings.root}): imgsync serve uploads only the"
                " project's files"
            )
        return None

    def _upload(self, files: list[Path], names: dict[Path, str] | None) -> Reply:
        from ..upload_command import upload_files  # the upload seam: httpx, the worker pool

        try:
            outcome = upload_files(
                files,
                self.settings,
                host_name=self.host_name,
                progress=Progress(quiet=True),
                record_as=names,
            )
        except ImgsyncError as error:  # the config or the cache can't be used
            return _failed([str(error)], "failed")
        return _reply(outcome, files, names)


def _reply(outcome: UploadOutcome, files: list[Path], names: dict[Path, str] | None) -> Reply:
    def shown(path: Path) -> str:
        return names[path] if names else str(path)

    if outcome.failures or outcome.interrupted or len(outcome.urls) != len(files):
        problems = [f"{shown(f.where.path)}: {f.reason}" for f in outcome.failures]
        if outcome.host_verdict:
            problems.append(outcome.host_verdict)
        return _failed(problems or ["not every file went up"], "failed")
    urls = [found.url for found in outcome.urls]
    full = [
        {"imgUrl": found.url, "fileName": shown(found.file), "type": SERVED_TYPE}
        for found in outcome.urls
    ]
    new = sum(1 for found in outcome.urls if not found.already_on_host)
    said = f"{len(urls)} file(s): {new} uploaded, {len(urls) - new} already on the host"
    return Reply(success_reply(urls, full), said)


def _failed(problems: list[str], how: str) -> Reply:
    message = "; ".join(problems)
    return Reply(failure_reply(message), f"{how}: {message}")
