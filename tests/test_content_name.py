"""Content-addressed names (hosts/content_name.py): the MD5 of the bytes sent, checked templates."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NoReturn

import pytest

from imgsync.errors import ConfigError
from imgsync.hosts.base import UploadRequest
from imgsync.hosts.content_name import NameTemplate, safe_stem, sent_md5
from imgsync.privacy import send_plan
from tests.images import exif_tiff, jpeg_bytes


def bad(problem: str) -> NoReturn:
    raise ConfigError(problem)


def test_the_md5_is_of_the_bytes_sent(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 3_000_000)
    request = UploadRequest(path, "a.png", "image/png", path.stat().st_size)
    assert sent_md5(request) == hashlib.md5(path.read_bytes()).hexdigest()


def test_a_stripped_image_is_named_by_what_is_sent_not_by_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gps.jpg"
    path.write_bytes(jpeg_bytes(exif=exif_tiff(gps=True)))
    plan = send_plan(path, "image/jpeg", "location")
    request = UploadRequest(path, "gps.jpg", "image/jpeg", plan.size, plan=plan)
    with plan.open() as stream:
        sent = stream.read()
    assert sent != path.read_bytes()
    assert sent_md5(request) == hashlib.md5(sent).hexdigest()


@pytest.mark.parametrize(
    ("template", "name"),
    [
        ("{md5}{ext}", "0123abcd.png"),
        ("img/{md5}{ext}", "img/0123abcd.png"),
        ("{name}-{md5}{ext}", "My-Photo-1-0123abcd.png"),
        ("{md5:.2}/{md5}{ext}", "01/0123abcd.png"),
    ],
)
def test_a_template_names_the_object(template: str, name: str) -> None:
    parsed = NameTemplate.parse(template, "name", bad)
    assert parsed.name_for("0123abcd", "My Photo (1).png") == name


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{name}{ext}", "must contain {md5}"),
        ("{md5}{size}", "unknown placeholder(s) ['size']"),
        ("/{md5}", "relative path"),
        ("../{md5}", "without '..'"),
        ("a\\{md5}", "relative path"),
        ("{md5", "not a valid template"),
        ("", "non-empty string"),
        (5, "non-empty string"),
    ],
)
def test_an_unusable_template_is_refused_naming_the_key(template: object, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        NameTemplate.parse(template, "name", bad)
    assert words in str(caught.value) and "'name'" in str(caught.value)


def test_a_stem_is_made_safe_for_a_url_path() -> None:
    assert safe_stem("照片 1.jpg") == "1"
    assert safe_stem("...jpg") == "image"
    assert safe_stem("a_b-c.d.png") == "a_b-c.d"
