"""Reading a Markdown file into text and writing text back, byte for byte."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import MarkdownError, OutsideProject
from ..files import atomic_write, confined, read_inside

_BOM = b"\xef\xbb\xbf"
_OTHER_BOMS = {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


@dataclass(frozen=True)
class MarkdownText:
    """A Markdown file's text, with what is needed to write it back unchanged."""

    path: Path
    text: str  # decoded, BOM removed, line endings untouched
    bom: bool
    project: Path | None = None  # where it must stay to be written (None: its own folder)

    def encode(self, text: str) -> bytes:
        """The bytes of `text` written the way this file was (UTF-8, same BOM)."""
        return (_BOM if self.bom else b"") + text.encode("utf-8")


def decode_markdown(path: Path, data: bytes, project: Path | None = None) -> MarkdownText:
    """Decode a Markdown file's bytes; MarkdownError (with the line) if it isn't UTF-8."""
    bom = data.startswith(_BOM)
    body = data[len(_BOM) :] if bom else data
    for mark, name in _OTHER_BOMS.items():
        if body.startswith(mark):
            raise MarkdownError(path, f"is {name}; imgsync reads UTF-8 Markdown only", line=1)
    if _utf16_without_bom(body[:8192]):
        # Valid UTF-8 as well (ASCII and NULs), and read so it would hold no reference at all.
        reason = (
            "looks like UTF-16 without a byte order mark; imgsync reads UTF-8 Markdown only: "
            "convert it, e.g. `iconv -f utf-16le -t utf-8`"
        )
        raise MarkdownError(path, reason, line=1)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        reason = (
            f"is not valid UTF-8 (byte 0x{body[error.start]:02x} at offset {error.start}); "
            "convert it to UTF-8, e.g. `iconv -f latin1 -t utf-8`, or exclude it"
        )
        if b"\0" in body[:8192]:
            reason = "looks like a binary file, not Markdown; exclude it in imgsync.toml"
        raise MarkdownError(path, reason, line=line) from None
    return MarkdownText(path=path, text=text, bom=bom, project=project)


def _utf16_without_bom(head: bytes) -> bool:
    """Mostly ASCII in UTF-16: every other byte NUL, the bytes between them hardly ever."""
    if len(head) < 2:
        return False
    low, high = sorted(side.count(0) / len(side) for side in (head[0::2], head[1::2]))
    return high >= 0.5 and low < 0.05


def read_markdown(path: Path, *, project: Path | None = None) -> MarkdownText:
    """Read and decode a Markdown file; MarkdownError on any problem.

    A file that leads outside `project` (default: its own folder) once symlinks are
    resolved is neither read nor, later, written: MarkdownError says so.
    """
    try:
        data = read_inside(path, _project(path, project))
    except OutsideProject as error:
        raise MarkdownError(path, error.reason) from None
    except OSError as error:
        raise MarkdownError(path, f"cannot be read: {error.strerror or error}") from None
    return decode_markdown(path, data, project)


def write_markdown(markdown: MarkdownText, new_text: str) -> bool:
    """Write `new_text` atomically if it differs; False (file untouched) if it doesn't."""
    if new_text == markdown.text:
        return False
    project = _project(markdown.path, markdown.project)
    try:
        # Checked again here, where it counts: the file may have become a link since.
        if not confined(markdown.path, project).stat().st_mode & 0o222:
            # Replacing by rename would ignore the mode: respect the owner's choice instead.
            raise MarkdownError(markdown.path, "is read-only; left unchanged (chmod u+w to allow)")
        # Someone saved it while the images went up (an editor, in watch mode): their
        # text wins; the next run starts from it.
        on_disk = read_inside(markdown.path, project)
        if on_disk == markdown.encode(new_text):
            return False  # another imgsync (watch mode, a hook) got there first
        if on_disk != markdown.encode(markdown.text):
            raise MarkdownError(
                markdown.path, "changed while imgsync worked on it; left as it is (run again)"
            )
        atomic_write(markdown.path, markdown.encode(new_text), project=project)
    except OutsideProject as error:
        raise MarkdownError(markdown.path, error.reason) from None
    except OSError as error:
        raise MarkdownError(
            markdown.path, f"cannot be written: {error.strerror or error}"
        ) from None
    return True


def _project(path: Path, project: Path | None) -> Path:
    return path.parent if project is None else project
