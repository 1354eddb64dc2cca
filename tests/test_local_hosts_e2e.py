"""The sample blog synced by the real console script to a folder of the site and through a
command: every reference hosted, a second run with nothing to send, `check` clean, and
`prune` deleting exactly the folder's unreferenced files."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.environment import ALLOW_COMMAND_VARIABLE
from tests.images import exif_tiff, jpeg_bytes
from tests.site_server import SiteServer

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
REFERENCES = 11  # the sample blog's ten local references, and the trip post's photo
DISTINCT = 6  # five distinct images in the sample blog (two files share bytes), the photo
FOLDER_CONFIG = """
host = "site"
site_root = "static"

[hosts.site]
type = "folder"
path = "static/images"
url = "{url}"
"""
# A storage client as a user would write one: send the file, print the URL; count each run.
UPLOADER = """
import sys, urllib.request
path, site, name = sys.argv[1:4]
with open("runs.log", "a") as log:
    log.write(name + "\\n")
with open(path, "rb") as image:
    request = urllib.request.Request(f"{site}/upload/{name}", data=image.read(), method="PUT")
with urllib.request.urlopen(request) as reply:
    print("uploaded, the URL follows")
    print(reply.read().decode())
"""


def sample_blog(tmp_path: Path) -> Path:
    blog = tmp_path / "blog"
    shutil.copytree(EXAMPLES, blog)
    trip = blog / "posts" / "2025" / "trip"
    trip.mkdir()
    (trip / "photo.jpg").write_bytes(jpeg_bytes(exif=exif_tiff(gps=True)))  # GPS: stripped
    (trip / "index.md").write_text("# A trip\n\n![On the way](photo.jpg)\n")
    return blog


def run(blog: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    environment |= {"NO_PROXY": "127.0.0.1,localhost"} | env
    return subprocess.run(
        [IMGSYNC, *args], cwd=blog, env=environment, capture_output=True, text=True, timeout=120
    )


def markdown(blog: Path) -> str:
    return "".join(path.read_text() for path in sorted(blog.rglob("*.md")))


def folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


# ---- the folder host -------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/images/", "https://blog.example.com/images/"])
def test_the_blog_synced_into_its_own_folder_once(tmp_path: Path, url: str) -> None:
    blog = sample_blog(tmp_path)
    (blog / "imgsync.toml").write_text(FOLDER_CONFIG.format(url=url))
    folder = blog / "static" / "images"

    first = run(blog, ".")

    assert first.returncode == 0, first.stderr
    assert f"{DISTINCT} uploaded (1 with metadata stripped)" in first.stderr
    copies = sorted(p.name for p in folder.iterdir() if re.fullmatch(r"[0-9a-f]{32}\.\w+", p.name))
    assert len(copies) == DISTINCT
    assert sorted(os.listdir(folder)) == sorted([*copies, "banner.png", "logo.png"])
    text = markdown(blog)
    written = re.findall(re.escape(url) + r"([0-9a-f]{32}\.(?:png|jpg))", text)
    # Under a root-relative url, /images/logo.png is in the served folder: hosted as it is.
    # Under an absolute one it is a local image like the others, copied and rewritten.
    rooted = url.startswith("/")
    assert len(written) == REFERENCES - rooted
    assert set(written) == set(copies)
    assert ("![Logo](/images/logo.png)" in text) is rooted
    photo = next(name for name in copies if name.endswith(".jpg"))
    assert b"GPS" not in (folder / photo).read_bytes()  # the stripped bytes were copied
    state, cache = folder_state(folder), (blog / ".imgsync-cache.json").read_text()
    assert str(tmp_path) not in cache  # no absolute path in the identity or the entries

    second = run(blog, ".")

    assert second.returncode == 0, second.stderr
    assert "nothing to do: no local images" in second.stderr  # the copies are not images to send
    assert folder_state(folder) == state
    assert (blog / ".imgsync-cache.json").read_text() == cache
    checked = run(blog, "check", ".")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    doctor = run(blog, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "skip  network  not run: the host is on this machine" in doctor.stdout
    assert "ok    token    static/images is writable (8 files), served under " in doctor.stdout


def test_a_clone_elsewhere_finds_everything_hosted(tmp_path: Path) -> None:
    blog = sample_blog(tmp_path)
    (blog / "imgsync.toml").write_text(FOLDER_CONFIG.format(url="/images/"))
    assert run(blog, ".").returncode == 0
    clone = tmp_path / "elsewhere" / "clone"
    shutil.copytree(blog, clone, ignore=shutil.ignore_patterns(".imgsync"))
    (clone / "posts" / "extra.md").write_text("![Cat again](2024/hello-world/cat.png)\n")

    again = run(clone, ".")

    assert again.returncode == 0, again.stderr
    assert "0 uploaded, 1 already on the host" in again.stderr  # the cache's entry, same identity


def test_prune_deletes_exactly_the_unreferenced_copies(tmp_path: Path) -> None:
    blog = sample_blog(tmp_path)
    (blog / "imgsync.toml").write_text(FOLDER_CONFIG.format(url="/images/"))
    folder = blog / "static" / "images"
    assert run(blog, ".").returncode == 0
    post = blog / "posts" / "2024" / "hello-world" / "index.md"
    cat = hashlib.md5((post.parent / "cat.png").read_bytes()).hexdigest() + ".png"
    lines = post.read_text().splitlines(keepends=True)
    post.write_text("".join(line for line in lines if cat not in line))  # both uses of the cat
    before = set(os.listdir(folder))
    # The trip's photo stays used, by its path only: its copy was stripped, so its bytes
    # are not the original's (the cache's key); `prune` must count the path as a use.
    assert re.search(r"/images/[0-9a-f]{32}\.jpg", markdown(blog))

    listed = run(blog, "prune", "--older-than", "0d")

    assert listed.returncode == 1, listed.stdout + listed.stderr
    assert "1 upload(s) used nowhere" in listed.stdout
    assert set(os.listdir(folder)) == before  # listing deletes nothing

    pruned = run(blog, "prune", "--older-than", "0d", "--yes")

    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert "deleted 1 upload(s)" in pruned.stdout
    assert set(os.listdir(folder)) == before - {cat}
    assert cat in before and "logo.png" in before and "banner.png" in before
    uploads = json.loads((blog / ".imgsync-cache.json").read_text())["uploads"]
    assert len(uploads["folder /images/"]) == DISTINCT - 1
    assert run(blog, "check", ".").returncode == 0


# ---- the command host ------------------------------------------------------------------


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SiteServer]:
    (tmp_path / "storage").mkdir()
    with SiteServer(root=tmp_path / "storage") as server:
        yield server


def command_config(storage: SiteServer, *, url: bool) -> str:
    command = [sys.executable, "uploader.py", "{path}", storage.site, "{md5}{ext}"]
    lines = ['host = "up"', 'site_root = "static"', "", "[hosts.up]", 'type = "command"']
    lines.append(f"command = {json.dumps(command)}")
    if url:
        lines.append(f'url = "{storage.site}/uploads/{{md5}}{{ext}}"')
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("url", [True, False], ids=["url-template", "printed-url"])
def test_the_blog_synced_through_a_command_once(
    tmp_path: Path, storage: SiteServer, url: bool
) -> None:
    blog = sample_blog(tmp_path)
    (blog / "imgsync.toml").write_text(command_config(storage, url=url))
    (blog / "uploader.py").write_text(UPLOADER)
    # A printed URL is checked like any host's: plain http only where the environment allows.
    allowed = {ALLOW_COMMAND_VARIABLE: "1"} | ({} if url else {"IMGSYNC_ALLOW_HTTP": "1"})

    refused = run(blog, ".")
    assert refused.returncode == 2 and f"set {ALLOW_COMMAND_VARIABLE}=1" in refused.stderr
    assert not (blog / "runs.log").exists()

    first = run(blog, ".", **allowed)

    assert first.returncode == 0, first.stderr
    runs = (blog / "runs.log").read_text().split()
    assert len(runs) == DISTINCT == len(storage.stored())
    assert markdown(blog).count(f"{storage.site}/uploads/") == REFERENCES
    photo = next(name for name in storage.stored() if name.endswith(".jpg"))
    assert b"GPS" not in (tmp_path / "storage" / "uploads" / photo).read_bytes()
    assert os.listdir(blog / ".imgsync" / "send") == []  # the stripped copy was removed

    second = run(blog, ".", **allowed)

    assert second.returncode == 0, second.stderr
    assert len((blog / "runs.log").read_text().split()) == DISTINCT  # the program ran 0 times
    checked = run(blog, "check", ".")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    (blog / "posts" / "extra.md").write_text("![Cat again](2024/hello-world/cat.png)\n")
    third = run(blog, ".", **allowed)
    assert third.returncode == 0, third.stderr
    assert "0 uploaded, 1 already on the host" in third.stderr
    assert "warning" not in third.stderr  # no "not at the host's site" for a printed URL
    assert len((blog / "runs.log").read_text().split()) == DISTINCT


def test_doctor_finds_the_program_or_says_it_is_missing(
    tmp_path: Path, storage: SiteServer
) -> None:
    blog = sample_blog(tmp_path)
    (blog / "imgsync.toml").write_text(command_config(storage, url=True))
    allowed = {ALLOW_COMMAND_VARIABLE: "1"}

    found = run(blog, "doctor", **allowed)

    assert found.returncode == 0, found.stdout + found.stderr
    assert f"note  token    {sys.executable} is at " in found.stdout
    assert "a command can't be tried without uploading" in found.stdout
    config = (blog / "imgsync.toml").read_text().replace(sys.executable, "no-such-uploader")
    (blog / "imgsync.toml").write_text(config)
    missing = run(blog, "doctor", **allowed)
    assert missing.returncode == 1
    assert "FAIL  token    refused: the program 'no-such-uploader' ('command') was not found" in (
        missing.stdout
    )


def test_leaving_the_folder_makes_its_references_local_images_again(
    tmp_path: Path, storage: SiteServer
) -> None:
    blog = sample_blog(tmp_path)
    (blog / "imgsync.toml").write_text(FOLDER_CONFIG.format(url="/images/"))
    assert run(blog, ".").returncode == 0  # files stamped clean while /images/ was served
    assert run(blog, ".").returncode == 0
    (blog / "imgsync.toml").write_text(command_config(storage, url=True))
    (blog / "uploader.py").write_text(UPLOADER)
    allowed = {ALLOW_COMMAND_VARIABLE: "1"}
    assert run(blog, "check", ".").returncode == 1  # the /images/ references are local now

    moved = run(blog, ".", **allowed)

    assert moved.returncode == 0, moved.stderr
    # Found through site_root (static/images/...): the copies, the logo, and the photo as it
    # was copied (stripped already: nothing more to strip, the same bytes go up).
    assert len((blog / "runs.log").read_text().split()) == DISTINCT
    assert "/images/" not in markdown(blog).replace("static/images/", "")
    assert markdown(blog).count(f"{storage.site}/uploads/") == REFERENCES
    assert run(blog, "check", ".").returncode == 0
