"""AVIF (ISOBMFF, HEIF): location (or all metadata) taken out of the Exif and XMP items.

The top-level boxes are walked by their headers alone; the `meta` box is read whole (it is
small: one above 4 MB is taken for damage) for its item infos (`iinf`), item locations
(`iloc`) and item data (`idat`). Each Exif or XMP item is read from its extents (in the
file, or in `idat`), edited in place by tiff.py or xmp.py, and written back over the same
extents: nothing moves, so `iloc` and every other offset stay right. The image data (the
`mdat` items), the properties (`colr`, `irot`, `imir`...) and the other boxes are never
read nor changed.

An Exif item is a 4-byte big-endian offset to its TIFF header (often after `Exif\\0\\0`)
and the TIFF block (ISO/IEC 23008-12). libavif refuses a whole image whose Exif item has
no TIFF header where that offset says, so a blanked Exif item keeps a valid, empty TIFF.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO

from .edits import Edit, patch
from .malformed import MetadataError, read_exact
from .tiff import orientation_only, stripped_exif, tiff_of
from .xmp import blank_location, blank_packet

_LARGEST_META = 4 * 1024 * 1024  # a `meta` box above it is taken for damage, never read
_LARGEST_ITEMS = 16 * 1024 * 1024  # so are Exif and XMP items above it, all told
_MOST_BOXES = 100_000  # top-level boxes: a file of more is taken for damage
_XMP_TYPE = b"application/rdf+xml"
# An empty TIFF block: little-endian, IFD0 with no entries and no next IFD; and a TIFF header
# alone, pointing at no IFD, where even that does not fit.
EMPTY_TIFF = b"II*\0" + struct.pack("<IHI", 8, 0, 0)
_BARE_TIFF = b"II*\0" + bytes(4)
_EXIF, _XMP, _PACKED_XMP = "Exif", "XMP", "compressed XMP"


@dataclass(frozen=True)
class _Box:
    kind: bytes
    start: int  # its header's offset
    body: int  # its content's offset
    end: int


def _box(head: bytes, at: int, end: int) -> _Box:
    """The box whose header starts `head` (up to 16 bytes) at `at`, inside a parent ending at
    `end`: size 1 means a 64-bit size follows the type, size 0 that it runs to `end`."""
    if len(head) < 8:
        raise MetadataError(f"a box header at offset {at} is cut short")
    size, kind = struct.unpack_from(">I4s", head)
    body = at + 8
    if size == 1:
        if len(head) < 16:
            raise MetadataError(f"a box header at offset {at} is cut short")
        (size,) = struct.unpack_from(">Q", head, 8)
        body += 8
    elif size == 0:
        size = end - at
    if kind == b"uuid":
        body += 16
    if size < body - at or at + size > end:
        name = kind.decode("ascii", "replace")
        raise MetadataError(f"the '{name}' box at offset {at} runs past its end or is cut short")
    return _Box(kind, at, body, at + size)


def _children(data: bytes, at: int, end: int, base: int) -> list[_Box]:
    """The boxes in `data[at:end]`; offsets are of the file (`data` starts at `base`)."""
    found = []
    while at < end:
        box = _box(data[at : min(at + 16, end)], base + at, base + end)
        found.append(box)
        at = box.end - base
    return found


class _Fields:
    """Big-endian fields read one after another out of a box's bytes, within its end."""

    def __init__(self, data: bytes, at: int, end: int, what: str) -> None:
        self.data, self.at, self.end, self.what = data, at, end, what

    def uint(self, size: int) -> int:
        if self.at + size > self.end:
            raise MetadataError(f"the {self.what} box is cut short")
        value = int.from_bytes(self.data[self.at : self.at + size], "big")
        self.at += size
        return value

    def string(self) -> bytes:
        """A NUL-terminated string (or the rest of the box, when its NUL is missing)."""
        stop = self.data.find(b"\0", self.at, self.end)
        text = self.data[self.at : self.end if stop < 0 else stop]
        self.at = self.end if stop < 0 else stop + 1
        return text


@dataclass(frozen=True)
class _Location:
    method: int  # 0: offsets in the file, 1: in `idat`, 2: in another item
    reference: int  # 0: this file
    extents: tuple[tuple[int, int], ...]  # (offset, length), the base offset added


