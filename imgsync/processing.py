"""Optional re-encoding before upload with Pillow (the `images` extra): resize and convert.

`Processing` is what the config asks (`max_width`, `max_height`, `convert`, `quality`,
global or per profile); its `label` goes into each cache entry, so a change is seen.
`process(path, mime, processing, folder)` writes the processed bytes to a temp file in
`folder` (under `.imgsync/`) and says what it is, or None when the image is sent as it is.
Output is deterministic: fixed encoder options, and no metadata but the ICC profile
(Pillow is given none: orientation is applied to the pixels first). docs/processing.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PIL.Image import Image

    from .hosts.profile import HostProfile

PROCESSING_KEYS = ("max_width", "max_height", "convert", "quality")
CONVERT_FORMATS = ("webp", "avif", "jpeg")
INSTALL_HINT = "pip install 'imgsync[images]'"
# Types Pillow decodes reliably and that imgsync can write back; others are sent unchanged.
_READABLE = {"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp"}
_MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"}
_EXTENSION = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "avif": ".avif"}
_DEFAULT_QUALITY = {"jpeg": 85, "webp": 80, "avif": 60}


class ProcessingError(Exception):
    """An image Pillow can't decode or encode: that image fails, the others go on."""


@dataclass(frozen=True)
class Processing:
    """The processing asked for one host; all None: none (the file is sent, stripped)."""

    max_width: int | None = None
    max_height: int | None = None
    convert: str | None = None
    quality: int | None = None

    @classmethod
    def merged(cls, *layers: Mapping[str, Any]) -> Processing:
        """The global keys, then a profile's: a key the later layer sets wins."""
        values: dict[str, Any] = {}
        for layer in layers:
            values |= {key: layer[key] for key in PROCESSING_KEYS if layer.get(key) is not None}
        return cls(**values)

    @property
    def active(self) -> bool:
        return self.label is not None

    @property
    def label(self) -> str | None:
        """What the cache records, e.g. "convert=webp,max_width=800"; None: no processing."""
        parts = [f"{key}={getattr(self, key)}" for key in sorted(PROCESSING_KEYS)]
        kept = [part for part in parts if not part.endswith("=None")]
        return ",".join(kept) or None


@dataclass(frozen=True)
class Processed:
    """The processed bytes of one image, in a temp file the caller deletes."""

    path: Path
    mime: str
    extension: str
    size: int
    sha256: str
    pixels: tuple[int, int]  # width, height

    def describe(self) -> str:
        """What was made, for the run's output: "webp 800x200"."""
        return f"{self.extension[1:]} {self.pixels[0]}x{self.pixels[1]}"


def unavailable(formats: Iterable[str]) -> str | None:
    """Why processing can't be done here (Pillow missing, or without AVIF), or None."""
    try:
        from PIL import features
    except ImportError:
        return f"needs Pillow, which is not installed: {INSTALL_HINT}"
    if "avif" in formats and not features.check("avif"):
        return "asks for AVIF, which the installed Pillow can't write: use webp or jpeg"
    return None


def process(path: Path, mime: str, processing: Processing, folder: Path) -> Processed | None:
    """The image at `path` processed into a temp file in `folder`; None: nothing to do.

    Nothing to do: a type imgsync doesn't re-encode (GIF, SVG, animations...), or an image
    already small enough in its own format. Never upscales. ProcessingError if Pillow
    can't read or write it; OSError if the file or the temp file can't be.
    """
    source_format = _READABLE.get(mime)
    if source_format is None or not processing.active:
        return None
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as opened:
            if getattr(opened, "n_frames", 1) > 1:
                return None  # an animation: re-encoding one frame would lose the others
            opened.load()
            icc = opened.info.get("icc_profile")
            # The pixels turned as the Exif orientation says: the output needs no tag.
            image = ImageOps.exif_transpose(opened)
    except (OSError, Image.DecompressionBombError, SyntaxError, ValueError) as error:
        raise ProcessingError(f"Pillow can't read it: {error}") from None
    resized = _within(image, processing.max_width, processing.max_height)
    target = processing.convert or source_format
    if resized is None and target == source_format:
        return None
    image = resized or image
    return _write(_prepared(image, target), target, processing.quality, icc, folder)


def _within(image: Image, width: int | None, height: int | None) -> Image | None:
    """`image` scaled down to fit `width` x `height`, or None if it fits already."""
    from PIL import Image as PillowImage

    scale = min(
        1.0,
        width / image.width if width else 1.0,
        height / image.height if height else 1.0,
    )
    if scale >= 1.0:
        return None
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, PillowImage.Resampling.LANCZOS)


def _prepared(image: Image, target: str) -> Image:
    """A mode the target format writes: JPEG has no alpha (flattened on white)."""
    from PIL import Image as PillowImage

    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if target == "png":
        return image
    if target == "jpeg":
        if not alpha:
            return image.convert("RGB") if image.mode not in ("RGB", "L") else image
        rgba = image.convert("RGBA")
        flat = PillowImage.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGBA" if alpha else "RGB")


def _write(
    image: Image, target: str, quality: int | None, icc: bytes | None, folder: Path
) -> Processed:
    # Only these options, all fixed: the same input and settings give the same bytes. No
    # Exif, XMP or text is passed (nor taken from the source: its info is not given).
    options: dict[str, Any] = {"format": target.upper()}
    if icc:
        options["icc_profile"] = icc
    if target == "png":
        options |= {"optimize": False, "compress_level": 6}
    else:
        options["quality"] = quality if quality is not None else _DEFAULT_QUALITY[target]
    if target == "jpeg":
        options |= {"optimize": False, "progressive": False, "subsampling": 2}
    elif target == "webp":
        options |= {"method": 4, "lossless": False, "exif": b"", "xmp": b""}
    elif target == "avif":
        options |= {"speed": 6, "max_threads": 1, "exif": b"", "xmp": b""}
    image.info = {}  # what Pillow would copy from the decoded file's metadata
    import hashlib  # with tempfile, slow to import: every sync reads this module's labels
    import tempfile

    descriptor, name = tempfile.mkstemp(suffix=_EXTENSION[target], dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as file:
            try:
                image.save(file, **options)
            except (ValueError, KeyError) as error:
                raise ProcessingError(f"Pillow can't write it as {target}: {error}") from None
        digest = hashlib.sha256()
        with open(name, "rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
        size = Path(name).stat().st_size
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    kind, extension = _MIME[target], _EXTENSION[target]
    return Processed(Path(name), kind, extension, size, digest.hexdigest(), image.size)


class AskedGlobally(Protocol):
    """The global processing keys of the settings (config.Settings has them)."""

    @property
    def max_width(self) -> int | None: ...
    @property
    def max_height(self) -> int | None: ...
    @property
    def convert(self) -> str | None: ...
    @property
    def quality(self) -> int | None: ...


def processing_of(settings: AskedGlobally, profile: HostProfile) -> Processing:
    """The processing asked for this host: the global keys, then its profile's."""
    asked = {key: getattr(settings, key) for key in ("max_width", "max_height", "convert")}
    return Processing.merged(asked | {"quality": settings.quality}, profile.processing)
