"""Real image bytes for tests, made here (no binary fixtures needed)."""

from __future__ import annotations

import struct
import zlib


def png_bytes(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    """A valid RGB PNG of one colour."""
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def bmp_bytes(width: int = 1, height: int = 1) -> bytes:
    """A valid 24-bit BMP (BITMAPINFOHEADER) of black pixels."""
    row = (width * 3 + 3) // 4 * 4
    pixels = b"\0" * row * height
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    header = struct.pack("<2sIHHI", b"BM", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return header + info + pixels


# Latitude 51°30'26.4"N and longitude 0°7'39.6"W as Exif rationals: distinct bytes a test can
# look for in what was sent.
LATITUDE = ((51, 1), (30, 1), (264, 10))
LONGITUDE = ((0, 1), (7, 1), (396, 10))
ICC_PROFILE = b"fake-icc-profile-" + bytes(range(64))
ENTROPY = bytes((n * 7 + 3) % 255 for n in range(600))  # no 0xFF: no marker inside the scan


def rationals(order: str, values: tuple[tuple[int, int], ...]) -> bytes:
    return b"".join(struct.pack(order + "II", a, b) for a, b in values)


def exif_tiff(
    order: str = "<", orientation: int | None = 6, gps: bool = True, gps_offset: int | None = None
) -> bytes:
    """An Exif TIFF block: IFD0 (orientation, Exif IFD pointer, GPS pointer), an Exif IFD with
    a date, a GPS IFD with latitude and longitude out of line. `gps_offset` points the GPS
    pointer elsewhere (out of range, for the malformed case)."""

    def entry(tag: int, kind: int, count: int, value: bytes) -> bytes:
        return struct.pack(order + "HHI", tag, kind, count) + value.ljust(4, b"\0")

    def u32(n: int) -> bytes:
        return struct.pack(order + "I", n)

    ifd0_entries = 1 + (orientation is not None) + gps
    ifd0 = 8
    exif_ifd = ifd0 + 2 + 12 * ifd0_entries + 4
    date_at = exif_ifd + 2 + 12 + 4
    gps_ifd = date_at + 20
    lat_at = gps_ifd + 2 + 12 * 5 + 4
    lon_at = lat_at + 24
    entries = []
    if orientation is not None:
        entries.append(entry(0x0112, 3, 1, struct.pack(order + "H", orientation)))
    entries.append(entry(0x8769, 4, 1, u32(exif_ifd)))
    if gps:
        entries.append(entry(0x8825, 4, 1, u32(gps_ifd if gps_offset is None else gps_offset)))
    head = (b"II*\0" if order == "<" else b"MM\0*") + u32(ifd0)
    ifd0_bytes = struct.pack(order + "H", len(entries)) + b"".join(entries) + u32(0)
    exif_bytes = struct.pack(order + "H", 1) + entry(0x9003, 2, 20, u32(date_at)) + u32(0)
    date = b"2026:05:01 12:00:00\0"
    if not gps:
        return head + ifd0_bytes + exif_bytes + date
    gps_entries = [
        entry(0x0000, 1, 4, b"\2\3\0\0"),
        entry(0x0001, 2, 2, b"N\0"),
        entry(0x0002, 5, 3, u32(lat_at)),
        entry(0x0003, 2, 2, b"W\0"),
        entry(0x0004, 5, 3, u32(lon_at)),
    ]
    gps_bytes = struct.pack(order + "H", 5) + b"".join(gps_entries) + u32(0)
    values = rationals(order, LATITUDE) + rationals(order, LONGITUDE)
    return head + ifd0_bytes + exif_bytes + date + gps_bytes + values


XMP_WITH_LOCATION = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    b'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"'
    b' xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
    b' exif:GPSLatitude="51,30.44N" photoshop:City="London" xmp:Rating="5">\n'
    b"<exif:GPSLongitude>0,7.66W</exif:GPSLongitude>\n"
    b"<photoshop:Country>United Kingdom</photoshop:Country>\n"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>\n" + b" " * 200 + b'\n<?xpacket end="w"?>'
)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_bytes(exif: bytes | None = None, xmp: bytes | None = None, icc: bool = True) -> bytes:
    """A baseline JPEG's structure: JFIF, Exif and XMP (when given), an ICC profile, tables,
    one scan of entropy-coded bytes, EOI."""
    parts = [b"\xff\xd8", _segment(0xE0, b"JFIF\0\1\1\0\0\1\0\1\0\0")]
    if exif is not None:
        parts.append(_segment(0xE1, b"Exif\0\0" + exif))
    if xmp is not None:
        parts.append(_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + xmp))
    if icc:
        parts.append(_segment(0xE2, b"ICC_PROFILE\0\1\1" + ICC_PROFILE))
    parts.append(_segment(0xDB, b"\0" + bytes(range(1, 65))))
    parts.append(_segment(0xC0, b"\x08\0\x10\0\x10\x01\x01\x11\0"))
    parts.append(_segment(0xC4, b"\0" + bytes(16) + b""))
    parts.append(_segment(0xDA, b"\x01\x01\0\0\x3f\0") + ENTROPY + b"\xff\xd9")
    return b"".join(parts)


