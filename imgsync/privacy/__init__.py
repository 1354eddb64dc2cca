"""Metadata stripped before upload, losslessly: only metadata bytes change, never image data.

`send_plan(path, mime, mode)` (a mode of config_keys.STRIP_MODES) says what goes up for
one image: the file on disk seen through a few edits (edits.py), streamed by
`SendPlan.open`. One module per format (jpeg.py, png.py, webp.py, isobmff.py for AVIF);
the Exif/TIFF structure (tiff.py, TIFF files too) and XMP (xmp.py) are shared.
docs/privacy.md tells what each mode removes and keeps.
"""

from __future__ import annotations

from pathlib import Path

from .edits import Edit, SendPlan, pieces
from .isobmff import isobmff_edits
from .jpeg import jpeg_edits
from .malformed import MetadataError
from .png import png_edits
from .tiff import tiff_file_edits
from .webp import webp_edits

_FORMATS = {
    "image/jpeg": jpeg_edits,
    "image/png": png_edits,
    "image/webp": webp_edits,
    "image/tiff": tiff_file_edits,
    "image/avif": isobmff_edits,
}

__all__ = ["MetadataError", "SendPlan", "send_plan"]


def send_plan(path: Path, mime: str, mode: str) -> SendPlan:
    """What to send of the image at `path` (of type `mime`) with `mode` stripped.

    OSError if the file can't be read; MetadataError if its structure can't be followed
    far enough to be sure what it holds (the image is then refused, never sent as is).
    Types without a known metadata layout (GIF, BMP, ICO, SVG) are sent unchanged.
    """
    size = path.stat().st_size
    find = _FORMATS.get(mime)
    edits: list[Edit] = []
    removed: list[str] = []
    if find is not None and mode != "none":
        with path.open("rb") as file:
            edits, removed = find(file, size, mode)
    try:
        parts = pieces(edits, size)
    except ValueError:
        raise MetadataError("its metadata blocks overlap") from None
    return SendPlan(path, parts, tuple(dict.fromkeys(removed)))
