"""Metadata stripped before upload (imgsync/privacy/): each format, each mode, the edge cases."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgsync.privacy import MetadataError, send_plan
from imgsync.privacy.xmp import blank_location
from tests.images import (
    ENTROPY,
    ICC_PROFILE,
    LATITUDE,
    LONGITUDE,
    XMP_WITH_LOCATION,
    entropy_of,
    exif_tiff,
    ifd0_tags,
    jpeg_bytes,
    png_bytes,
    png_chunk,
    png_chunks,
    png_with,
    png_xmp_chunk,
    rationals,
    riff_chunks,
    webp_bytes,
)

GPS, ORIENTATION = 0x8825, 0x0112


def sent(tmp_path: Path, data: bytes, mime: str, mode: str = "location") -> bytes:
    path = tmp_path / "image"
    path.write_bytes(data)
    plan = send_plan(path, mime, mode)
    with plan.open() as stream:
        out = stream.read()
    assert len(out) == plan.size
    return out


def exif_of_jpeg(jpeg: bytes) -> bytes:
    at = jpeg.index(b"Exif\0\0")
    (length,) = struct.unpack(">H", jpeg[at - 2 : at])
    return jpeg[at + 6 : at - 2 + length]


def no_location(data: bytes, order: str = "<") -> None:
    for values in (LATITUDE, LONGITUDE):
        assert rationals(order, values) not in data
    for word in (b"GPSLatitude", b"GPSLongitude", b"London", b"United Kingdom"):
        assert word not in data


@pytest.mark.parametrize("order", ["<", ">"])
def test_jpeg_location_mode_removes_gps_in_place_and_keeps_the_rest(
    tmp_path: Path, order: str
) -> None:
    original = jpeg_bytes(exif_tiff(order), XMP_WITH_LOCATION)
    out = sent(tmp_path, original, "image/jpeg")
    assert len(out) == len(original)  # nothing moved
    no_location(out, order)
    tags = ifd0_tags(exif_of_jpeg(out))
    assert GPS not in tags
    assert tags[ORIENTATION][:2] == struct.pack(order + "H", 6)
    assert 0x8769 in tags  # the Exif IFD is still pointed at
    assert b"2026:05:01 12:00:00" in out
    assert b'xmp:Rating="5"' in out  # XMP that is not location stays
    assert ICC_PROFILE in out
    assert entropy_of(out) == entropy_of(original)


def test_jpeg_all_mode_keeps_only_orientation_and_profile(tmp_path: Path) -> None:
    original = jpeg_bytes(exif_tiff(">", orientation=8), XMP_WITH_LOCATION)
    out = sent(tmp_path, original, "image/jpeg", "all")
    no_location(out, ">")
    assert b"2026:05:01" not in out and b"xmpmeta" not in out
    tags = ifd0_tags(exif_of_jpeg(out))
    assert list(tags) == [ORIENTATION] and tags[ORIENTATION][:2] == b"\x08\0"
    assert ICC_PROFILE in out
    assert entropy_of(out) == entropy_of(original)


def test_none_mode_and_images_without_metadata_are_sent_as_they_are(tmp_path: Path) -> None:
    with_gps = jpeg_bytes(exif_tiff())
    assert sent(tmp_path, with_gps, "image/jpeg", "none") == with_gps
    for data, mime in [
        (jpeg_bytes(), "image/jpeg"),
        (png_bytes(), "image/png"),
        (webp_bytes(), "image/webp"),
        (jpeg_bytes(exif_tiff(gps=False)), "image/jpeg"),
    ]:
        path = tmp_path / "plain"
        path.write_bytes(data)
        assert send_plan(path, mime, "location").removed == ()
        assert sent(tmp_path, data, mime, "all" if data is with_gps else "location") == data


def test_a_gps_pointer_out_of_range_is_removed_without_a_crash(tmp_path: Path) -> None:
    original = jpeg_bytes(exif_tiff(gps_offset=0xFFFF00))
    out = sent(tmp_path, original, "image/jpeg")
    tags = ifd0_tags(exif_of_jpeg(out))
    assert GPS not in tags and ORIENTATION in tags
    assert len(out) == len(original)


def test_unreadable_exif_is_dropped_whole_and_a_broken_jpeg_refused(tmp_path: Path) -> None:
    broken_exif = jpeg_bytes(b"XX*\0" + bytes(40) + rationals("<", LATITUDE))
    out = sent(tmp_path, broken_exif, "image/jpeg")
    assert b"Exif\0\0" not in out and rationals("<", LATITUDE) not in out
    assert entropy_of(out) == entropy_of(broken_exif)
    cut = jpeg_bytes(exif_tiff())[:40]
    (tmp_path / "cut.jpg").write_bytes(cut)
    with pytest.raises(MetadataError, match="JPEG segment"):
        send_plan(tmp_path / "cut.jpg", "image/jpeg", "location")


def test_png_exif_and_xmp_stripped_with_right_crcs(tmp_path: Path) -> None:
    original = png_with(
        png_chunk(b"iCCP", b"icc\0\0" + ICC_PROFILE),
        png_chunk(b"eXIf", exif_tiff(">")),
        png_xmp_chunk(XMP_WITH_LOCATION),
    )
    out = sent(tmp_path, original, "image/png")
    assert len(out) == len(original)
    no_location(out, ">")
    chunks = png_chunks(out)
    assert all(right for _, _, right in chunks)
    exif = next(data for kind, data, _ in chunks if kind == b"eXIf")
    assert GPS not in ifd0_tags(exif) and ORIENTATION in ifd0_tags(exif)
    before = {k: d for k, d, _ in png_chunks(original)}
    after = {k: d for k, d, _ in chunks}
    assert after[b"IDAT"] == before[b"IDAT"] and after[b"iCCP"] == before[b"iCCP"]


def test_png_compressed_xmp_and_raw_profiles_are_dropped(tmp_path: Path) -> None:
    original = png_with(
        png_xmp_chunk(XMP_WITH_LOCATION, compressed=True),
        png_chunk(b"zTXt", b"Raw profile type exif\0\0" + b"x" * 40),
        png_chunk(b"tEXt", b"Comment\0kept"),
    )
    out = sent(tmp_path, original, "image/png")
    kinds = [kind for kind, _, _ in png_chunks(out)]
    assert kinds == [b"IHDR", b"tEXt", b"IDAT", b"IEND"]
    all_out = sent(tmp_path, original, "image/png", "all")
    assert [kind for kind, _, _ in png_chunks(all_out)] == [b"IHDR", b"IDAT", b"IEND"]


def test_png_cut_short_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cut.png").write_bytes(png_with(png_chunk(b"eXIf", exif_tiff()))[:60])
    with pytest.raises(MetadataError, match="cut short"):
        send_plan(tmp_path / "cut.png", "image/png", "location")


def test_webp_location_in_place_and_all_mode_fixes_riff_size_and_flags(tmp_path: Path) -> None:
    original = webp_bytes(exif_tiff(), XMP_WITH_LOCATION)
    out = sent(tmp_path, original, "image/webp")
    assert len(out) == len(original)
    no_location(out)
    chunks = riff_chunks(out)
    assert GPS not in ifd0_tags(chunks[b"EXIF"]) and ORIENTATION in ifd0_tags(chunks[b"EXIF"])
    assert chunks[b"VP8L"] == riff_chunks(original)[b"VP8L"]
    assert chunks[b"ICCP"] == ICC_PROFILE
    all_out = sent(tmp_path, original, "image/webp", "all")
    (riff_size,) = struct.unpack("<I", all_out[4:8])
    assert riff_size == len(all_out) - 8
    chunks = riff_chunks(all_out)
    assert b"XMP " not in chunks and list(ifd0_tags(chunks[b"EXIF"])) == [ORIENTATION]
    assert chunks[b"VP8X"][0] == 0x20 | 0x08  # ICC and EXIF flags; XMP's cleared
    assert ENTROPY[:101] in chunks[b"VP8L"]


def test_xmp_blanking_keeps_the_length_and_other_properties() -> None:
    blanked = blank_location(XMP_WITH_LOCATION)
    assert len(blanked) == len(XMP_WITH_LOCATION)
    assert b"GPS" not in blanked and b"City" not in blanked and b"Country" not in blanked
    assert b'xmp:Rating="5"' in blanked and b"</rdf:Description>" in blanked
    with pytest.raises(MetadataError):
        blank_location(XMP_WITH_LOCATION.decode().encode("utf-16"))


def test_the_stream_seeks_and_reads_across_edits(tmp_path: Path) -> None:
    original = jpeg_bytes(exif_tiff(), XMP_WITH_LOCATION)
    whole = sent(tmp_path, original, "image/jpeg", "all")
    plan = send_plan(tmp_path / "image", "image/jpeg", "all")
    with plan.open() as stream:
        stream.seek(0, 2)
        assert stream.tell() == len(whole)
        stream.seek(5)
        pieces = [stream.read(7) for _ in range(len(whole) // 7 + 1)]
    assert b"".join(pieces) == whole[5:]


def test_strip_metadata_is_read_globally_and_per_profile_and_no_host_sees_it(
    tmp_path: Path,
) -> None:
    import httpx

    from imgsync.config import load_settings, resolve_host
    from imgsync.errors import ConfigError
    from imgsync.hosts import create_host

    (tmp_path / "imgsync.toml").write_text(
        'strip_metadata = "all"\nhost = "a"\n'
        '[hosts.a]\ntype = "lsky"\nurl = "https://img.example.com/api/v1"\ntoken = "t"\n'
        'strip_metadata = "none"\n'
        '[hosts.b]\ntype = "lsky"\nurl = "https://img.example.com/api/v1"\ntoken = "t"\n'
    )
    settings = load_settings(cwd=tmp_path, env={})
    assert settings.strip_metadata == "all"
    a, b = resolve_host(settings, "a"), resolve_host(settings, "b")
    assert (a.strip_metadata, b.strip_metadata) == ("none", None)
    assert "strip_metadata" not in a.options
    with httpx.Client() as http:
        create_host(a, http)  # Lsky's own option check would refuse a key it doesn't know
    (tmp_path / "imgsync.toml").write_text('strip_metadata = "gps"\n')
    with pytest.raises(ConfigError, match='`strip_metadata` must be "location"'):
        load_settings(cwd=tmp_path, env={})


@pytest.mark.parametrize("order", ["<", ">"])
def test_a_tiff_file_loses_its_gps_in_place(tmp_path: Path, order: str) -> None:
    original = exif_tiff(order) + ENTROPY  # a TIFF file's structure, image strips after it
    for mode in ("location", "all"):
        out = sent(tmp_path, original, "image/tiff", mode)
        assert len(out) == len(original) and out.endswith(ENTROPY)
        assert GPS not in ifd0_tags(out) and ORIENTATION in ifd0_tags(out)
        no_location(out, order)


def test_iptc_place_names_are_blanked_in_location_mode(tmp_path: Path) -> None:
    def dataset(number: int, value: bytes) -> bytes:
        return b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(value)) + value

    iim = dataset(5, b"Holiday") + dataset(90, b"London") + dataset(101, b"United Kingdom")
    resource = b"8BIM\x04\x04\0\0" + struct.pack(">I", len(iim)) + iim + b"\0" * (len(iim) & 1)
    app13 = b"Photoshop 3.0\0" + resource
    original = jpeg_bytes(exif_tiff())
    at = original.index(b"\xff\xdb")
    original = original[:at] + b"\xff\xed" + struct.pack(">H", len(app13) + 2) + app13
    original += jpeg_bytes(exif_tiff())[at:]
    out = sent(tmp_path, original, "image/jpeg")
    assert len(out) == len(original) and b"Holiday" in out
    no_location(out)
    assert b"Photoshop 3.0" not in sent(tmp_path, original, "image/jpeg", "all")


def test_png_all_mode_keeps_a_minimal_exif_with_the_orientation(tmp_path: Path) -> None:
    original = png_with(png_chunk(b"eXIf", exif_tiff(">", orientation=3)))
    chunks = png_chunks(sent(tmp_path, original, "image/png", "all"))
    exif = next(data for kind, data, _ in chunks if kind == b"eXIf")
    assert ifd0_tags(exif) == {ORIENTATION: b"\3\0\0\0"}
    assert all(right for _, _, right in chunks)


_DAMAGEABLE = {
    "image/jpeg": jpeg_bytes(exif_tiff(">"), XMP_WITH_LOCATION),
    "image/png": png_with(png_chunk(b"eXIf", exif_tiff()), png_xmp_chunk(XMP_WITH_LOCATION)),
    "image/webp": webp_bytes(exif_tiff(), XMP_WITH_LOCATION),
    "image/tiff": exif_tiff(">") + ENTROPY,
}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mime=st.sampled_from(sorted(_DAMAGEABLE)),
    mode=st.sampled_from(["location", "all"]),
    damage=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 3000),
)
def test_damaged_metadata_never_crashes(
    tmp_path: Path, mime: str, mode: str, damage: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(_DAMAGEABLE[mime])
    for at, value in damage:
        data[at % len(data)] = value
    path = tmp_path / "damaged"
    path.write_bytes(bytes(data[: max(cut, 8)]))
    try:
        plan = send_plan(path, mime, mode)
    except MetadataError:
        return
    with plan.open() as stream:
        assert len(stream.read()) == plan.size
