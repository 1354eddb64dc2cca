"""AVIF (imgsync/privacy/isobmff.py): the Exif and XMP items stripped in place, every iloc
layout, and the image still decoding to the same pixels through libavif (Pillow)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, features

from imgsync.privacy import MetadataError, send_plan
from imgsync.privacy.isobmff import EMPTY_TIFF
from tests.avif_images import (
    Built,
    Item,
    box,
    built_avif,
    exif_item,
    full_box,
    meta_boxes,
    pillow_avif,
    pillow_items,
    top_boxes,
)
from tests.images import LATITUDE, XMP_WITH_LOCATION, exif_tiff, ifd0_tags, rationals

GPS, ORIENTATION, EXIF_IFD = 0x8825, 0x0112, 0x8769
XMP_TYPE = b"application/rdf+xml"


def sent(tmp_path: Path, data: bytes, mode: str = "location") -> tuple[bytes, tuple[str, ...]]:
    path = tmp_path / "image.avif"
    path.write_bytes(data)
    plan = send_plan(path, "image/avif", mode)
    with plan.open() as stream:
        out = stream.read()
    assert len(out) == plan.size == len(data)  # nothing moves in an AVIF
    return out, plan.removed


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def gps_of(data: bytes) -> dict[int, object]:
    return dict(decoded(data).getexif().get_ifd(GPS))


def outside(data: bytes, ranges: list[tuple[int, int]]) -> bytes:
    """`data` with the byte `ranges` zeroed: what must be identical before and after."""
    out = bytearray(data)
    for at, length in ranges:
        out[at : at + length] = bytes(length)
    return bytes(out)


def no_location(data: bytes) -> None:
    for order in "<>":  # Pillow writes the Exif it is given in its own byte order
        assert rationals(order, LATITUDE) not in data
    for word in (b"GPSLatitude", b"GPSLongitude", b"London", b"United Kingdom"):
        assert word not in data


def test_pillow_can_write_avif() -> None:
    assert features.check("avif")  # the tests below need it: pillow in the dev extra has it


@pytest.mark.parametrize("order", ["<", ">"])
def test_a_pillow_avif_loses_its_location_and_keeps_irot_colr_and_pixels(
    tmp_path: Path, order: str
) -> None:
    original = pillow_avif(exif_tiff(order), XMP_WITH_LOCATION)
    assert gps_of(original)  # there is a location to remove
    out, removed = sent(tmp_path, original)
    assert removed == ("GPS in Exif", "location in XMP")
    assert gps_of(out) == {}
    no_location(out)
    exif = decoded(out).getexif()
    assert exif[ORIENTATION] == decoded(original).getexif()[ORIENTATION] == 6  # from irot
    assert EXIF_IFD in exif and b"2026:05:01 12:00:00" in out
    assert b'xmp:Rating="5"' in out
    items = pillow_items(original)
    assert pillow_items(out) == items
    assert meta_boxes(out) == meta_boxes(original)  # irot, colr, iloc... untouched
    assert b"irot" in meta_boxes(out)[b"iprp"] and b"colr" in meta_boxes(out)[b"iprp"]
    metadata = [items[b"Exif"], items[b"mime"]]
    assert outside(out, metadata) == outside(original, metadata)  # the image data as it was
    assert decoded(out).tobytes() == decoded(original).tobytes()


def test_a_pillow_avif_in_all_mode_keeps_an_empty_exif_and_an_empty_xmp_packet(
    tmp_path: Path,
) -> None:
    original = pillow_avif(exif_tiff(">"), XMP_WITH_LOCATION)
    out, removed = sent(tmp_path, original, "all")
    assert removed == ("Exif", "XMP")
    no_location(out)
    assert b"2026:05:01" not in out and b"Rating" not in out
    exif_at, exif_length = pillow_items(out)[b"Exif"]
    exif = out[exif_at : exif_at + exif_length]
    assert exif[4:10] == b"Exif\0\0" and exif[10:24] == EMPTY_TIFF  # Pillow moved orientation
    assert not any(exif[24:])
    xmp_at, xmp_length = pillow_items(out)[b"mime"]
    xmp = out[xmp_at : xmp_at + xmp_length]
    assert xmp.startswith(XMP_WITH_LOCATION.split(b"\n")[0]) and xmp.endswith(
        b'<?xpacket end="w"?>'
    )
    assert b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>' in xmp
    image = decoded(out)
    assert dict(image.getexif()) == {ORIENTATION: 6}  # irot's, still there
    assert image.tobytes() == decoded(original).tobytes()
    assert meta_boxes(out)[b"iprp"] == meta_boxes(original)[b"iprp"]


def test_an_avif_without_metadata_or_with_none_is_sent_as_it_is(tmp_path: Path) -> None:
    plain = pillow_avif()
    assert sent(tmp_path, plain) == (plain, ())
    iloc = meta_boxes(plain)[b"iloc"]
    odd_iloc = plain.replace(iloc, iloc[:8] + b"\7" + iloc[9:])  # unread: no Exif nor XMP
    assert sent(tmp_path, odd_iloc) == (odd_iloc, ())
    assert sent(tmp_path, plain, "all") == (plain, ())
    with_gps = pillow_avif(exif_tiff(), XMP_WITH_LOCATION)
    assert sent(tmp_path, with_gps, "none") == (with_gps, ())
    no_place = pillow_avif(exif_tiff(gps=False), b'<x:xmpmeta xmp:Rating="5"/>')
    assert sent(tmp_path, no_place) == (no_place, ())  # Exif and XMP, but no location in them


LAYOUTS = {
    "iloc v0, 4-byte offsets": {},
    "iloc v1, base offsets": {"iloc_version": 1, "base_offset_size": 4},
    "iloc v2, 8-byte fields": {
        "iloc_version": 2,
        "offset_size": 8,
        "length_size": 8,
        "base_offset_size": 8,
    },
    "largesize mdat": {"large_mdat": True},
    "infe v3": {"iloc_version": 2, "infe_version": 3},
}


def exif_bytes(built: Built, data: bytes, item: int = 2) -> bytes:
    return b"".join(data[at : at + length] for at, length in built.extents[item])


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("pieces", [1, 3])
def test_every_iloc_layout_is_followed(tmp_path: Path, layout: str, pieces: int) -> None:
    built = built_avif(
        Item(b"Exif", exif_item(exif_tiff(">")), pieces=pieces),
        Item(b"mime", XMP_WITH_LOCATION, XMP_TYPE, pieces=pieces),
        **LAYOUTS[layout],  # type: ignore[arg-type]
    )
    assert gps_of(built.data)
    out, removed = sent(tmp_path, built.data)
    assert removed == ("GPS in Exif", "location in XMP")
    assert gps_of(out) == {}
    no_location(out)
    tiff = exif_bytes(built, out)[10:]
    assert GPS not in ifd0_tags(tiff) and ifd0_tags(tiff)[ORIENTATION][:2] == b"\0\6"
    metadata = built.extents[2] + built.extents[3]
    assert outside(out, metadata) == outside(built.data, metadata)
    assert decoded(out).tobytes() == decoded(built.data).tobytes()


@pytest.mark.parametrize("pieces", [1, 2])
def test_items_in_idat_are_edited_inside_the_meta_box(tmp_path: Path, pieces: int) -> None:
    built = built_avif(
        Item(b"Exif", exif_item(exif_tiff("<")), in_idat=True, pieces=pieces),
        Item(b"mime", XMP_WITH_LOCATION, XMP_TYPE, in_idat=True),
        iloc_version=1,
    )
    out, removed = sent(tmp_path, built.data)
    assert removed == ("GPS in Exif", "location in XMP")
    assert gps_of(out) == {} and gps_of(built.data)
    no_location(out)
    metadata = built.extents[2] + built.extents[3]
    assert outside(out, metadata) == outside(built.data, metadata)
    assert decoded(out).tobytes() == decoded(built.data).tobytes()


def test_all_mode_keeps_the_exif_orientation_alone(tmp_path: Path) -> None:
    built = built_avif(Item(b"Exif", exif_item(exif_tiff(">", orientation=3), prefix=b"")))
    out, removed = sent(tmp_path, built.data, "all")
    assert removed == ("Exif",)
    exif = exif_bytes(built, out)
    assert exif[:4] == bytes(4) and ifd0_tags(exif[4:]) == {ORIENTATION: b"\3\0\0\0"}
    assert b"2026:05:01" not in out
    assert decoded(out).tobytes() == decoded(built.data).tobytes()


@pytest.mark.parametrize("room", [4, 10, 20])
def test_all_mode_fits_what_it_keeps_in_a_tiny_exif_item(tmp_path: Path, room: int) -> None:
    tiff = b"MM\0*" + struct.pack(">I", 0) + bytes(room - 8) if room >= 8 else b"MM"
    built = built_avif(Item(b"Exif", exif_item(tiff, prefix=b"")))
    out, _ = sent(tmp_path, built.data, "all")
    exif = exif_bytes(built, out)
    expected = {
        4: bytes(6),  # no TIFF fits: zeros
        10: bytes(4) + b"II*\0" + bytes(6),
        20: bytes(4) + EMPTY_TIFF + bytes(6),
    }
    assert exif == expected[room]


@pytest.mark.parametrize(
    "payload",
    [
        exif_item(b"XX*\0" + bytes(40) + rationals("<", LATITUDE)),  # no TIFF header
        struct.pack(">I", 9999) + exif_tiff(),  # an offset past the item
        exif_item(exif_tiff()[:30] + rationals("<", LATITUDE)),  # IFDs past the item's end
    ],
)
def test_an_unreadable_exif_item_is_blanked_and_the_image_still_decodes(
    tmp_path: Path, payload: bytes
) -> None:
    built = built_avif(Item(b"Exif", payload))
    out, removed = sent(tmp_path, built.data)
    assert removed == ("unreadable Exif",)
    exif = exif_bytes(built, out)
    assert exif == bytes(4) + EMPTY_TIFF + bytes(len(payload) - 18)
    assert rationals("<", LATITUDE) not in out
    assert decoded(out).tobytes() == decoded(pillow_avif()).tobytes()  # libavif takes it


def test_xmp_compressed_in_utf16_or_in_an_old_infe_is_blanked_whole(tmp_path: Path) -> None:
    utf16 = XMP_WITH_LOCATION.decode().encode("utf-16")
    built = built_avif(
        Item(b"mime", b"x\x9c" + b"London" * 20, XMP_TYPE, encoding=b"deflate"),
        Item(b"mime", utf16, b"application/rdf+xml; charset=utf-16"),
        Item(b"mime", b"<xml>London</xml>", b"text/xml"),  # not XMP: kept
    )
    out, removed = sent(tmp_path, built.data)
    assert removed == ("XMP", "unreadable XMP")
    assert exif_bytes(built, out, 2) == b" " * 122 and exif_bytes(built, out, 3) == b" " * len(
        utf16
    )
    assert exif_bytes(built, out, 4) == b"<xml>London</xml>"
    for version in (0, 1):
        old = built_avif(Item(b"mime", XMP_WITH_LOCATION, XMP_TYPE), infe_version=version)
        out, removed = sent(tmp_path, old.data)
        assert removed == ("location in XMP",)
        no_location(out)


def test_data_in_another_file_or_without_a_location_is_left_alone(tmp_path: Path) -> None:
    built = built_avif(Item(b"Exif", exif_item(exif_tiff())))
    iloc = meta_boxes(built.data)[b"iloc"]
    elsewhere = iloc.replace(struct.pack(">HH", 2, 0), struct.pack(">HH", 2, 1), 1)
    assert elsewhere != iloc
    moved = built.data.replace(iloc, elsewhere)
    assert sent(tmp_path, moved) == (moved, ())


def with_meta_child(built: Built, child: bytes) -> bytes:
    """`built` with `child` appended to its meta box (the mdat's offsets moved along)."""
    assert b"idat" not in meta_boxes(built.data)
    body, end = top_boxes(built.data)[b"meta"]
    meta = built.data[body - 8 : end]
    grown = struct.pack(">I", len(meta) + len(child)) + meta[4:] + child
    return built.data[: body - 8] + grown + built.data[end:]


def broken(name: str) -> bytes:
    built = built_avif(Item(b"Exif", exif_item(exif_tiff())))
    data = built.data
    iloc = meta_boxes(data)[b"iloc"]
    meta_body = top_boxes(data)[b"meta"][0]
    if name == "cut short":
        return data[: len(data) - 40]
    if name == "cut inside the meta box":
        return data[: meta_body + 20]
    if name == "meta claims to be huge":
        return data[: meta_body - 8] + struct.pack(">I", 0x7FFFFFF0) + data[meta_body - 4 :]
    if name == "meta is huge":
        return with_meta_child(built, box(b"free", bytes(5 * 1024 * 1024)))
    if name == "iloc version 3":
        return data.replace(iloc, iloc[:8] + b"\3" + iloc[9:])
    if name == "iloc 2-byte offsets":
        return data.replace(iloc, iloc[:12] + b"\x24" + iloc[13:])
    if name == "exif past the end":
        (at, length) = built.extents[2][0]
        return data[: at + length - 4]
    if name == "a box smaller than its header":
        return data + struct.pack(">I4s", 4, b"free")
    if name == "metadata items are huge":
        return built_avif(Item(b"mime", b" " * (16 * 1024 * 1024 + 1), XMP_TYPE)).data
    if name == "too many boxes":
        return data + struct.pack(">I4s", 8, b"free") * 100_000
    if name == "an item located twice":
        two = built_avif(Item(b"Exif", exif_item(exif_tiff())), Item(b"mime", XMP_WITH_LOCATION))
        two_iloc = meta_boxes(two.data)[b"iloc"]
        twice = two_iloc.replace(struct.pack(">HH", 3, 0), struct.pack(">HH", 2, 0), 1)
        assert twice != two_iloc
        return two.data.replace(two_iloc, twice)
    if name == "no ftyp":
        return b"\0\0\0\x08wide" + data
    if name == "second meta":
        return data + full_box(b"meta", 0, b"")
    if name == "idat missing":
        v1 = built_avif(Item(b"Exif", exif_item(exif_tiff())), iloc_version=1)
        v1_iloc = meta_boxes(v1.data)[b"iloc"]
        method = v1_iloc.index(struct.pack(">HHH", 2, 0, 0)) + 2
        return v1.data.replace(v1_iloc, v1_iloc[:method] + b"\0\1" + v1_iloc[method + 2 :])
    assert name == "construction method 2"
    v1 = built_avif(Item(b"Exif", exif_item(exif_tiff())), iloc_version=1)
    v1_iloc = meta_boxes(v1.data)[b"iloc"]
    method = v1_iloc.index(struct.pack(">HHH", 2, 0, 0)) + 2
    return v1.data.replace(v1_iloc, v1_iloc[:method] + b"\0\2" + v1_iloc[method + 2 :])


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("cut short", "runs past its end or is cut short"),
        ("cut inside the meta box", "runs past its end or is cut short"),
        ("meta claims to be huge", "runs past its end or is cut short"),
        ("meta is huge", "meta box is implausibly large"),
        ("iloc version 3", "unknown version"),
        ("iloc 2-byte offsets", "field sizes"),
        ("exif past the end", "runs past its end|runs past the end of its data"),
        ("a box smaller than its header", "runs past its end"),
        ("metadata items are huge", "items are implausibly large"),
        ("too many boxes", "more than 100000 top-level boxes"),
        ("an item located twice", "lists item 2 twice"),
        ("no ftyp", "ftyp"),
        ("second meta", "a second meta box"),
        ("idat missing", "idat box the file lacks"),
        ("construction method 2", "construction method 2"),
    ],
)
def test_a_structure_that_cant_be_followed_is_refused(
    tmp_path: Path, name: str, reason: str
) -> None:
    path = tmp_path / "broken.avif"
    path.write_bytes(broken(name))
    for mode in ("location", "all"):
        with pytest.raises(MetadataError, match=reason):
            send_plan(path, "image/avif", mode)
    assert send_plan(path, "image/avif", "none").removed == ()


_DAMAGEABLE = built_avif(
    Item(b"Exif", exif_item(exif_tiff()), pieces=2),
    Item(b"mime", XMP_WITH_LOCATION, XMP_TYPE),
    iloc_version=1,
).data


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mode=st.sampled_from(["location", "all"]),
    damage=st.lists(st.tuples(st.integers(0, 1400), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 2000),
)
def test_damaged_avif_never_crashes(
    tmp_path: Path, mode: str, damage: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(_DAMAGEABLE)
    for at, value in damage:
        data[at % len(data)] = value
    path = tmp_path / "damaged.avif"
    path.write_bytes(bytes(data[: max(cut, 8)]))
    try:
        plan = send_plan(path, "image/avif", mode)
    except MetadataError:
        return
    with plan.open() as stream:
        assert len(stream.read()) == plan.size
