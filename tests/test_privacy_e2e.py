"""End to end: location stripped before upload, the real console script against the fake Lsky,
the hosted bytes fetched back; the cache still keyed by the file on disk, verify by what was sent.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from imgsync.testing.fake_lsky import EXTENSIONS, FakeLsky
from tests.images import (
    ICC_PROFILE,
    LATITUDE,
    XMP_WITH_LOCATION,
    entropy_of,
    exif_tiff,
    ifd0_tags,
    jpeg_bytes,
    png_bytes,
    png_chunk,
    png_chunks,
    png_with,
    rationals,
    riff_chunks,
    webp_bytes,
)

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "7|privacyTokenThatMustNeverBePrintedAnywhere0"
GPS, ORIENTATION = 0x8825, 0x0112


@pytest.fixture
def lsky() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "CI"))}
    env.update(LSKY_TOKEN=TOKEN, NO_PROXY="127.0.0.1")
    done = subprocess.run(
        [IMGSYNC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert TOKEN not in done.stdout + done.stderr
    return done


IMAGES = {
    "photo.jpg": jpeg_bytes(exif_tiff(">"), XMP_WITH_LOCATION),
    "map.png": png_with(
        png_chunk(b"iCCP", b"icc\0\0" + ICC_PROFILE), png_chunk(b"eXIf", exif_tiff("<"))
    ),
    "pic.webp": webp_bytes(exif_tiff("<")),
    "plain.png": png_bytes(rgb=(1, 2, 3)),
}


def project(root: Path, url: str, extra: str = "") -> Path:
    (root / "imgsync.toml").write_text(
        f'host = "blog"\n{extra}\n[hosts.blog]\ntype = "lsky"\nurl = "{url}"\n'
        'token = "${LSKY_TOKEN}"\n'
    )
    (root / "img").mkdir()
    lines = []
    for name, data in IMAGES.items():
        (root / "img" / name).write_bytes(data)
        lines.append(f"![{name}](img/{name})\n")
    (root / "post.md").write_text("# Trip\n\n" + "\n".join(lines))
    return root


def hosted(root: Path) -> dict[str, bytes]:
    """Image name -> the bytes the host serves at the URL written into the post."""
    found = re.findall(r"!\[(\S+)\]\((\S+)\)", (root / "post.md").read_text())
    with httpx.Client(trust_env=False) as http:
        return {name: http.get(url).content for name, url in found}


def test_the_hosted_copies_have_no_location_and_keep_orientation_profile_and_pixels(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    root = project(tmp_path, lsky.url)
    done = run(root, ".")
    assert done.returncode == 0, done.stderr
    assert "4 uploaded (3 with metadata stripped)" in done.stderr
    assert re.search(
        r"uploaded img/photo.jpg -> \S+ \(GPS in Exif, location in XMP stripped\)", done.stderr
    )
    got = hosted(root)

    jpeg = got["photo.jpg"]
    assert rationals(">", LATITUDE) not in jpeg and b"GPSLatitude" not in jpeg
    exif = jpeg[jpeg.index(b"Exif\0\0") + 6 :]
    assert GPS not in ifd0_tags(exif) and ifd0_tags(exif)[ORIENTATION][:2] == b"\0\6"
    assert ICC_PROFILE in jpeg
    assert entropy_of(jpeg) == entropy_of(IMAGES["photo.jpg"])

    chunks = {kind: data for kind, data, right in png_chunks(got["map.png"]) if right}
    assert len(chunks) == len(png_chunks(got["map.png"]))  # every CRC right
    assert GPS not in ifd0_tags(chunks[b"eXIf"]) and ORIENTATION in ifd0_tags(chunks[b"eXIf"])
    original = {kind: data for kind, data, _ in png_chunks(IMAGES["map.png"])}
    assert chunks[b"IDAT"] == original[b"IDAT"] and chunks[b"iCCP"] == original[b"iCCP"]

    webp = riff_chunks(got["pic.webp"])
    assert GPS not in ifd0_tags(webp[b"EXIF"]) and ORIENTATION in ifd0_tags(webp[b"EXIF"])
    assert rationals("<", LATITUDE) not in got["pic.webp"]
    assert webp[b"VP8L"] == riff_chunks(IMAGES["pic.webp"])[b"VP8L"]
    assert webp[b"ICCP"] == ICC_PROFILE

    assert got["plain.png"] == IMAGES["plain.png"]  # nothing to strip: byte-identical


def test_the_cache_keys_by_the_file_and_verify_checks_what_was_sent(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    root = project(tmp_path, lsky.url)
    assert run(root, ".").returncode == 0
    document = json.loads((root / ".imgsync-cache.json").read_text())
    entries = next(iter(document["uploads"].values()))
    got = hosted(root)
    for name, data in IMAGES.items():
        entry = entries[hashlib.md5(data).hexdigest()]  # keyed by the file on disk
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        if name == "plain.png":
            assert "sent_sha256" not in entry
        else:
            assert entry["sent_sha256"] == hashlib.sha256(got[name]).hexdigest()
    again = run(root, ".")
    assert again.returncode == 0 and len(lsky.uploads) == 4  # nothing sent twice
    verified = run(root, "verify", "--allow-private-addresses")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The original, GPS and all, served in place of the stripped copy: not what was sent.
    url = re.findall(r"!\[photo.jpg\]\((\S+)\)", (root / "post.md").read_text())[0]
    lsky.alter_served_file(url, IMAGES["photo.jpg"])
    changed = run(root, "verify", "--allow-private-addresses")
    assert changed.returncode != 0
    assert "the bytes changed since the upload" in changed.stdout + changed.stderr


def test_strip_metadata_none_sends_the_file_as_it_is(tmp_path: Path, lsky: FakeLsky) -> None:
    root = project(tmp_path, lsky.url, 'strip_metadata = "none"')
    done = run(root, ".")
    assert done.returncode == 0, done.stderr
    assert "stripped" not in done.stderr
    assert hosted(root) == IMAGES


def test_a_bad_strip_metadata_is_a_config_error(tmp_path: Path, lsky: FakeLsky) -> None:
    root = project(tmp_path, lsky.url)
    config = root / "imgsync.toml"
    config.write_text(config.read_text() + 'strip_metadata = "gps"\n')
    done = run(root, ".")
    assert done.returncode == 2
    assert "hosts.blog.strip_metadata" in done.stderr and '"location"' in done.stderr


def test_an_avif_goes_up_without_its_location_and_decodes_to_the_same_pixels(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    import io

    from PIL import Image

    from tests.avif_images import meta_boxes, pillow_avif, pillow_items

    lsky.extensions = EXTENSIONS | {"avif"}  # not in Lsky's default list: an admin adds it
    with_gps, plain = pillow_avif(exif_tiff("<"), XMP_WITH_LOCATION), pillow_avif()
    assert Image.open(io.BytesIO(with_gps)).getexif().get_ifd(GPS)  # a location to remove
    (tmp_path / "imgsync.toml").write_text(
        f'host = "blog"\n[hosts.blog]\ntype = "lsky"\nurl = "{lsky.url}"\n'
        'token = "${LSKY_TOKEN}"\n'
    )
    (tmp_path / "trip.avif").write_bytes(with_gps)
    (tmp_path / "plain.avif").write_bytes(plain)
    (tmp_path / "post.md").write_text("![trip.avif](trip.avif)\n\n![plain.avif](plain.avif)\n")
    done = run(tmp_path, ".")
    assert done.returncode == 0, done.stderr
    assert "2 uploaded (1 with metadata stripped)" in done.stderr
    assert re.search(
        r"uploaded trip.avif -> \S+ \(GPS in Exif, location in XMP stripped\)", done.stderr
    )
    got = hosted(tmp_path)
    assert got["plain.avif"] == plain
    avif = got["trip.avif"]
    assert len(avif) == len(with_gps)
    image = Image.open(io.BytesIO(avif))
    assert image.getexif().get_ifd(GPS) == {} and image.getexif()[ORIENTATION] == 6  # irot's
    assert rationals("<", LATITUDE) not in avif and b"GPSLatitude" not in avif
    assert meta_boxes(avif) == meta_boxes(with_gps)  # colr, irot, iloc as they were
    at, length = pillow_items(avif)[b"av01"]
    assert avif[at : at + length] == with_gps[at : at + length]
    assert image.tobytes() == Image.open(io.BytesIO(with_gps)).tobytes()
