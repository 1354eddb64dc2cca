"""Metadata whose structure can't be followed, and reading a file's bytes with that in mind."""

from __future__ import annotations

from typing import IO


class MetadataError(ValueError):
    """Metadata whose structure can't be followed; the message says where it breaks."""


def read_exact(file: IO[bytes], offset: int, length: int, what: str) -> bytes:
    """`length` bytes at `offset`; MetadataError naming `what` when the file ends first."""
    file.seek(offset)
    data = file.read(length)
    if len(data) != length:
        raise MetadataError(f"the file ends inside {what} (offset {offset})")
    return data