def isobmff_edits(file: IO[bytes], size: int, mode: str) -> tuple[list[Edit], list[str]]:
    """The edits that strip `mode` ("location" or "all") and what they remove."""
    meta = _meta_box(file, size)
    if meta is None:
        return [], []
    data = read_exact(file, meta.start, meta.end - meta.start, "the meta box")
    boxes: dict[bytes, _Box] = {}
    for child in _children(data, meta.body + 4 - meta.start, len(data), meta.start):
        if child.kind in (b"iinf", b"iloc", b"idat"):
            if child.kind in boxes:
                raise MetadataError(f"a second {child.kind.decode()} box in the meta box")
            boxes[child.kind] = child
    if b"iinf" not in boxes or b"iloc" not in boxes:
        return [], []
    kinds = _item_kinds(data, boxes[b"iinf"], meta.start)
    if not kinds:
        return [], []  # no Exif nor XMP: the item locations need not even be read
    locations = _locations(data, boxes[b"iloc"], meta.start)
    edits: list[Edit] = []
    removed: list[str] = []
    total = 0
    for item, kind in kinds.items():
        location = locations.get(item)
        if location is None or location.reference != 0:
            continue  # no data, or data in another file: nothing of it leaves with this one
        extents = _file_extents(location, boxes.get(b"idat"), size, kind, item)
        total += sum(length for _, length in extents)
        if total > _LARGEST_ITEMS:
            raise MetadataError(f"the Exif and XMP items are implausibly large ({total} bytes)")
        what = f"the {kind} item"
        payload = b"".join(read_exact(file, at, length, what) for at, length in extents)
        new, gone = _exif(payload, mode) if kind == _EXIF else _xmp(payload, kind, mode)
        if new != payload:
            edits.extend(_written_back(extents, payload, new))
            removed.extend(gone)
    return edits, removed


def _meta_box(file: IO[bytes], size: int) -> _Box | None:
    """The file-level `meta` box, found by walking the top-level boxes' headers."""
    if read_exact(file, 4, 4, "the ftyp box") != b"ftyp":
        raise MetadataError("the file does not start with its ftyp box")
    meta: _Box | None = None
    at = 0
    for _ in range(_MOST_BOXES):
        if at >= size:
            break
        box = _box(read_exact(file, at, min(16, size - at), "a box header"), at, size)
        if box.kind == b"meta" and meta is not None:
            raise MetadataError(f"a second meta box at offset {at}")
        if box.kind == b"meta":
            meta = box
        at = box.end
    else:
        raise MetadataError(f"the file has more than {_MOST_BOXES} top-level boxes")
    if meta is not None and meta.end - meta.start > _LARGEST_META:
        raise MetadataError(f"the meta box is implausibly large ({meta.end - meta.start} bytes)")
    return meta


def _item_kinds(data: bytes, iinf: _Box, base: int) -> dict[int, str]:
    """The Exif and XMP items the `iinf` box lists, by item ID."""
    fields = _Fields(data, iinf.body - base, iinf.end - base, "iinf")
    version = fields.uint(4) >> 24
    fields.uint(2 if version == 0 else 4)  # entry_count: the boxes that follow say as much
    kinds: dict[int, str] = {}
    for infe in _children(data, fields.at, fields.end, base):
        if infe.kind != b"infe":
            continue
        entry = _Fields(data, infe.body - base, infe.end - base, "infe")
        version = entry.uint(4) >> 24
        if version >= 2:
            item = entry.uint(2 if version == 2 else 4)
            entry.uint(2)  # item_protection_index
            item_type = entry.uint(4).to_bytes(4, "big")
            entry.string()  # item_name
        else:  # versions 0 and 1 have no item type: a content type says what it is
            item, item_type = entry.uint(2), b"mime"
            entry.uint(2)
            entry.string()
        if item_type == b"Exif":
            kinds[item] = _EXIF
        elif item_type == b"mime":
            content_type = entry.string().partition(b";")[0].strip().lower()
            encoding = entry.string() if entry.at < entry.end else b""
            if content_type == _XMP_TYPE:
                kinds[item] = _PACKED_XMP if encoding.strip(b"\0 ") else _XMP
    return kinds


