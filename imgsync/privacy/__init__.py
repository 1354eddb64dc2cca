"""Metadata stripped before upload, losslessly: only metadata bytes change, never image data.

`send_plan(path, mime, mode)` (a mode of config_keys.STRIP_MODES) says what goes up for
one image: the file on disk seen through a few edits (edits.py), streamed by
`SendPlan.open`. One module per format (jpeg.py, png.py, webp.py, isobmff.py for AVIF);
the Exif/TIFF structure (tiff.py, TIFF files too) and XMP (xmp.py) are shared.
docs/privacy.md tells what each mode removes and keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

from .edits import Edit, SendPlan, pieces
from .malformed import MetadataError

Finder = Callable[[IO[bytes], int, str], tuple[list[Edit], list[str]]]

__all__ = ["MetadataError", "SendPlan", "send_plan"]


def send_plan(path: Path, mime: str, mode: str) -> SendPlan:
    """What to send of the image at `path` (of type `mime`) with `mode` stripped.

    OSError if the file can't be read; MetadataError if its structure can't be followed
    far enough to be sure what it holds (the image is then refused, never sent as is).
    Types without a known metadata layout (GIF, BMP, ICO, SVG) are sent unchanged.
    """
    size = path.stat().st_size
    find = None if mode == "none" else _finder(mime)
    edits: list[Edit] = []
    removed: list[str] = []
    if find is not None:
        with path.open("rb") as file:
            edits, removed = find(file, size, mode)
    try:
        parts = pieces(edits, size)
    except ValueError:
        raise MetadataError("its metadata blocks overlap") from None
    return SendPlan(path, parts, tuple(dict.fromkeys(removed)))


def _finder(mime: str) -> Finder | None:
    """What finds the edits for an image of type `mime`, if the type has a known layout;
    each format's module is loaded when an image of it comes."""
    if mime == "image/jpeg":
        from .jpeg import jpeg_edits

        return jpeg_edits
    if mime == "image/png":
        from .png import png_edits

        return png_edits
    if mime == "image/webp":
        from .webp import webp_edits

        return webp_edits
    if mime == "image/tiff":
        from .tiff import tiff_file_edits

        return tiff_file_edits
    if mime == "image/avif":
        from .isobmff import isobmff_edits

        return isobmff_edits
    return None
