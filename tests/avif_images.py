"""AVIF files for the tests: made by Pillow (libavif), or built box by box around the image
data Pillow encoded, so that every ISOBMFF layout a writer may choose still decodes."""

from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass, field

from PIL import Image


def pattern(size: int = 24) -> Image.Image:
    """An image with different pixels everywhere, so a decoded copy is compared for real."""
    image = Image.new("RGB", (size, size))
    image.putdata(
        [((x * 37) % 256, (y * 53) % 256, (x * y) % 256) for y in range(size) for x in range(size)]
    )
    return image


@functools.cache
def pillow_avif(exif: bytes | None = None, xmp: bytes | None = None) -> bytes:
    """An AVIF written by Pillow: `exif` (a TIFF block) becomes its Exif item, with Pillow's
    orientation moved to an `irot` property; an ICC profile gives it a `colr` property."""
    out = io.BytesIO()
    options: dict[str, object] = {"icc_profile": _srgb_profile(), "quality": 90, "speed": 8}
    if exif is not None:
        options["exif"] = b"Exif\0\0" + exif
    if xmp is not None:
        options["xmp"] = xmp
    pattern().save(out, format="AVIF", **options)
    return out.getvalue()


def _srgb_profile() -> bytes:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return bytes(profile.tobytes())


def box(kind: bytes, payload: bytes, large: bool = False) -> bytes:
    if large:  # size 1: the real size in 64 bits after the type
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full_box(kind: bytes, version: int, payload: bytes, flags: int = 0) -> bytes:
    return box(kind, struct.pack(">I", version << 24 | flags) + payload)


def top_boxes(data: bytes) -> dict[bytes, tuple[int, int]]:
    """The top-level boxes by kind: (content offset, end), the test's own reading."""
    found = {}
    at = 0
    while at < len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        body = at + 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, at + 8)
            body += 8
        size = size or len(data) - at
        found[kind] = (body, at + size)
        at += size
    return found


def meta_boxes(data: bytes) -> dict[bytes, bytes]:
    """The `meta` box's children, whole (header and all), by kind."""
    body, end = top_boxes(data)[b"meta"]
    found = {}
    at = body + 4
    while at < end:
        size, kind = struct.unpack_from(">I4s", data, at)
        found[kind] = data[at : at + size]
        at += size
    return found


def pillow_items(data: bytes) -> dict[bytes, tuple[int, int]]:
    """Pillow's items by type (`av01`, `Exif`, `mime`): (file offset, length). libavif writes
    iloc version 0, 4-byte offsets and lengths, no base offset, one extent an item."""
    boxes = meta_boxes(data)
    iloc = boxes[b"iloc"]
    assert iloc[8] == 0 and iloc[12:14] == b"\x44\x00", "not the iloc layout libavif writes"
    locations = {}
    (count,) = struct.unpack_from(">H", iloc, 14)
    at = 16
    for _ in range(count):
        item, _, extents = struct.unpack_from(">HHH", iloc, at)
        assert extents == 1
        locations[item] = struct.unpack_from(">II", iloc, at + 6)
        at += 14
    types = {}
    iinf = boxes[b"iinf"]
    at = 14
    while at < len(iinf):
        (size,) = struct.unpack_from(">I", iinf, at)
        item, _, kind = struct.unpack_from(">HH4s", iinf, at + 12)
        types[kind] = locations[item]
        at += size
    return types


@dataclass(frozen=True)
class Item:
    """A metadata item of a built AVIF: its data in `pieces` extents, in `mdat` (placed in
    reverse order, apart) or in `idat`."""

    item_type: bytes  # b"Exif" or b"mime"
    data: bytes
    content_type: bytes = b""
    encoding: bytes = b""
    in_idat: bool = False
    pieces: int = 1


@dataclass(frozen=True)
class Built:
    data: bytes
    extents: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # item ID -> ranges


def built_avif(
    *items: Item,
    iloc_version: int = 0,
    offset_size: int = 4,
    length_size: int = 4,
    base_offset_size: int = 0,
    large_mdat: bool = False,
    infe_version: int = 2,
) -> Built:
    """An AVIF around Pillow's encoded picture (item 1, its `iprp` properties copied), with
    `items` as items 2, 3...: the iloc written with the field sizes given."""
    picture = pillow_avif()
    (picture_at, picture_length) = pillow_items(picture)[b"av01"]
    image = picture[picture_at : picture_at + picture_length]
    ftyp_body, ftyp_end = top_boxes(picture)[b"ftyp"]
    ftyp = picture[ftyp_body - 8 : ftyp_end]
    meta = _meta(
        items,
        image,
        0,
        iloc_version,
        offset_size,
        length_size,
        base_offset_size,
        infe_version,
        picture,
    )
    mdat_body = len(ftyp) + len(meta) + (16 if large_mdat else 8)
    meta = _meta(
        items,
        image,
        mdat_body,
        iloc_version,
        offset_size,
        length_size,
        base_offset_size,
        infe_version,
        picture,
    )
    mdat, extents = _mdat(items, image, mdat_body)
    idat = b"".join(i.data for i in items if i.in_idat)
    idat_body = len(ftyp) + len(meta) - len(idat)  # idat is the meta box's last child
    for number, item in enumerate(items, start=2):
        if item.in_idat:
            extents[number] = [
                (idat_body + at, length) for at, length in _idat_extents(items)[number]
            ]
    return Built(ftyp + meta + box(b"mdat", mdat, large=large_mdat), extents)


