"""PNG: location (or all metadata) taken out of its chunks, CRCs recomputed.

Every chunk is walked by its header alone (image data is skipped, never read). The
`eXIf` chunk is edited in place by tiff.py; XMP (an `iTXt` chunk with keyword
`XML:com.adobe.xmp`) is blanked by xmp.py, or dropped when it is compressed;
ImageMagick's "Raw profile type ..." text chunks, which may hold Exif in hex, are
dropped. In "all" mode every text chunk, `eXIf` and `tIME` go (a minimal `eXIf` keeps
the orientation). `iCCP`, `sRGB`, `gAMA`, `cHRM` and `pHYs` are always kept.
"""

from __future__ import annotations

import struct
import zlib
from typing import IO

from .edits import Edit
from .malformed import MetadataError, read_exact
from .tiff import orientation_only, stripped_exif
from .xmp import PNG_XMP_KEYWORD, blank_location

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT = (b"tEXt", b"zTXt", b"iTXt")
_LARGEST_METADATA = 16 * 1024 * 1024  # an eXIf or XMP chunk above it is dropped unread


def chunk(kind: bytes, data: bytes) -> bytes:
    """A whole chunk: length, type, data, CRC."""
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_edits(file: IO[bytes], size: int, mode: str) -> tuple[list[Edit], list[str]]:
    """The edits that strip `mode` ("location" or "all") and what they remove."""
    if read_exact(file, 0, 8, "the PNG signature") != SIGNATURE:
        raise MetadataError("the PNG does not start with its signature")
    edits: list[Edit] = []
    removed: list[str] = []
    at = 8
    while True:
        length, kind = struct.unpack(">I4s", read_exact(file, at, 8, "a PNG chunk header"))
        end = at + 12 + length
        if length > 0x7FFFFFFF or end > size or not kind.isalpha():
            raise MetadataError(f"the PNG chunk at offset {at} is damaged or cut short")
        if kind == b"IEND":
            return edits, removed
        if kind in (b"eXIf", *_TEXT) or (kind == b"tIME" and mode == "all"):
            edit, what = _chunk_edit(file, at, kind, length, mode)
            if edit is not None:
                edits.append(edit)
                removed.append(what)
        at = end


def _chunk_edit(
    file: IO[bytes], at: int, kind: bytes, length: int, mode: str
) -> tuple[Edit | None, str]:
    dropped = Edit(at, at + 12 + length)
    if mode == "all" and kind != b"eXIf":
        return dropped, "text" if kind in _TEXT else "time"
    if length > _LARGEST_METADATA:
        return dropped, "metadata"
    if kind == b"eXIf":
        data = read_exact(file, at + 8, length, "the eXIf chunk")
        if mode == "all":
            kept = orientation_only(data)
            return Edit(at, at + 12 + length, chunk(kind, kept) if kept else b""), "Exif"
        try:
            tiff, what = stripped_exif(data)
        except MetadataError:
            return dropped, "unreadable Exif"
        return (Edit(at, at + 12 + length, chunk(kind, tiff)), what[0]) if what else (None, "")
    keyword = read_exact(file, at + 8, min(length, 80), "a text chunk").partition(b"\0")[0]
    if keyword.startswith(b"Raw profile type"):
        return dropped, "raw profile"
    if kind != b"iTXt" or keyword != PNG_XMP_KEYWORD:
        return None, ""
    data = read_exact(file, at + 8, length, "the XMP chunk")
    # keyword \0 compression-flag compression-method language \0 translated \0 text
    head_end = len(keyword) + 3
    language_end = data.find(b"\0", head_end)
    translated_end = data.find(b"\0", language_end + 1) if language_end >= 0 else -1
    if len(data) < head_end or data[len(keyword) + 1] != 0 or translated_end < 0:
        return dropped, "XMP"  # compressed (or damaged): it can't be blanked in place
    text = data[translated_end + 1 :]
    try:
        blanked = blank_location(text)
    except MetadataError:
        return dropped, "unreadable XMP"
    if blanked == text:
        return None, ""
    return Edit(at, at + 12 + length, chunk(kind, data[: translated_end + 1] + blanked)), (
        "location in XMP"
    )
