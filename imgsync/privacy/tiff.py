"""Location taken out of a TIFF structure (an Exif block, or a TIFF file) in place.

IFD0's GPSInfo entry (tag 0x8825) is removed from its IFD: the entries after it move
up one place and the next-IFD offset follows them, so the IFD keeps its bytes. The GPS
IFD it pointed at, and the values its entries hold out of line, are zeroed. Nothing
moves: every other offset (the Exif IFD, the thumbnail, a MakerNote's own) stays
valid, and the size is unchanged. An XMP packet in IFD0 (tag 700) has its location
properties blanked by xmp.py.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from .edits import Edit, patch
from .malformed import MetadataError
from .xmp import blank_location

GPS_POINTER = 0x8825
ORIENTATION = 0x0112
XMP_PACKET = 700
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_MAX_IFDS = 16  # a loop of next-IFD offsets stops here
# A value read or zeroed is held in memory: in a TIFF file (read in place, of any size) one
# above this is taken for damage, never allocated.
_LARGEST_VALUE = 16 * 1024 * 1024


Read = Callable[[int, int], bytes]  # (offset, length) -> at most `length` bytes


@dataclass(frozen=True)
class _Entry:
    at: int  # the entry's own offset
    tag: int
    kind: int
    count: int
    value_at: int  # where its value lies: inside the entry, or out of line
    length: int  # the value's bytes


class Tiff:
    """A TIFF structure of `size` bytes read through `read`, offsets from its header."""

    def __init__(self, read: Read, size: int) -> None:
        self.read, self.size = read, size
        head = self._exact(0, 8, "the TIFF header")
        order = head[:2]
        if order not in (b"II", b"MM"):
            raise MetadataError("the TIFF header has no byte order (II or MM)")
        self.order = "<" if order == b"II" else ">"
        if self._u16(head, 2) != 42:
            raise MetadataError("the TIFF header lacks its magic number 42")
        self.first_ifd = self._u32(head, 4)

    def _exact(self, offset: int, length: int, what: str) -> bytes:
        data = self.read(offset, length) if offset >= 0 and offset + length <= self.size else b""
        if len(data) != length:
            raise MetadataError(f"{what} lies outside the metadata (offset {offset})")
        return data

    def _u16(self, data: bytes, at: int) -> int:
        return int(struct.unpack_from(self.order + "H", data, at)[0])

    def _u32(self, data: bytes, at: int) -> int:
        return int(struct.unpack_from(self.order + "I", data, at)[0])

    def entries(self, ifd: int) -> tuple[list[_Entry], int]:
        """The entries of the IFD at `ifd`, and its next-IFD offset."""
        count = self._u16(self._exact(ifd, 2, "an IFD"), 0)
        body = self._exact(ifd + 2, count * 12 + 4, "an IFD's entries")
        found = []
        for i in range(count):
            at = ifd + 2 + i * 12
            tag, kind = struct.unpack_from(self.order + "HH", body, i * 12)
            number = self._u32(body, i * 12 + 4)
            length = _TYPE_SIZES.get(kind, 1) * number
            value_at = at + 8 if length <= 4 else self._u32(body, i * 12 + 8)
            found.append(_Entry(at, tag, kind, number, value_at, length))
        return found, self._u32(body, count * 12)

    def ifd0_chain(self) -> list[int]:
        """IFD0 and the IFDs chained after it (IFD1: the thumbnail's)."""
        chain: list[int] = []
        ifd = self.first_ifd
        while ifd and ifd not in chain and len(chain) < _MAX_IFDS:
            chain.append(ifd)
            ifd = self.entries(ifd)[1]
        return chain

    def orientation(self) -> int | None:
        for entry in self.entries(self.first_ifd)[0]:
            if entry.tag == ORIENTATION and entry.kind == 3 and entry.count >= 1:
                return self._u16(self._exact(entry.value_at, 2, "the orientation"), 0)
        return None

    def location_edits(self) -> tuple[list[Edit], list[str]]:
        """The patches that remove GPS (and XMP location), and what they removed."""
        edits: list[Edit] = []
        removed: list[str] = []
        for ifd in self.ifd0_chain():
            entries, following = self.entries(ifd)
            gps = [e for e in entries if e.tag == GPS_POINTER]
            for entry in gps:
                edits.extend(self._zero_gps_ifd(entry))
            if gps:
                edits.append(self._without(ifd, entries, following, gps))
                removed.append("GPS in Exif")
            for entry in entries:
                if entry.tag == XMP_PACKET and entry.length > _LARGEST_VALUE:
                    raise MetadataError("the XMP packet in IFD0 is implausibly large")
                if entry.tag == XMP_PACKET and entry.length > 0:
                    packet = self._exact(entry.value_at, entry.length, "the XMP packet")
                    blanked = blank_location(packet)
                    if blanked != packet:
                        edits.append(patch(entry.value_at, blanked))
                        removed.append("location in XMP")
        return edits, removed

    def _without(self, ifd: int, entries: list[_Entry], following: int, gone: list[_Entry]) -> Edit:
        """The IFD rewritten in its own bytes, without the `gone` entries."""
        kept = [e for e in entries if e not in gone]
        body = bytearray(struct.pack(self.order + "H", len(kept)))
        for entry in kept:
            body += self._exact(entry.at, 12, "an IFD entry")
        body += struct.pack(self.order + "I", following)
        body += bytes(2 + len(entries) * 12 + 4 - len(body))
        return patch(ifd, bytes(body))

    def _zero_gps_ifd(self, pointer: _Entry) -> list[Edit]:
        """Zeros over the GPS IFD and its values; nothing for a pointer that leads nowhere
        (its entry goes all the same, so no reader follows it)."""
        if pointer.length != 4:
            return []
        offset = self._u32(self._exact(pointer.value_at, 4, "the GPS pointer"), 0)
        try:
            entries, _ = self.entries(offset)
        except MetadataError:
            return []
        edits = [patch(offset, bytes(2 + len(entries) * 12 + 4))]
        total = 0
        for entry in entries:
            if entry.length > 4 and entry.value_at + entry.length <= self.size:
                total += entry.length
                if total > _LARGEST_VALUE:
                    raise MetadataError("the GPS values are implausibly large")
                edits.append(patch(entry.value_at, bytes(entry.length)))
        return edits


def tiff_file_edits(file: IO[bytes], size: int, mode: str) -> tuple[list[Edit], list[str]]:
    """A TIFF file's location removed in place, read through the file (never whole). In "all"
    mode too: a TIFF file's metadata is its own structure, so only location can go."""

    def read(offset: int, length: int) -> bytes:
        file.seek(offset)
        return file.read(length)

    return Tiff(read, size).location_edits()


def tiff_of(data: bytes) -> Tiff:
    """A TIFF structure held in memory (an Exif block's)."""
    return Tiff(lambda at, length: data[at : at + length], len(data))


def apply(data: bytes, edits: list[Edit]) -> bytes:
    """`data` with equal-length patches applied (the Exif blocks held in memory)."""
    out = bytearray(data)
    for edit in edits:
        out[edit.start : edit.end] = edit.data
    return bytes(out)


def stripped_exif(data: bytes) -> tuple[bytes, list[str]]:
    """An Exif TIFF block without its location, same length; MetadataError if malformed."""
    edits, removed = tiff_of(data).location_edits()
    return apply(data, edits), removed


def orientation_only(data: bytes) -> bytes | None:
    """A minimal little-endian TIFF block holding only the orientation of `data` (None when it
    has none, or when `data` can't be read: the image then shows as stored)."""
    try:
        value = tiff_of(data).orientation()
    except MetadataError:
        return None
    if value is None:
        return None
    entry = struct.pack("<HHIHH", ORIENTATION, 3, 1, value, 0)
    return b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 1) + entry + bytes(4)
