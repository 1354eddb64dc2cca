"""Local images: resolving a reference to a project file, sniffing its type, hashing it."""

from __future__ import annotations

import errno
import hashlib
import os
import struct
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from .errors import ImageError
from .files import is_inside, real_path
from .nearest import CURLY_QUOTES, Nearby, shown, without_quotes
from .sizes import human_size
from .svg import MIME as SVG_MIME
from .svg import SvgCheck, has_svg_root

if TYPE_CHECKING:  # a type only: `imgsync upload` never loads markdown-it
    from .markdown.destinations import LocalTarget

_CHUNK = 1 << 20
# Types by their first bytes: (extension, MIME type). Extensions are never trusted.
_SIGNATURES: list[tuple[bytes, int, str, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, ".png", "image/png"),
    (b"\xff\xd8\xff", 0, ".jpg", "image/jpeg"),
    (b"GIF87a", 0, ".gif", "image/gif"),
    (b"GIF89a", 0, ".gif", "image/gif"),
    (b"II*\0", 0, ".tif", "image/tiff"),
    (b"MM\0*", 0, ".tif", "image/tiff"),
    (b"\0\0\1\0", 0, ".ico", "image/x-icon"),
]


@dataclass(frozen=True)
class LocalImage:
    """A project file known to be an image, with its hashes."""

    path: Path  # resolved
    size: int
    md5: str
    sha256: str
    extension: str  # of its real type, e.g. ".jpg"
    mime: str

    def upload_name(self) -> str:
        """The file name to send: the real stem with the extension of the real type."""
        return self.path.stem + self.extension


def resolve_target(
    target: LocalTarget,
    markdown_path: Path,
    root: Path,
    site_root: Path,
    *,
    nearby: Nearby | None = None,
    typora_root: str | None = None,
) -> Path:
    """The resolved project file a reference names; ImageError if there is none or it's outside.

    `typora_root` is the post's `typora-root-url` (scan.py reads it): a `/rooted` reference
    of that post is looked up under it, as Typora does, instead of under `site_root`.
    A missing file's error (`missing` set) offers the files it probably meant, found
    through `nearby` (one per run, so each folder is listed once).
    """
    if "\0" in target.path:  # the system can't even look such a name up (os calls raise)
        raise ImageError("no file can have this name: it holds a NUL character", missing=True)
    rooted = target.path.startswith("/")
    if rooted and typora_root is not None and "\0" in typora_root:
        reason = "this post's typora-root-url names no folder: it holds a NUL character"
        raise ImageError(reason, missing=True)
    candidate = reference_path(target, markdown_path, site_root, typora_root)
    # Before existence: `../../x.png` leaves the project whether or not the file is there.
    via = typora_root if rooted else None
    if not is_inside(candidate, root):
        raise ImageError(_outside(candidate, root, via))
    try:
        resolved = _resolve_any_normal_form(candidate)
    except FileNotFoundError:
        reason = _not_found(
            target, candidate, markdown_path, site_root, nearby or Nearby(root), typora_root
        )
        raise ImageError(reason, missing=True) from None
    except RuntimeError:  # a symlink loop, before Python 3.13
        raise ImageError(f"cannot be opened ({shown(candidate)}: a symbolic link loop)") from None
    except OSError as error:  # permissions; a symlink loop from Python 3.13 on
        loop = error.errno == errno.ELOOP
        why = "a symbolic link loop" if loop else (error.strerror or str(error))
        raise ImageError(f"cannot be opened ({shown(candidate)}: {why})") from None
    if not is_inside(resolved, root):  # moved meanwhile; is_inside above saw the same links
        raise ImageError(_outside(candidate, root, via))
    if not resolved.is_file():
        raise ImageError(f"is not a file ({shown(candidate)})")
    return resolved


