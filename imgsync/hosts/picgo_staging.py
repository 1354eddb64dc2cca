"""What PicGo's server reads: the bytes to send as files of their own, named as sent.

With a path upload the server opens the files itself, so each image goes as a copy in a
private folder (under `.imgsync/`, `StagingHost.stage_in`) holding exactly the bytes to
send (the stripped or processed ones), never the project's own file: PicList's "delete
the local file after upload" setting would delete what it was given. The copies of one
request live in a folder of their own, removed once the server has answered.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from ..errors import ImageError
from .base import UploadRequest
from .kit import KitHost

_CHUNK = 1 << 20
_PREFIX = "picgo-"
# A request's copies older than this were left by a run that was killed: no request lasts a
# day, and a younger folder may be another imgsync's, uploading now.
STALE_AFTER = 24 * 3600.0


def remove_stale(folder: Path, now: float | None = None) -> int:
    """Remove the request folders a killed run left in `folder`; how many went."""
    now = time.time() if now is None else now
    removed = 0
    for entry in folder.glob(f"{_PREFIX}*"):
        try:
            stale = now - entry.lstat().st_mtime > STALE_AFTER
            if stale and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
                removed += 1
        except OSError:
            continue  # gone meanwhile, or not ours to remove: the next run tries again
    return removed


def unique_names(requests: Sequence[UploadRequest]) -> list[str]:
    """Each request's file name, made unique within the request (case ignored): the servers
    write the files of one request into one folder by name, so a repeated name would send
    the bytes of one file twice. A repeat gets "-2", "-3"... before its extension."""
    seen: set[str] = set()
    names = []
    for request in requests:
        name = PurePosixPath(request.filename.replace("\\", "/")).name or "image"
        stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
        candidate, n = name, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{stem}-{n}{suffix}"
        seen.add(candidate.lower())
        names.append(candidate)
    return names


@contextmanager
def staged_copies(
    requests: Sequence[UploadRequest], folder: Path | None
) -> Iterator[list[Path | ImageError]]:
    """A copy of each request's bytes in a new folder inside `folder` (the system's temp
    folder when None), or the ImageError that kept it from being made; all removed on exit."""
    where = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=folder))
    try:
        copies: list[Path | ImageError] = []
        for request, name in zip(requests, unique_names(requests), strict=True):
            target = where / name
            try:
                with KitHost.open(request) as source, target.open("xb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
            except ImageError as error:
                copies.append(error)
            except OSError as error:
                reason = error.strerror or str(error)
                copies.append(ImageError(f"{request.path} could not be copied: {reason}"))
            else:
                copies.append(target)
        yield copies
    finally:
        shutil.rmtree(where, ignore_errors=True)
