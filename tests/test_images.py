"""Resolving references to project files, sniffing real types, hashing by streaming."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Literal

import pytest

from imgsync.errors import ImageError
from imgsync.images import inspect_image, resolve_target, sniff_image_type
from imgsync.markdown.destinations import LocalTarget
from tests.images import bmp_bytes, png_bytes

NormalForm = Literal["NFC", "NFD"]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (png_bytes(), (".png", "image/png")),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", (".jpg", "image/jpeg")),
        (b"GIF89a\x01\x00\x01\x00", (".gif", "image/gif")),
        (b"GIF87a\x01\x00\x01\x00", (".gif", "image/gif")),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", (".webp", "image/webp")),
        (b"\x00\x00\x00\x1cftypavif\x00\x00", (".avif", "image/avif")),
        (bmp_bytes(), (".bmp", "image/bmp")),
        (b"II*\x00\x08\x00", (".tif", "image/tiff")),
        (b"\x00\x00\x01\x00\x01\x00", (".ico", "image/x-icon")),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
            (".svg", "image/svg+xml"),
        ),
        (b"\xef\xbb\xbf  <svg viewBox='0 0 1 1'></svg>", (".svg", "image/svg+xml")),
        (b"<?xml version='1.0'?><html></html>", None),
        (b"hello, I am text", None),
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_sniff_image_type_reads_bytes_not_names(
    head: bytes, expected: tuple[str, str] | None
) -> None:
    assert sniff_image_type(head) == expected


def test_inspect_hashes_the_whole_file_and_names_it_by_its_real_type(tmp_path: Path) -> None:
    data = png_bytes(40, 40) + b"\0" * (3 << 20)  # larger than one read chunk
    path = tmp_path / "photo.JPG"  # the extension lies
    path.write_bytes(data)

    image = inspect_image(path, max_size=None)

    assert image.md5 == hashlib.md5(data).hexdigest()
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert image.size == len(data)
    assert (image.mime, image.upload_name()) == ("image/png", "photo.png")


@pytest.mark.parametrize(
    ("content", "max_size", "reason"),
    [
        (b"", None, "is an empty file, not an image"),
        (b"just text", None, "is not an image"),
        (png_bytes(10, 10), 20, "above the size limit of 20 bytes (max_size)"),
    ],
)
def test_inspect_refuses_with_a_reason(
    tmp_path: Path, content: bytes, max_size: int | None, reason: str
) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(content)

    with pytest.raises(ImageError) as caught:
        inspect_image(path, max_size)

    assert reason in caught.value.reason


def make_project(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "static" / "images").mkdir(parents=True)
    (root / "static" / "images" / "logo.png").write_bytes(png_bytes())
    (root / "posts" / "a b.png").write_bytes(png_bytes())
    return root


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("a b.png", "posts/a b.png"),
        ("./a b.png", "posts/a b.png"),
        ("../posts/a b.png", "posts/a b.png"),
        ("/images/logo.png", "static/images/logo.png"),
        ("..\\static\\images\\logo.png", "static/images/logo.png"),
    ],
)
def test_resolve_relative_to_the_file_and_rooted_to_site_root(
    tmp_path: Path, written: str, expected: str
) -> None:
    root = make_project(tmp_path)
    target = LocalTarget(path=written.replace("\\", "/"), suffix="")

    resolved = resolve_target(target, root / "posts" / "p.md", root, root / "static")

    assert resolved == (root / expected).resolve()


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("missing.png", "not found (looked for"),
        ("../../outside.png", "refused: it is outside the project"),
        ("escape.png", "refused: it is a link that points outside the project"),
        ("..", "is not a file"),
        ("loop.png", "cannot be opened"),
    ],
)
def test_resolve_refuses(tmp_path: Path, written: str, reason: str) -> None:
    root = make_project(tmp_path)
    (tmp_path / "outside.png").write_bytes(png_bytes())
    (root / "posts" / "escape.png").symlink_to(tmp_path / "outside.png")
    (root / "posts" / "loop.png").symlink_to(root / "posts" / "loop.png")

    with pytest.raises(ImageError) as caught:
        resolve_target(LocalTarget(written, ""), root / "posts" / "p.md", root, root)

    assert reason in caught.value.reason


@pytest.mark.parametrize(("on_disk", "written"), [("NFD", "NFC"), ("NFC", "NFD")])
def test_names_are_found_in_either_unicode_normal_form(
    tmp_path: Path, on_disk: NormalForm, written: NormalForm
) -> None:
    import unicodedata

    (tmp_path / unicodedata.normalize(on_disk, "café.png")).write_bytes(png_bytes())
    target = LocalTarget(unicodedata.normalize(written, "café.png"), "")

    resolved = resolve_target(target, tmp_path / "post.md", tmp_path, tmp_path)

    assert resolved.name == unicodedata.normalize(on_disk, "café.png")


def _bmp_with(**fields: int) -> bytes:
    data = bytearray(bmp_bytes())
    offsets = {"size": 2, "reserved": 6, "pixels": 10, "dib": 14}
    for name, value in fields.items():
        if name == "planes":
            struct.pack_into("<H", data, 26, value)
        else:
            struct.pack_into("<I", data, offsets[name], value)
    return bytes(data)


def test_a_bmp_needs_its_whole_header() -> None:
    assert sniff_image_type(bmp_bytes(3, 2)) == (".bmp", "image/bmp")
    os2 = (
        b"BM" + struct.pack("<IIII", 30, 0, 26, 12) + struct.pack("<HHHH", 1, 1, 1, 24) + b"\0" * 4
    )
    assert sniff_image_type(os2) == (".bmp", "image/bmp")
    for bad in (
        b"BM",
        b"BM plus some text that goes on and on",
        bmp_bytes()[:20],
        _bmp_with(dib=41),
        _bmp_with(reserved=7),
        _bmp_with(pixels=10),  # the pixels can't start inside the headers
        _bmp_with(size=20),  # nor after the end of the file
        _bmp_with(planes=3),
    ):
        assert sniff_image_type(bad) is None, bad