class PageTargets:
    """`resolve_target` for the references of one page, each file found once.

    A page can name one image hundreds of times (an icon in every row of a table), and
    resolving a reference is a dozen path operations and system calls. Within a page, what
    a reference resolves to depends only on what is written, and the file found is kept
    while the page's references are resolved: no longer, so that at most a page's worth is
    held, and a file that appears meanwhile (a folder host's upload) is seen from the next
    page on. A reference that finds no file is resolved anew each time, for an error of its
    own, and a page of distinct broken references pays nothing for what it can't reuse.
    """

    def __init__(
        self,
        markdown_path: Path,
        root: Path,
        site_root: Path,
        nearby: Nearby,
        typora_root: str | None = None,
    ) -> None:
        self.markdown_path, self.root, self.site_root = markdown_path, root, site_root
        self.nearby, self.typora_root = nearby, typora_root
        # By the path written: a `?query` or `#fragment` only explains a file not found.
        self._found: dict[str, Path] = {}

    def resolve(self, target: LocalTarget) -> Path:
        """As `resolve_target(target, markdown_path, root, site_root, ...)`."""
        found = self._found.get(target.path)
        if found is None:
            found = self._found[target.path] = resolve_target(
                target,
                self.markdown_path,
                self.root,
                self.site_root,
                nearby=self.nearby,
                typora_root=self.typora_root,
            )
        return found


def _outside(candidate: Path, root: Path, typora_root: str | None = None) -> str:
    why = "it is a link that points" if candidate.is_symlink() else "it is"
    led = f" (where this post's typora-root-url, {typora_root}, leads)" if typora_root else ""
    return (
        f"refused: {why} outside the project ({root}), at {shown(candidate)}{led}; "
        "only files under it are uploaded"
    )


def _not_found(
    target: LocalTarget,
    candidate: Path,
    markdown_path: Path,
    site_root: Path,
    nearby: Nearby,
    typora_root: str | None,
) -> str:
    """Why nothing is at `candidate`, and what to do: the files meant, or how to fix it."""
    rooted = target.path.startswith("/")
    typora = typora_root if rooted else None
    where = ""
    if typora is not None:
        where = f" under this post's typora-root-url ({typora})"
    elif rooted:
        where = f" under site_root {_folder(site_root)}"
    head = f"not found{where} (looked for {shown(candidate)})"
    cut = _cut_hint(target, candidate)
    if cut:
        return head + cut
    hints: list[str] = []
    meant: list[tuple[Path, str]] = []
    wanted = candidate
    plain = without_quotes(target.path)
    if plain is not None:
        wanted = reference_path(replace(target, path=plain), markdown_path, site_root, typora)
        quotes = "".join(dict.fromkeys(c for c in target.path if c in CURLY_QUOTES))
        hints.append(
            f"the name holds curly quotes ({quotes}), typed by smart quotes for straight ones: "
            'write straight quotes (") or none'
        )
        if os.path.isfile(wanted) and is_inside(wanted, nearby.root):
            meant.append((wanted, "without the quotes"))
    if typora is not None:
        under_site_root = reference_path(target, markdown_path, site_root)
        if os.path.isfile(under_site_root) and is_inside(under_site_root, nearby.root):
            meant.append((under_site_root, "under site_root, which typora-root-url replaces"))
    if not meant:
        meant += nearby.suggest(wanted)
    if meant:
        options = " or ".join(f"{shown(path)} ({why})" for path, why in meant)
        hints.append(f"did you mean {options}?")
    if not hints:
        hints.append("fix the reference, or put the file there")
    return "; ".join([head, *hints])


def _folder(folder: Path) -> str:
    text = shown(folder)
    return "./" if text == "." else text.rstrip("/") + "/"


def reference_path(
    target: LocalTarget, markdown_path: Path, site_root: Path, typora_root: str | None = None
) -> Path:
    """Where a reference points before anything is resolved: beside the Markdown file, or
    for a `/rooted` one under the post's `typora_root` (read, as Typora reads it, from the
    post's folder) if it has one, else under `site_root`. The file may not exist (yet)."""
    if target.path.startswith("/"):
        if typora_root is not None:
            return markdown_path.parent / typora_root / target.path.lstrip("/")
        return site_root / target.path.lstrip("/")
    return markdown_path.parent / target.path


