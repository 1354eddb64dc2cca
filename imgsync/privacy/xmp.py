"""Location properties blanked out of an XMP packet, which keeps its length.

An XMP packet tolerates whitespace where an attribute or a property element was (and
most packets end in padding for exactly such edits), so each location property is
overwritten with as many spaces: whatever holds the packet keeps its size and offsets.
Properties are known by their local name, whatever prefix the packet binds: GPS data
(`exif:GPSLatitude`...) and the place names of Photoshop and IPTC Core/Extension.
"""

from __future__ import annotations

import re

from .malformed import MetadataError

JPEG_XMP_ID = b"http://ns.adobe.com/xap/1.0/\0"
JPEG_EXTENDED_XMP_ID = b"http://ns.adobe.com/xmp/extension/\0"
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"

_NAMES = (
    rb"GPS[A-Za-z]*|City|State|Country|CountryCode|CountryName|ProvinceState|Sublocation"
    rb"|Location|LocationCreated|LocationShown|WorldRegion"
)
_QNAME = rb"[A-Za-z_][\w.-]*:(?:" + _NAMES + rb")"
_ATTRIBUTE = re.compile(rb"(?<=\s)" + _QNAME + rb"\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_EMPTY_ELEMENT = re.compile(rb"<" + _QNAME + rb"(?:\s[^<>]*)?/>")
_ELEMENT = re.compile(rb"<(" + _QNAME + rb")(?:\s[^<>]*)?>.*?</\1\s*>", re.DOTALL)


def _spaces(match: re.Match[bytes]) -> bytes:
    # Line breaks stay where they were: a reader counting lines sees the same packet shape.
    return re.sub(rb"[^\n]", b" ", match.group(0))


def blank_location(packet: bytes) -> bytes:
    """`packet` with its location properties turned into spaces (same length).

    MetadataError for a packet that is not UTF-8 (UTF-16 and UTF-32 are allowed by
    the XMP standard, but no camera writes them): the caller drops it whole.
    """
    if b"\0" in packet:
        raise MetadataError("the XMP packet is not UTF-8")
    for pattern in (_ELEMENT, _EMPTY_ELEMENT, _ATTRIBUTE):
        packet = pattern.sub(_spaces, packet)
    return packet


_WRAPPER_HEAD = re.compile(rb"\A\s*<\?xpacket begin=[^>]*\?>")
_WRAPPER_TAIL = re.compile(rb"<\?xpacket end=[^>]*\?>\s*\Z")
_EMPTY_XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'


def blank_packet(packet: bytes) -> bytes:
    """`packet` emptied (same length): its `<?xpacket` wrapper kept around an empty
    `x:xmpmeta` and spaces, or only spaces when it has no wrapper (or is not UTF-8)."""
    head = _WRAPPER_HEAD.search(packet)
    tail = _WRAPPER_TAIL.search(packet)
    if b"\0" in packet or head is None or tail is None or tail.start() < head.end():
        return b" " * len(packet)
    room = tail.start() - head.end()
    inside = _EMPTY_XMP if room >= len(_EMPTY_XMP) else b""
    return packet[: head.end()] + inside.ljust(room) + packet[tail.start() :]
