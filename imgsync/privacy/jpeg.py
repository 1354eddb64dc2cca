"""JPEG: location (or all metadata) taken out of the segments before the first scan.

Only the segments between SOI and the first SOS are read; the scan's entropy-coded
data and everything after it are copied as they are. Exif (APP1) is edited in place by
tiff.py, XMP (APP1) blanked by xmp.py, IPTC place names (APP13) by iptc.py; a block that
can't be read is dropped whole.
ICC profiles (APP2), JFIF (APP0) and Adobe (APP14) segments are always kept.
"""

from __future__ import annotations

import struct
from typing import IO

from .edits import Edit, patch
from .iptc import PHOTOSHOP_ID, blank_places
from .malformed import MetadataError, read_exact
from .tiff import orientation_only, stripped_exif
from .xmp import JPEG_EXTENDED_XMP_ID, JPEG_XMP_ID, blank_location

EXIF_ID = b"Exif\0\0"
APP1, APP13, COM, SOS, EOI = 0xE1, 0xED, 0xFE, 0xDA, 0xD9
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def jpeg_edits(file: IO[bytes], size: int, mode: str) -> tuple[list[Edit], list[str]]:
    """The edits that strip `mode` ("location" or "all") and what they remove."""
    if read_exact(file, 0, 2, "the JPEG start") != b"\xff\xd8":
        raise MetadataError("the JPEG does not start with its SOI marker")
    edits: list[Edit] = []
    removed: list[str] = []
    at = 2
    while True:
        marker = read_exact(file, at, 2, "a JPEG marker")
        if marker[0] != 0xFF:
            raise MetadataError(f"a JPEG segment is expected at offset {at}")
        if marker[1] == 0xFF:  # fill byte
            at += 1
            continue
        kind = marker[1]
        if kind in _STANDALONE:
            at += 2
            continue
        if kind in (SOS, EOI):
            return edits, removed
        (length,) = struct.unpack(">H", read_exact(file, at + 2, 2, "a JPEG segment length"))
        if length < 2 or at + 2 + length > size:
            raise MetadataError(f"a JPEG segment at offset {at} runs past the end of the file")
        start, end = at, at + 2 + length
        if kind in (APP1, APP13, COM):
            payload = read_exact(file, at + 4, length - 2, "a JPEG segment")
            edit, what = _segment(kind, payload, start, end, mode)
            if edit is not None:
                edits.append(edit)
                removed.append(what)
        at = end


def _segment(kind: int, payload: bytes, start: int, end: int, mode: str) -> tuple[Edit | None, str]:
    dropped = Edit(start, end)
    if kind == APP1 and payload.startswith(EXIF_ID):
        if mode == "all":
            kept = orientation_only(payload[len(EXIF_ID) :])
            if kept is None:
                return dropped, "Exif"
            body = EXIF_ID + kept
            return Edit(start, end, b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body), "Exif"
        try:
            tiff, what = stripped_exif(payload[len(EXIF_ID) :])
        except MetadataError:
            return dropped, "unreadable Exif"
        return (patch(start + 4, EXIF_ID + tiff), what[0]) if what else (None, "")
    if kind == APP1 and payload.startswith(JPEG_XMP_ID):
        if mode == "all":
            return dropped, "XMP"
        try:
            packet = blank_location(payload[len(JPEG_XMP_ID) :])
        except MetadataError:
            return dropped, "unreadable XMP"
        changed = packet != payload[len(JPEG_XMP_ID) :]
        return (
            (patch(start + 4 + len(JPEG_XMP_ID), packet), "location in XMP")
            if changed
            else (
                None,
                "",
            )
        )
    if kind == APP1 and payload.startswith(JPEG_EXTENDED_XMP_ID):
        # Extended XMP is a packet cut across segments: it can't be edited piece by piece.
        return dropped, "extended XMP"
    if kind == APP13 and mode == "location" and payload.startswith(PHOTOSHOP_ID):
        try:
            blanked = blank_places(payload)
        except MetadataError:
            return dropped, "unreadable IPTC"
        return (
            (patch(start + 4, blanked), "location in IPTC")
            if blanked != payload
            else (
                None,
                "",
            )
        )
    if mode == "all":  # IPTC (Photoshop's APP13), comments, any other APP1
        return dropped, {APP13: "IPTC", COM: "comment"}.get(kind, "APP1 metadata")
    return None, ""