def _split(data: bytes, pieces: int) -> list[bytes]:
    step = -(-len(data) // pieces)
    return [data[n : n + step] for n in range(0, len(data), step)]


def _mdat(
    items: tuple[Item, ...], image: bytes, body: int
) -> tuple[bytes, dict[int, list[tuple[int, int]]]]:
    """The mdat's content and each item's extents in the file; pieces go in reverse order."""
    content = bytearray(image)
    extents: dict[int, list[tuple[int, int]]] = {1: [(body, len(image))]}
    for number, item in enumerate(items, start=2):
        if item.in_idat:
            continue
        places = []
        for piece in reversed(_split(item.data, item.pieces)):
            content += b"\xee" * 3  # bytes of no item between the pieces
            places.append((body + len(content), len(piece)))
            content += piece
        extents[number] = list(reversed(places))
    return bytes(content), extents


def _idat_extents(items: tuple[Item, ...]) -> dict[int, list[tuple[int, int]]]:
    extents: dict[int, list[tuple[int, int]]] = {}
    at = 0
    for number, item in enumerate(items, start=2):
        if item.in_idat:
            extents[number] = []
            for piece in _split(item.data, item.pieces):
                extents[number].append((at, len(piece)))
                at += len(piece)
    return extents


def _meta(
    items: tuple[Item, ...],
    image: bytes,
    mdat_body: int,
    version: int,
    offset_size: int,
    length_size: int,
    base_offset_size: int,
    infe_version: int,
    picture: bytes,
) -> bytes:
    mdat_extents = _mdat(items, image, mdat_body)[1]
    idat_extents = _idat_extents(items)
    wide = ">I" if version == 2 else ">H"
    index_size = 4 if version else 0
    iloc = struct.pack(">BB", offset_size << 4 | length_size, base_offset_size << 4 | index_size)
    iloc += struct.pack(wide, 1 + len(items))
    for number in range(1, len(items) + 2):
        in_idat = number > 1 and items[number - 2].in_idat
        extents = idat_extents[number] if in_idat else mdat_extents[number]
        base = mdat_body if base_offset_size and not in_idat else 0
        iloc += struct.pack(wide, number)
        if version:
            iloc += struct.pack(">H", 1 if in_idat else 0)
        iloc += struct.pack(">H", 0) + _uint(base, base_offset_size)
        iloc += struct.pack(">H", len(extents))
        for at, length in extents:
            iloc += (
                _uint(0, index_size) + _uint(at - base, offset_size) + _uint(length, length_size)
            )
    infes = [_infe(1, b"av01", b"", b"", 2)]
    infes += [
        _infe(n, i.item_type, i.content_type, i.encoding, infe_version)
        for n, i in enumerate(items, start=2)
    ]
    refs = b"".join(box(b"cdsc", struct.pack(">HHH", n, 1, 1)) for n in range(2, len(items) + 2))
    idat = b"".join(i.data for i in items if i.in_idat)
    children = [
        full_box(b"hdlr", 0, bytes(4) + b"pict" + bytes(12) + b"\0"),
        full_box(b"pitm", 0, struct.pack(">H", 1)),
        full_box(b"iloc", version, iloc),
        full_box(b"iinf", 0, struct.pack(">H", len(infes)) + b"".join(infes)),
        full_box(b"iref", 0, refs),
        meta_boxes(picture)[b"iprp"],
    ]
    if idat:
        children.append(box(b"idat", idat))
    return full_box(b"meta", 0, b"".join(children))


def _infe(number: int, kind: bytes, content_type: bytes, encoding: bytes, version: int) -> bytes:
    if version < 2:
        strings = b"\0" + (content_type or kind) + b"\0" + encoding + (b"\0" if encoding else b"")
        return full_box(b"infe", version, struct.pack(">HH", number, 0) + strings)
    head = struct.pack(">I" if version == 3 else ">H", number) + struct.pack(">H", 0) + kind + b"\0"
    if kind == b"mime":
        head += content_type + b"\0" + (encoding + b"\0" if encoding else b"")
    return full_box(b"infe", version, head)


def _uint(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big") if size else b""


def exif_item(tiff: bytes, prefix: bytes = b"Exif\0\0") -> bytes:
    """An Exif item's data: the offset to the TIFF header, `prefix`, the TIFF block."""
    return struct.pack(">I", len(prefix)) + prefix + tiff
