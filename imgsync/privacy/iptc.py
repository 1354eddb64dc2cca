"""Place names blanked out of IPTC-IIM, as a JPEG's APP13 (Photoshop's resources) holds it.

Each dataset keeps its length: the place fields' values become spaces, so nothing moves.
"""

from __future__ import annotations

import struct

from .malformed import MetadataError

PHOTOSHOP_ID = b"Photoshop 3.0\0"
_IPTC_RESOURCE = 0x0404
# Record 2: content location code and name, city, sub-location, province/state, country code
# and name.
_PLACES = {26, 27, 90, 92, 95, 100, 101}


def blank_places(payload: bytes) -> bytes:
    """An APP13 payload with its IPTC place fields turned into spaces (same length);
    MetadataError when its resources can't be followed."""
    out = bytearray(payload)
    at = len(PHOTOSHOP_ID)
    while at + 12 <= len(payload) and payload[at : at + 4] == b"8BIM":
        (resource,) = struct.unpack(">H", payload[at + 4 : at + 6])
        name = 1 + payload[at + 6]
        name += name & 1  # padded to an even length
        size_at = at + 6 + name
        if size_at + 4 > len(payload):
            raise MetadataError("a Photoshop resource runs past its segment")
        (size,) = struct.unpack(">I", payload[size_at : size_at + 4])
        data = size_at + 4
        if data + size > len(payload):
            raise MetadataError("a Photoshop resource runs past its segment")
        if resource == _IPTC_RESOURCE:
            _blank_datasets(out, data, data + size)
        at = data + size + (size & 1)
    return bytes(out)


def _blank_datasets(out: bytearray, at: int, end: int) -> None:
    while at + 5 <= end and out[at] == 0x1C:
        record, dataset, length = (
            out[at + 1],
            out[at + 2],
            struct.unpack(">H", out[at + 3 : at + 5])[0],
        )
        if length & 0x8000 or at + 5 + length > end:
            raise MetadataError("an IPTC dataset runs past its resource")
        if record == 2 and dataset in _PLACES:
            out[at + 5 : at + 5 + length] = b" " * length
        at += 5 + length