def entropy_of(jpeg: bytes) -> bytes:
    """Everything after the first SOS segment's header: the entropy-coded data and EOI."""
    sos = jpeg.index(b"\xff\xda")
    (length,) = struct.unpack(">H", jpeg[sos + 2 : sos + 4])
    return jpeg[sos + 2 + length :]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_with(*chunks: bytes, rgb: tuple[int, int, int] = (10, 20, 30)) -> bytes:
    """png_bytes with `chunks` (whole chunks) placed after IHDR."""
    plain = png_bytes(rgb=rgb)
    return plain[:33] + b"".join(chunks) + plain[33:]


def png_xmp_chunk(xmp: bytes, compressed: bool = False) -> bytes:
    text = zlib.compress(xmp) if compressed else xmp
    head = b"XML:com.adobe.xmp\0" + (b"\1\0" if compressed else b"\0\0") + b"\0\0"
    return png_chunk(b"iTXt", head + text)


def webp_bytes(exif: bytes | None = None, xmp: bytes | None = None, icc: bool = True) -> bytes:
    """An extended WebP: VP8X, ICCP, a lossless image chunk, EXIF and XMP when given."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return kind + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)

    flags = (0x20 if icc else 0) | (0x08 if exif is not None else 0) | (0x04 if xmp else 0)
    body = chunk(b"VP8X", bytes([flags, 0, 0, 0]) + (15).to_bytes(3, "little") * 2)
    if icc:
        body += chunk(b"ICCP", ICC_PROFILE)
    body += chunk(b"VP8L", b"\x2f\x0f\xc0\x03" + ENTROPY[:101])
    if exif is not None:
        body += chunk(b"EXIF", exif)
    if xmp is not None:
        body += chunk(b"XMP ", xmp)
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def riff_chunks(webp: bytes) -> dict[bytes, bytes]:
    """A WebP's chunks by kind (a test's own reading, independent of imgsync's)."""
    chunks: dict[bytes, bytes] = {}
    at = 12
    while at < len(webp):
        kind, length = struct.unpack("<4sI", webp[at : at + 8])
        chunks[kind] = webp[at + 8 : at + 8 + length]
        at += 8 + length + (length & 1)
    return chunks


def png_chunks(png: bytes) -> list[tuple[bytes, bytes, bool]]:
    """A PNG's chunks: (kind, data, CRC right), the test's own reading."""
    chunks = []
    at = 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        chunks.append((kind, data, crc == zlib.crc32(kind + data) & 0xFFFFFFFF))
        at += 12 + length
    return chunks


def ifd0_tags(tiff: bytes) -> dict[int, bytes]:
    """IFD0's entries of a TIFF block by tag (each entry's last 4 bytes), the test's own reading."""
    order = "<" if tiff[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    tags = {}
    for n in range(count):
        at = ifd + 2 + 12 * n
        (tag,) = struct.unpack(order + "H", tiff[at : at + 2])
        tags[tag] = tiff[at + 8 : at + 12]
    return tags
