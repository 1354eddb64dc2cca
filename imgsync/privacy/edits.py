"""The bytes to send as edits of the file on disk, and a reader that streams them.

Stripping never rewrites a file: it says which byte ranges of the original change (a
few metadata bytes), and `SplicedFile` reads the original through those edits in
chunks, so the image data after the metadata is copied, never held whole.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Edit:
    """Original bytes [start, end) replaced by `data` (empty `data`: removed)."""

    start: int
    end: int
    data: bytes = b""


def patch(start: int, data: bytes) -> Edit:
    """`data` written over as many bytes at `start`: the file's size unchanged."""
    return Edit(start, start + len(data), data)


Piece = bytes | tuple[int, int]  # literal bytes, or (offset, length) of the original


def pieces(edits: Sequence[Edit], size: int) -> tuple[Piece, ...]:
    """The file of `size` bytes with `edits` applied, as pieces; ValueError if they overlap."""
    out: list[Piece] = []
    at = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < at or edit.end > size or edit.end < edit.start:
            raise ValueError("edits overlap or leave the file")
        if edit.start > at:
            out.append((at, edit.start - at))
        if edit.data:
            out.append(edit.data)
        at = edit.end
    if at < size:
        out.append((at, size - at))
    return tuple(out)


class SplicedFile(io.RawIOBase):
    """The original file read through its edits: seekable, so httpx learns its length.

    `fileno` is not offered: a sender must not mistake it for the file on disk.
    """

    def __init__(self, path: Path, parts: tuple[Piece, ...]) -> None:
        super().__init__()
        self._file = path.open("rb")
        self._parts = parts
        self._size = sum(p[1] if isinstance(p, tuple) else len(p) for p in parts)
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._at, os.SEEK_END: self._size}[whence]
        self._at = max(0, base + offset)
        return self._at

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), max(0, self._size - self._at))
        done = 0
        start = 0
        for part in self._parts:
            length = part[1] if isinstance(part, tuple) else len(part)
            if done == wanted:
                break
            if self._at + done < start + length:
                inside = self._at + done - start
                take = min(length - inside, wanted - done)
                if isinstance(part, tuple):
                    self._file.seek(part[0] + inside)
                    got = self._file.readinto(view[done : done + take])
                    if got != take:
                        raise OSError("the file changed while it was being sent")
                else:
                    view[done : done + take] = part[inside : inside + take]
                done += take
            start += length
        self._at += done
        return done

    def close(self) -> None:
        self._file.close()
        super().close()


@dataclass(frozen=True)
class SendPlan:
    """What goes up for one image: the original through its edits, and what was removed."""

    path: Path
    parts: tuple[Piece, ...]
    removed: tuple[str, ...]  # what stripping took out, e.g. ("GPS in Exif",); () if nothing

    @property
    def size(self) -> int:
        return sum(p[1] if isinstance(p, tuple) else len(p) for p in self.parts)

    def open(self) -> io.BufferedReader:
        """The bytes to send, streamed: seekable, so a sender learns their length."""
        return io.BufferedReader(SplicedFile(self.path, self.parts), CHUNK)

    def sha256(self) -> str:
        """The SHA-256 of the bytes sent, read through in chunks."""
        digest = hashlib.sha256()
        with self.open() as stream:
            while block := stream.read(CHUNK):
                digest.update(block)
        return digest.hexdigest()
