"""WebP: location (or all metadata) taken out of its RIFF `EXIF` and `XMP ` chunks.

Only an extended WebP (a `VP8X` chunk first) carries metadata. In "location" mode the
chunks keep their sizes (tiff.py and xmp.py edit them in place); a chunk that can't be
read, or "all" mode, removes them, and then the `VP8X` flags and the RIFF size follow.
`ICCP` is always kept; image data (`VP8 `, `VP8L`, `ALPH`, `ANMF`) is never read.
"""

from __future__ import annotations

import struct
from typing import IO

from .edits import Edit, patch
from .jpeg import EXIF_ID
from .malformed import MetadataError, read_exact
from .tiff import orientation_only, stripped_exif
from .xmp import blank_location

EXIF_FLAG, XMP_FLAG = 0x08, 0x04
_LARGEST_METADATA = 16 * 1024 * 1024


def webp_edits(file: IO[bytes], size: int, mode: str) -> tuple[list[Edit], list[str]]:
    """The edits that strip `mode` ("location" or "all") and what they remove."""
    riff, riff_size, webp = struct.unpack("<4sI4s", read_exact(file, 0, 12, "the RIFF header"))
    if riff != b"RIFF" or webp != b"WEBP" or riff_size + 8 > size:
        raise MetadataError("the WebP's RIFF header is damaged or cut short")
    edits: list[Edit] = []
    removed: list[str] = []
    flags_at: int | None = None
    flags = 0
    gone: set[bytes] = set()  # the kinds of chunk removed
    at = 12
    while at + 8 <= riff_size + 8:
        kind, length = struct.unpack("<4sI", read_exact(file, at, 8, "a WebP chunk header"))
        end = at + 8 + length + (length & 1)
        if end > riff_size + 8:
            raise MetadataError(f"the WebP chunk at offset {at} runs past the RIFF size")
        if kind == b"VP8X" and length >= 1:
            flags_at, flags = at + 8, read_exact(file, at + 8, 1, "the VP8X flags")[0]
        elif kind in (b"EXIF", b"XMP "):
            edit, what = _chunk_edit(file, at, kind, length, end, mode)
            if edit is not None:
                edits.append(edit)
                removed.append(what)
                if not edit.data:
                    gone.add(kind)
        at = end
    return _settled(edits, gone, flags_at, flags, riff_size), removed


def _chunk_edit(
    file: IO[bytes], at: int, kind: bytes, length: int, end: int, mode: str
) -> tuple[Edit | None, str]:
    dropped = Edit(at, end)
    if length > _LARGEST_METADATA or (kind == b"XMP " and mode == "all"):
        return dropped, "XMP" if kind == b"XMP " else "metadata"
    data = read_exact(file, at + 8, length, "a metadata chunk")
    if kind == b"XMP ":
        try:
            blanked = blank_location(data)
        except MetadataError:
            return dropped, "unreadable XMP"
        return (patch(at + 8, blanked), "location in XMP") if blanked != data else (None, "")
    prefix = EXIF_ID if data.startswith(EXIF_ID) else b""  # some writers keep JPEG's prefix
    if mode == "all":
        kept = orientation_only(data[len(prefix) :])
        if kept is None:
            return dropped, "Exif"
        body = struct.pack("<4sI", kind, len(kept)) + kept + b"\0" * (len(kept) & 1)
        return Edit(at, end, body), "Exif"
    try:
        tiff, what = stripped_exif(data[len(prefix) :])
    except MetadataError:
        return dropped, "unreadable Exif"
    return (patch(at + 8, prefix + tiff), what[0]) if what else (None, "")


def _settled(
    edits: list[Edit], gone: set[bytes], flags_at: int | None, flags: int, riff_size: int
) -> list[Edit]:
    """The edits, with the RIFF size and the VP8X flags following any chunk removed."""
    change = sum(len(e.data) - (e.end - e.start) for e in edits)
    if change == 0:
        return edits
    settled = [*edits, patch(4, struct.pack("<I", riff_size + change))]
    cleared = (EXIF_FLAG if b"EXIF" in gone else 0) | (XMP_FLAG if b"XMP " in gone else 0)
    if flags_at is not None and flags & cleared:
        settled.append(patch(flags_at, bytes([flags & ~cleared])))
    return settled
