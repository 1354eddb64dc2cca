"""End to end: `imgsync restore`, the real console script, on a real tree synced to the fake
Lsky on 127.0.0.1: hosted images back as local files, then `check` and a `sync` that uploads
nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.fake_lsky import FakeLsky
from imgsync.testing.fake_pichub import FakePicHub
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "7|restoreTokenThatMustNeverBePrintedAnywhere0"
LOOPBACK = "--allow-private-addresses"  # the fake host is on 127.0.0.1
DEST = re.compile(r"!\[(p\d+)\]\(([^)\s]+)(?: '[^']*')?\)")


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "CI"))}
    env["LSKY_TOKEN"] = TOKEN
    done = subprocess.run(
        [IMGSYNC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert TOKEN not in done.stdout and TOKEN not in done.stderr
    return done


def synced_site(
    root: Path, host_url: str, count: int, kind: str = "lsky", extra: str = ""
) -> dict[str, bytes]:
    """`count` images in img/ referenced by posts/one.md and two.md, synced: alt -> bytes."""
    (root / "imgsync.toml").write_text(
        f'host = "blog"\n[hosts.blog]\ntype = "{kind}"\nurl = "{host_url}"\n'
        f'token = "${{LSKY_TOKEN}}"\n{extra}'
    )
    (root / "img").mkdir()
    (root / "posts").mkdir()
    originals, posts = {}, {"one.md": "# one\r\n\r\n", "two.md": "# two\n\n"}
    for i in range(count):
        originals[f"p{i}"] = data = png_bytes(rgb=(i * 10, 20, 30))
        (root / "img" / f"p{i}.png").write_bytes(data)
        name = "one.md" if i % 2 == 0 else "two.md"
        posts[name] += f"![p{i}](../img/p{i}.png 'title {i}')" + ("\r\n" if i % 2 == 0 else "\n")
    for name, text in posts.items():
        (root / "posts" / name).write_bytes(text.encode())
    done = run(root, ".")
    assert done.returncode == 0, done.stderr
    assert len(host_uploads(root)) == count
    return originals


def host_uploads(root: Path) -> dict[str, dict[str, object]]:
    document = json.loads((root / ".imgsync-cache.json").read_text())
    (entries,) = document["uploads"].values()
    return dict(entries)


def references(root: Path) -> dict[str, tuple[Path, str]]:
    """alt -> (the post, its destination)."""
    found = {}
    for post in sorted((root / "posts").glob("*.md")):
        for match in DEST.finditer(post.read_text()):
            found[match.group(1)] = (post, match.group(2))
    return found


def test_restore_then_check_then_sync_uploads_nothing(tmp_path: Path, host: FakeLsky) -> None:
    originals = synced_site(tmp_path, host.url, 6)
    hosted = references(tmp_path)
    assert len(hosted) == 6
    assert all(dest.startswith("http://127.0.0.1") for _, dest in hosted.values())
    (tmp_path / "img" / "p1.png").unlink()  # gone: downloaded from the host
    (tmp_path / "img" / "p2.png").unlink()
    (tmp_path / "img" / "p3.png").write_bytes(png_bytes(rgb=(9, 9, 9)))  # another image there
    texts = {p: p.read_bytes() for p in (tmp_path / "posts").glob("*.md")}
    uploads = len(host.uploads)

    dry = run(tmp_path, "restore", "--dry-run", LOOPBACK)
    assert dry.returncode == 1, dry.stderr
    document = json.loads(run(tmp_path, "restore", "--dry-run", "--json").stdout)
    assert document["exit_status"] == 1 and document["images"] == 6
    assert len(document["pending"]) == 6 and document["errors"] == []
    assert len(dry.stdout.splitlines()) == 6
    assert "6 hosted image(s) for 6 reference(s) in 2 file(s) would be restored" in dry.stderr
    assert {p: p.read_bytes() for p in texts} == texts

    done = run(tmp_path, "restore", LOOPBACK)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 done, 6 link(s) rewritten in 2 file(s)" in done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("restored img/p1.png <- http://127.0.0.1") for line in lines)
    assert any(line.startswith("restored images/restored/p3.png <- ") for line in lines)
    assert sum(line.startswith("already there: img/p") for line in lines) == 3

    restored = references(tmp_path)
    for alt, (post, dest) in restored.items():
        assert not dest.startswith("http"), (alt, dest)
        assert (post.parent / dest).resolve().read_bytes() == originals[alt], alt
    assert restored["p3"][1] == "../images/restored/p3.png"
    assert restored["p0"][1] == "../img/p0.png"
    assert (tmp_path / "img" / "p3.png").read_bytes() == png_bytes(rgb=(9, 9, 9))  # kept
    # Only the destinations changed: titles, CRLF and LF line endings as they were.
    for post, before in texts.items():
        after = post.read_bytes()
        swapped = before
        for alt, (_, url) in hosted.items():
            swapped = swapped.replace(url.encode(), restored[alt][1].encode())
        assert after == swapped

    check = run(tmp_path, "check")
    assert check.returncode == 1  # local references left, each already on the host
    assert len(check.stdout.splitlines()) == 6

    again = run(tmp_path, ".")
    assert again.returncode == 0, again.stderr
    assert len(host.uploads) == uploads  # the cache still knows every image
    assert references(tmp_path) == hosted


def test_a_rerun_finds_nothing_and_bytes_changed_on_the_host_are_refused(
    tmp_path: Path, host: FakeLsky
) -> None:
    synced_site(tmp_path, host.url, 3)
    hosted = references(tmp_path)
    for i in range(3):
        (tmp_path / "img" / f"p{i}.png").unlink()
    host.alter_served_file(hosted["p1"][1], png_bytes(rgb=(1, 2, 3)))  # other bytes

    done = run(tmp_path, "restore", LOOPBACK)
    assert done.returncode == 3
    assert re.search(
        r"posts/two\.md:3: .*the bytes the host serves are not the image uploaded", done.stderr
    ), done.stderr
    assert not (tmp_path / "img" / "p1.png").exists()
    assert (tmp_path / "img" / "p0.png").read_bytes() == png_bytes(rgb=(0, 20, 30))
    assert references(tmp_path)["p1"] == hosted["p1"]  # left pointing at the host

    rerun = run(tmp_path, "restore", LOOPBACK)
    assert rerun.returncode == 3  # only p1 is still hosted, and still refused
    assert "1 hosted image(s) for 1 reference(s)" in rerun.stderr


def test_the_address_rule_refuses_loopback_by_default(tmp_path: Path, host: FakeLsky) -> None:
    synced_site(tmp_path, host.url, 1)
    (tmp_path / "img" / "p0.png").unlink()
    before = host.requests
    done = run(tmp_path, "restore")
    assert done.returncode == 3
    assert "never downloads from loopback" in done.stderr
    assert "--allow-private-addresses allows it" in done.stderr
    assert host.requests == before


def test_a_recorded_path_outside_the_project_is_never_written(
    tmp_path: Path, host: FakeLsky
) -> None:
    root = tmp_path / "site"
    root.mkdir()
    synced_site(root, host.url, 1)
    cache = root / ".imgsync-cache.json"
    cache.write_text(cache.read_text().replace('"img/p0.png"', '"../escaped.png"'))
    (root / "img" / "p0.png").unlink()
    done = run(root, "restore", LOOPBACK, "--into", "pictures")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "escaped.png").exists()
    assert (root / "pictures" / "escaped.png").read_bytes() == png_bytes(rgb=(0, 20, 30))
    assert references(root)["p0"][1] == "../pictures/escaped.png"


WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L" + bytes(18)  # a WebP by its first bytes


def test_a_host_that_re_encodes_gives_back_what_it_serves_said_unverified(
    tmp_path: Path,
) -> None:
    with FakePicHub(token=TOKEN) as pichub:
        originals = synced_site(tmp_path, pichub.url, 2, kind="pichub")
        hosted = references(tmp_path)
        for i in range(2):
            (tmp_path / "img" / f"p{i}.png").unlink()
        pichub.reencode_served_file(hosted["p1"][1], WEBP, "image/webp")
        uploads = len(pichub.uploads)
        done = run(tmp_path, "restore", LOOPBACK)
        assert done.returncode == 0, done.stderr
        # Served as uploaded (this fake keeps the bytes): held against the SHA-256 all the same.
        assert (tmp_path / "img" / "p0.png").read_bytes() == originals["p0"]
        assert (tmp_path / "images" / "restored" / "p1.webp").read_bytes() == WEBP
        assert (
            "note: images/restored/p1.webp: not verified: pichub re-encodes uploads, so the "
            "bytes restored are the host's (image/webp), not the file uploaded; a sync would "
            "upload them again"
        ) in done.stderr.splitlines()
        assert references(tmp_path)["p1"][1] == "../images/restored/p1.webp"
        again = run(tmp_path, ".")
        assert again.returncode == 0, again.stderr
        assert len(pichub.uploads) == uploads + 1  # the WebP, as said; the PNG was known


def test_an_image_known_only_by_a_serves_prefix_comes_back_unverified(
    tmp_path: Path, host: FakeLsky
) -> None:
    synced_site(tmp_path, host.url, 1, extra=f'serves = ["{host.site}/i/"]\n')
    hosted = references(tmp_path)
    (tmp_path / ".imgsync-cache.json").unlink()  # the cache forgot it (and so did the journal)
    shutil.rmtree(tmp_path / ".imgsync")
    (tmp_path / "img" / "p0.png").unlink()
    done = run(tmp_path, "restore", LOOPBACK)
    assert done.returncode == 0, done.stderr
    name = hosted["p0"][1].rsplit("/", 1)[1]
    assert (tmp_path / "images" / "restored" / name).read_bytes() == png_bytes(rgb=(0, 20, 30))
    assert "not verified: known by the `serves` prefix of profile 'blog'" in done.stderr


@pytest.mark.parametrize(
    ("source", "usable"),
    [
        ("img/a.png", True),
        ("deep/er/a b.JPG", True),
        ("../a.png", False),
        ("/etc/a.png", False),
        ("img/../../a.png", False),
        (".git/hooks/a.png", False),
        (".imgsync/a.png", False),
        ("posts/readme.md", False),  # not an image's name: restore writes no Markdown file
        ("https://other.example/a.png", False),  # an adopted image's origin
        ("", False),
    ],
)
def test_only_a_safe_recorded_path_is_written(tmp_path: Path, source: str, usable: bool) -> None:
    from imgsync.config import Settings
    from imgsync.restore import recorded_path

    settings = Settings(
        root=tmp_path, config_path=None, cache_path=tmp_path / "c.json", site_root=tmp_path
    )
    assert (recorded_path(source, settings) is not None) is usable


def test_destinations_read_back_as_the_path(tmp_path: Path) -> None:
    from imgsync.config import Settings
    from imgsync.local_places import written_path
    from imgsync.markdown.destinations import local_target

    (tmp_path / "static").mkdir()
    plain = Settings(
        root=tmp_path, config_path=None, cache_path=tmp_path / "c.json", site_root=tmp_path
    )
    post = tmp_path / "content" / "post.md"
    image = tmp_path / "images" / "restored" / "a b%#?.png"
    written = written_path(image, post, plain)
    assert written == "../images/restored/a%20b%25%23%3F.png"
    target = local_target(written)
    assert target is not None and target.path == "../images/restored/a b%#?.png"
    hugo = Settings(
        root=tmp_path,
        config_path=None,
        cache_path=tmp_path / "c.json",
        site_root=tmp_path / "static",
    )
    assert written_path(tmp_path / "static" / "img" / "a.png", post, hugo) == "/img/a.png"
    assert written_path(image, post, hugo) == "../images/restored/a%20b%25%23%3F.png"


def test_every_form_comes_back_relative_to_its_own_file(tmp_path: Path, host: FakeLsky) -> None:
    synced_site(tmp_path, host.url, 2)
    url = references(tmp_path)["p0"][1]
    forms = tmp_path / "notes" / "deep" / "forms.md"
    forms.parent.mkdir(parents=True)
    forms.write_bytes(
        f"---\ncover: {url}\n---\n\n"
        f'[![p0]({url})]({url}) <img src="{url}" alt="x">\n\n![ref][d] ![q]({url}?w=3#top)\n\n'
        f"[d]: <{url}>\n".encode()
    )
    (tmp_path / "img" / "p0.png").unlink()
    outside = run(tmp_path, "restore", LOOPBACK, "--into", str(tmp_path.parent))
    assert outside.returncode == 2 and "not a folder of the project" in outside.stderr

    done = run(tmp_path, "restore", LOOPBACK)
    assert done.returncode == 0, done.stderr
    assert "8 link(s) rewritten in 3 file(s)" in done.stderr  # 6 in forms.md, 1 in each post
    assert forms.read_text() == (
        "---\ncover: ../../img/p0.png\n---\n\n"
        '[![p0](../../img/p0.png)](../../img/p0.png) <img src="../../img/p0.png" alt="x">\n\n'
        "![ref][d] ![q](../../img/p0.png)\n\n[d]: <../../img/p0.png>\n"
    )
    assert references(tmp_path)["p0"][1] == "../img/p0.png"
    assert (tmp_path / "img" / "p0.png").read_bytes() == png_bytes(rgb=(0, 20, 30))


def test_a_file_left_unwritten_is_finished_by_a_rerun_with_nothing_written_twice(
    tmp_path: Path, host: FakeLsky
) -> None:
    synced_site(tmp_path, host.url, 4)
    for i in range(4):
        (tmp_path / "img" / f"p{i}.png").unlink()
    (tmp_path / "img" / "p2.png").write_bytes(b"another file")  # p2 goes to --into
    two = tmp_path / "posts" / "two.md"
    before = two.read_bytes()
    two.chmod(0o444)
    first = run(tmp_path, "restore", LOOPBACK)
    assert first.returncode == 3
    assert "posts/two.md: is read-only; left unchanged" in first.stderr
    assert two.read_bytes() == before
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.png"))

    two.chmod(0o644)
    again = run(tmp_path, "restore", LOOPBACK)
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert [line.split(" <- ")[0] for line in lines] == [
        "already there: img/p1.png",
        "already there: img/p3.png",
    ]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.png")) == written
    assert not any(dest.startswith("http") for _, dest in references(tmp_path).values())


def test_killed_three_times_then_rerun_the_end_is_whole_and_exact(
    tmp_path: Path, host: FakeLsky
) -> None:
    originals = synced_site(tmp_path, host.url, 20)
    for i in range(20):
        (tmp_path / "img" / f"p{i}.png").unlink()
    texts = {p: p.read_bytes() for p in (tmp_path / "posts").glob("*.md")}
    host.latency = 0.1  # each download takes a while: there is time to kill in between
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "CI"))}
    kills = 0
    for _ in range(3):
        before = len(list((tmp_path / "img").glob("*.png")))
        process = subprocess.Popen(
            [IMGSYNC, "restore", LOOPBACK, "-j", "2"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            if len(list((tmp_path / "img").glob("*.png"))) > before:
                process.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.01)
        process.wait(timeout=30)
        # Killed before any Markdown file was rewritten: each is whole, as it was.
        assert all(path.read_bytes() == data for path, data in texts.items())
        for image in (tmp_path / "img").glob("*.png"):  # every image there is whole
            assert image.read_bytes() == originals[image.stem]
    assert kills == 3

    host.latency = 0.0
    done = run(tmp_path, "restore", LOOPBACK)
    assert done.returncode == 0, done.stderr
    for alt, (post, dest) in references(tmp_path).items():
        assert (post.parent / dest).resolve().read_bytes() == originals[alt]
    assert sorted(p.name for p in (tmp_path / "img").glob("*.png")) == sorted(
        f"{alt}.png" for alt in originals
    )
    assert not (tmp_path / "images").exists()  # nothing went to --into: no image twice


def test_an_image_sent_without_its_location_comes_back_and_a_sync_uploads_nothing(
    tmp_path: Path, host: FakeLsky
) -> None:
    # The host holds the stripped bytes (privacy/); the original file is gone: restore checks
    # them against the SHA-256 recorded as sent, and the cache learns their MD5.
    from tests.images import exif_tiff, jpeg_bytes

    (tmp_path / "imgsync.toml").write_text(
        f'host = "blog"\n[hosts.blog]\ntype = "lsky"\nurl = "{host.url}"\n'
        'token = "${LSKY_TOKEN}"\n'
    )
    original = jpeg_bytes(exif=exif_tiff())
    (tmp_path / "trip.jpg").write_bytes(original)
    (tmp_path / "post.md").write_text("![trip](trip.jpg)\n")
    assert run(tmp_path, ".").returncode == 0
    (tmp_path / "trip.jpg").unlink()

    restored = run(tmp_path, "restore", LOOPBACK)

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "location metadata stripped at upload" in restored.stdout + restored.stderr
    assert (tmp_path / "post.md").read_text() == "![trip](trip.jpg)\n"
    back = (tmp_path / "trip.jpg").read_bytes()
    assert back[:2] == b"\xff\xd8" and len(back) == len(original) and back != original
    uploads = len(host.uploads)
    synced = run(tmp_path, ".")
    assert synced.returncode == 0, synced.stderr
    assert len(host.uploads) == uploads  # nothing uploaded again