def _cut_hint(target: LocalTarget, candidate: Path) -> str:
    """Why a file named `a#b.png` was not found from `a#b.png`, when that is the reason."""
    if not target.suffix or not Path(str(candidate) + unquote(target.suffix)).exists():
        return ""
    mark = target.suffix[0]
    part, escape = ("fragment", "%23") if mark == "#" else ("query", "%3F")
    return f"; a `{mark}` begins the URL's {part}: write it as {escape} in a file name"


def _resolve_any_normal_form(candidate: Path) -> Path:
    # macOS writes names decomposed (NFD), editors type them composed (NFC): a file
    # copied between the two must still be found, whichever form the text uses.
    try:
        return _resolved(candidate)
    except FileNotFoundError:
        for form in ("NFC", "NFD"):
            other = Path(unicodedata.normalize(form, str(candidate)))
            if other != candidate and other.exists():
                return _resolved(other)
        raise


def _resolved(path: Path) -> Path:
    """`path.resolve(strict=True)`, its folders resolved once a run (files.folders_kept)."""
    real = real_path(path)
    os.stat(real)  # FileNotFoundError if it isn't there; OSError (ELOOP) for a loop
    return Path(real)


def inspect_image(
    path: Path, max_size: int | None, *, allow_svg_scripts: bool = False
) -> LocalImage:
    """Sniff and hash a resolved file, streaming it; ImageError if it is not a usable image,
    or is an SVG that could run script (unless `allow_svg_scripts`) or declare entities."""
    try:
        with path.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            check_size(size, max_size)
            head = stream.read(_CHUNK)
            kind = sniff_image_type(head)
            if kind is None:
                raise ImageError(f"is not an image (its bytes start {head[:8]!r})")
            svg = SvgCheck(allow_scripts=allow_svg_scripts) if kind[1] == SVG_MIME else None
            md5, sha256 = hashlib.md5(head), hashlib.sha256(head)
            chunk = head
            while chunk:
                if svg is not None:  # the whole file is read: a script may be anywhere
                    svg.feed(chunk)
                chunk = stream.read(_CHUNK)
                md5.update(chunk)
                sha256.update(chunk)
            if svg is not None:
                svg.feed(b"", final=True)
    except OSError as error:
        raise ImageError(f"cannot be read: {error.strerror or error}") from None
    extension, mime = kind
    return LocalImage(path, size, md5.hexdigest(), sha256.hexdigest(), extension, mime)


def check_size(size: int, max_size: int | None) -> None:
    """ImageError if a file of `size` bytes can't be uploaded: empty, or above `max_size`."""
    if size == 0:
        raise ImageError("is an empty file, not an image")
    if max_size is not None and size > max_size:
        raise ImageError(
            f"is {human_size(size)}, above the size limit of {human_size(max_size)} (max_size)"
        )


def sniff_image_type(head: bytes) -> tuple[str, str] | None:
    """(extension, MIME type) from a file's first bytes, or None if it isn't an image."""
    for signature, offset, extension, mime in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return extension, mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp", "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return ".avif", "image/avif"
    if _is_bmp(head):
        return ".bmp", "image/bmp"
    if has_svg_root(head):
        return ".svg", SVG_MIME
    return None


# The sizes of the DIB headers BMP writers use: OS/2 1.x (12) and 2.x (16, 64), Windows
# BITMAPINFOHEADER (40), its V2/V3 forms (52, 56), V4 (108) and V5 (124).
_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def _is_bmp(head: bytes) -> bool:
    """`BM` is two bytes of text as often as an image: a BMP needs its whole file header and
    a DIB header that holds together (a known size, one colour plane)."""
    if len(head) < 26 or head[:2] != b"BM":
        return False
    file_size, reserved, pixels, dib = struct.unpack_from("<IIII", head, 2)
    if dib not in _DIB_SIZES or reserved != 0 or not 14 + dib <= pixels < file_size:
        return False
    planes_at = 22 if dib == 12 else 26
    return len(head) >= planes_at + 2 and struct.unpack_from("<H", head, planes_at)[0] == 1
