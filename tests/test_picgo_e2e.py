"""The sample blog synced through a fake PicGo 3 and a fake PicList by the real console script:
every reference hosted, a second run sends nothing, `check` passes; a photo's location never
reaches the server, and the copies the server read are gone after the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.fake_picgo import FakePicGo
from tests.images import LATITUDE, XMP_WITH_LOCATION, exif_tiff, jpeg_bytes, rationals

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
KEY = "picgoE2eServerKey0123456789abcd"
CONFIG = """
site_root = "static"

[hosts.picgo]
type = "picgo"
url = "${PICGO_URL}"
key = "${PICGO_KEY}"
mode = "%s"
"""
DISTINCT_IMAGES = 6  # the examples' five, and the photo
# The picbed's site: PicGo's links must be https (its server's loopback URL vouches for none).
PICBED = "https://picbed.example.net"
REFERENCES = 11  # the examples' ten, and the photo's
PHOTO = jpeg_bytes(exif_tiff(">"), XMP_WITH_LOCATION)


@pytest.fixture(params=["picgo-path", "piclist-path", "piclist-form"])
def blog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[FakePicGo, Path]]:
    edition, _, mode = request.param.partition("-")
    root = tmp_path / "blog"
    shutil.copytree(EXAMPLES, root)
    (root / "imgsync.toml").write_text(CONFIG % mode)
    trip = root / "posts" / "2025" / "trip"
    trip.mkdir()
    (trip / "photo.jpg").write_bytes(PHOTO)
    (trip / "index.md").write_text("# A walk\n\n![Where we walked](photo.jpg)\n")
    with FakePicGo(edition=edition, key=KEY, link_base=PICBED) as fake:
        yield fake, root


def run(root: Path, fake: FakePicGo, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(PICGO_URL=fake.url, PICGO_KEY=KEY, NO_PROXY="127.0.0.1")
    chosen = [] if args[:1] == ("check",) else ["--host", "picgo"]  # `check` is offline
    done = subprocess.run(
        [IMGSYNC, *chosen, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert KEY not in done.stdout + done.stderr
    return done


def test_the_blog_syncs_through_picgo_once_and_the_photo_goes_without_its_location(
    blog: tuple[FakePicGo, Path],
) -> None:
    fake, root = blog

    first = run(root, fake, ".")

    assert first.returncode == 0, first.stderr
    assert len(fake.stored()) == DISTINCT_IMAGES and fake.requests == DISTINCT_IMAGES
    texts = "".join(p.read_text() for p in root.rglob("*.md"))
    assert texts.count(f"{PICBED}/i/") == REFERENCES  # every local reference is hosted
    [photo] = [r for r in fake.received if r.names == ("photo.jpg",)]
    [sent] = photo.data
    assert sent is not None and sent != PHOTO  # the stripped copy, not the file
    assert rationals(">", LATITUDE) not in sent and b"GPSLatitude" not in sent
    assert (root / "posts/2025/trip/photo.jpg").read_bytes() == PHOTO  # the file is untouched
    if photo.how == "path":  # the server read a copy under .imgsync/, since removed
        assert Path(photo.paths[0]).is_relative_to(root / ".imgsync" / "staging")
    assert list((root / ".imgsync" / "staging").glob("picgo-*")) == []

    requests = fake.requests
    second = run(root, fake, ".")
    assert second.returncode == 0, second.stderr
    assert fake.requests == requests  # 0 uploads: not one request reached the server

    assert run(root, fake, "check", ".").returncode == 0
    assert KEY not in (root / ".imgsync-cache.json").read_text()


@pytest.mark.parametrize("serves", [False, True])
def test_the_picbeds_site_is_told_once_unless_the_profile_serves_it(
    serves: bool, tmp_path: Path
) -> None:
    root = tmp_path / "blog"
    shutil.copytree(EXAMPLES, root)
    config = CONFIG % "path"
    if serves:  # PicGo's API is on this machine, its images on the picbed's site
        config += 'serves = ["https://cdn.example.net/i/"]\n'
    (root / "imgsync.toml").write_text(config)
    with FakePicGo(key=KEY, link_base="https://cdn.example.net") as fake:
        assert run(root, fake, ".").returncode == 0
        requests = fake.requests
        (root / "posts" / "new.md").write_text("![Logo](/images/logo.png)\n")  # already up
        again = run(root, fake, ".")

    assert again.returncode == 0 and fake.requests == requests  # taken from the cache
    assert "https://cdn.example.net/i/" in (root / "posts" / "new.md").read_text()
    told = "taken from the cache point at example.net, not at the host's site (127.0.0.1)"
    assert (told in again.stderr) is not serves


def test_plain_http_links_from_the_picbed_are_never_written(tmp_path: Path) -> None:
    root = tmp_path / "blog"
    shutil.copytree(EXAMPLES, root)
    (root / "imgsync.toml").write_text(CONFIG % "path")
    before = {p: p.read_bytes() for p in root.rglob("*.md")}
    with FakePicGo(key=KEY) as fake:  # its links: http://127.0.0.1, as a local picbed's
        done = run(root, fake, ".")

    assert done.returncode == 3
    assert "unusable URL 'http://127.0.0.1:" in done.stderr and "plain http://" in done.stderr
    assert {p: p.read_bytes() for p in root.rglob("*.md")} == before