def _locations(data: bytes, iloc: _Box, base: int) -> dict[int, _Location]:
    """Where each item's data lies, by item ID, as the `iloc` box (versions 0 to 2) says."""
    fields = _Fields(data, iloc.body - base, iloc.end - base, "iloc")
    version = fields.uint(4) >> 24
    if version > 2:
        raise MetadataError(f"the iloc box has an unknown version ({version})")
    sizes = fields.uint(2)
    offset_size, length_size, base_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15
    index_size = sizes & 15 if version > 0 else 0
    if any(n not in (0, 4, 8) for n in (offset_size, length_size, base_size, index_size)):
        raise MetadataError("the iloc box has field sizes other than 0, 4 or 8 bytes")
    wide = 4 if version == 2 else 2
    locations: dict[int, _Location] = {}
    for _ in range(fields.uint(wide)):
        item = fields.uint(wide)
        method = fields.uint(2) & 15 if version > 0 else 0
        reference = fields.uint(2)
        base_offset = fields.uint(base_size)
        extents = []
        for _ in range(fields.uint(2)):
            fields.uint(index_size)  # the item_reference_index of construction method 2
            offset = fields.uint(offset_size)
            extents.append((base_offset + offset, fields.uint(length_size)))
        if item in locations:
            raise MetadataError(f"the iloc box lists item {item} twice")
        locations[item] = _Location(method, reference, tuple(extents))
    return locations


def _file_extents(
    location: _Location, idat: _Box | None, size: int, kind: str, item: int
) -> list[tuple[int, int]]:
    """The item's extents as (offset, length) in the file; a length of 0 runs to the end of
    the file (or of `idat`)."""
    if location.method == 0:
        start, end = 0, size
    elif location.method == 1 and idat is not None:
        start, end = idat.body, idat.end
    elif location.method == 1:
        raise MetadataError(f"the {kind} item {item} lies in an idat box the file lacks")
    else:  # 2: built out of another item's data, which imgsync does not follow
        raise MetadataError(
            f"the {kind} item {item} has construction method {location.method}, "
            "which imgsync can't follow"
        )
    extents = []
    for offset, length in location.extents:
        at = start + offset
        length = length or end - at
        if at + length > end or length < 0:
            raise MetadataError(f"the {kind} item {item} runs past the end of its data")
        extents.append((at, length))
    return extents


def _written_back(extents: list[tuple[int, int]], old: bytes, new: bytes) -> list[Edit]:
    """The item's new bytes cut back into its extents: a patch for each extent that changed."""
    edits = []
    done = 0
    for at, length in extents:
        if new[done : done + length] != old[done : done + length]:
            edits.append(patch(at, new[done : done + length]))
        done += length
    return edits


def _exif(payload: bytes, mode: str) -> tuple[bytes, list[str]]:
    """The Exif item without its location (or, in "all" mode, holding only the orientation);
    one that can't be read is blanked whole."""
    if len(payload) < 4:
        return bytes(len(payload)), ["unreadable Exif"]
    tiff_at = 4 + int.from_bytes(payload[:4], "big")
    tiff = payload[tiff_at:]
    try:
        tiff_of(tiff)  # its header, at least, must be where the offset says
        if mode == "all":
            kept = orientation_only(tiff) or _empty_tiff(len(tiff))
            if len(kept) > len(tiff):
                kept = _empty_tiff(len(tiff))
            return payload[:tiff_at] + kept + bytes(len(tiff) - len(kept)), [_EXIF]
        new_tiff, what = stripped_exif(tiff)
    except MetadataError:
        return _blank_exif(len(payload)), [_EXIF if mode == "all" else "unreadable Exif"]
    return payload[:tiff_at] + new_tiff, what


def _empty_tiff(room: int) -> bytes:
    """The emptiest TIFF block that fits in `room` bytes (b"" when not even a header does)."""
    for tiff in (EMPTY_TIFF, _BARE_TIFF):
        if len(tiff) <= room:
            return tiff
    return b""


def _blank_exif(length: int) -> bytes:
    """An Exif item of `length` bytes holding nothing: an empty TIFF right after its offset
    (0), or only zeros when it is too short to hold one."""
    tiff = _empty_tiff(length - 4)
    if not tiff:
        return bytes(length)
    return bytes(4) + tiff + bytes(length - 4 - len(tiff))


def _xmp(payload: bytes, kind: str, mode: str) -> tuple[bytes, list[str]]:
    """The XMP item without its location (or anything, in "all" mode), its length kept."""
    if mode == "all" or kind == _PACKED_XMP:
        return blank_packet(payload), [_XMP]  # compressed: it can't be blanked in place
    try:
        return blank_location(payload), ["location in XMP"]
    except MetadataError:
        return blank_packet(payload), ["unreadable XMP"]
