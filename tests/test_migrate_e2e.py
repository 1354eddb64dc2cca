"""End to end: `imgsync migrate`, the real console script, moving a site synced to the fake
Lsky onto the fake PicHub (both real HTTP servers on 127.0.0.1); SIGKILLs in the middle."""

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
LSKY_TOKEN = "7|migrateTokenThatMustNeverBePrintedAnywhere0"
PICHUB_TOKEN = "pichub-migrate-token-never-printed"
LOOPBACK = "--allow-private-addresses"  # the tests' servers are on 127.0.0.1
URL = re.compile(r"https?://[^\s)\"]+")


@pytest.fixture
def lsky() -> Iterator[FakeLsky]:
    with FakeLsky(token=LSKY_TOKEN) as server:
        yield server


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "CI"))}
    env.update(LSKY_TOKEN=LSKY_TOKEN, PICHUB_TOKEN=PICHUB_TOKEN)
    done = subprocess.run(
        [IMGSYNC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )
    for secret in (LSKY_TOKEN, PICHUB_TOKEN):
        assert secret not in done.stdout and secret not in done.stderr
    return done


def popen(cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "CI"))}
    env.update(LSKY_TOKEN=LSKY_TOKEN, PICHUB_TOKEN=PICHUB_TOKEN)
    return subprocess.Popen(
        [IMGSYNC, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def config(lsky: FakeLsky, pichub: FakePicHub, extra: str = "") -> str:
    return (
        f'host = "blog"\n[hosts.blog]\ntype = "lsky"\nurl = "{lsky.url}"\n'
        'token = "${LSKY_TOKEN}"\n'
        f'[hosts.hub]\ntype = "pichub"\nurl = "{pichub.url}"\ntoken = "${{PICHUB_TOKEN}}"\n'
        f"{extra}"
    )


def site(root: Path, lsky: FakeLsky, pichub: FakePicHub, count: int = 20, extra: str = "") -> Path:
    """`count` images in four posts (one reference with a ?query#fragment of its own, one
    foreign), synced to Lsky; returns the project root."""
    root.mkdir(exist_ok=True)
    (root / "imgsync.toml").write_text(config(lsky, pichub, extra))
    (root / "img").mkdir()
    posts: dict[str, list[str]] = {f"post{n}.md": [] for n in range(4)}
    for i in range(count):
        (root / "img" / f"p{i}.png").write_bytes(png_bytes(rgb=(i * 10, 20, 30)))
        posts[f"post{i % 4}.md"].append(f"![p{i}](img/p{i}.png)\n")
    posts["post0.md"].append("![again](img/p0.png)\n")  # one image, two references
    posts["post1.md"].append("![far](https://elsewhere.example/far.png)\n")
    for name, lines in posts.items():
        (root / name).write_text(f"# {name}\r\n\r\nText.\n\n" + "\n".join(lines))
    done = run(root, ".")
    assert done.returncode == 0, done.stderr
    data = (root / "post2.md").read_bytes()
    (root / "post2.md").write_bytes(data.replace(b".png)", b".png?v=2#top)", 1))
    return root


def references(root: Path) -> list[str]:
    return [url for p in sorted(root.glob("*.md")) for url in URL.findall(p.read_text())]


def by_image(root: Path) -> dict[str, str]:
    """Each post's text with every URL of the cache replaced by its image's MD5 and host:
    what two runs on separate hosts share."""
    document = json.loads((root / ".imgsync-cache.json").read_text())
    names: dict[str, str] = {}

    def walk(node: object, md5: str = "") -> None:
        if isinstance(node, dict):
            if isinstance(node.get("url"), str):
                names[node["url"]] = md5
            for key, value in node.items():
                walk(value, key if re.fullmatch(r"[0-9a-f]{32}", key) else md5)

    walk(document)
    texts = {}
    for post in sorted(root.glob("*.md")):
        text = post.read_text()
        for url, md5 in names.items():
            text = text.replace(url, f"<{md5}>")
        texts[post.name] = text
    return texts


def hosted_as(root: Path, alt: str) -> list[str]:
    """The URLs of the references with alt text `alt`."""
    found = []
    for post in root.glob("*.md"):
        found += re.findall(rf"!\[{alt}\]\(([^)]+)\)", post.read_text())
    return found


def stored(pichub: FakePicHub) -> list[str]:
    """The MD5 of every file PicHub stored."""
    return [f.md5 for u in pichub.uploads if u.ids for f in u.files]


def test_migrate_moves_twenty_images_downloading_the_three_deleted(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    with FakePicHub(token=PICHUB_TOKEN, upload_limit=None) as pichub:
        root = site(tmp_path / "site", lsky, pichub)
        lsky_urls = [u for u in references(root) if u.startswith(lsky.url.split("/api")[0])]
        assert len(lsky_urls) == 21
        for i in (3, 7, 11):
            (root / "img" / f"p{i}.png").unlink()
        before = {p.name: p.read_bytes() for p in root.glob("*.md")}

        dry = run(root, "migrate", "--to", "hub", "--dry-run", LOOPBACK)
        assert dry.returncode == 1, dry.stderr
        assert len(dry.stdout.splitlines()) == 21
        assert dry.stdout.count("bytes: downloaded from") == 3
        assert "would move 21 reference(s) to hub: 17 image(s) from local files, 3 to down" in (
            dry.stderr
        )
        assert {p.name: p.read_bytes() for p in root.glob("*.md")} == before
        assert stored(pichub) == []

        started = time.monotonic()
        done = run(root, "migrate", "--to", "hub", LOOPBACK)
        took = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        print(f"migrate of 20 images: {took:.2f} s; {done.stderr.strip()}")
        assert "17 image(s) from local files, 3 downloaded and verified" in done.stderr
        assert "20 uploaded" in done.stderr
        assert len(stored(pichub)) == 20 == len(set(stored(pichub)))

        urls = references(root)
        assert not [u for u in urls if u.startswith(lsky.url.split("/api")[0])]
        assert "https://elsewhere.example/far.png" in urls  # foreign: untouched
        assert [u for u in urls if u.endswith("?v=2#top")]  # the reference's own suffix
        for post in root.glob("*.md"):
            assert post.read_bytes().startswith(f"# {post.name}\r\n\r\nText.\n\n".encode())

        cached = (root / ".imgsync-cache.json").read_text()
        assert ".imgsync/migrate" not in cached  # downloads recorded as the files they were
        assert cached.count('"source": "img/p3.png"') == 2  # on Lsky, then on PicHub
        assert not list((root / ".imgsync" / "migrate").glob("*/*"))  # staged files removed

        again = run(root, "migrate", "--to", "hub", LOOPBACK)
        assert again.returncode == 0, again.stderr
        assert "nothing to move" in again.stderr
        assert len(stored(pichub)) == 20
        check = run(root, "check")
        assert check.returncode == 0, check.stdout + check.stderr


def test_an_image_the_old_host_changed_is_not_moved(tmp_path: Path, lsky: FakeLsky) -> None:
    with FakePicHub(token=PICHUB_TOKEN, upload_limit=None) as pichub:
        root = site(tmp_path / "site", lsky, pichub, count=4)
        (root / "img" / "p1.png").unlink()
        (root / "img" / "p2.png").unlink()
        # p1's bytes on the host replaced: the download no longer matches the cache.
        [p1] = hosted_as(root, "p1")
        lsky.alter_served_file(p1, png_bytes(rgb=(1, 2, 3)))
        done = run(root, "migrate", "--to", "hub", LOOPBACK)
        assert done.returncode == 3, done.stderr
        assert "not the image uploaded" in done.stderr and "post1.md:" in done.stderr
        assert len(stored(pichub)) == 3


def test_downloads_from_loopback_are_refused_without_the_switch(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    with FakePicHub(token=PICHUB_TOKEN, upload_limit=None) as pichub:
        root = site(tmp_path / "site", lsky, pichub, count=2)
        (root / "img" / "p0.png").unlink()
        planned = run(root, "migrate", "--to", "hub", "--dry-run", "--json")
        assert planned.returncode == 1, planned.stderr
        document = json.loads(planned.stdout)
        assert [m["bytes_from"] for m in document["moves"]] == [
            "download",
            "download",
            "local",
        ]  # p0 twice
        assert document["exit_status"] == 1 and document["dry_run"] is True
        done = run(root, "migrate", "--to", "hub")
        assert done.returncode == 3, done.stderr
        assert "--allow-private-addresses allows it" in done.stderr
        assert len(stored(pichub)) == 1  # the other image, read from its file, moved


def test_an_unknown_profile_is_a_usage_error(tmp_path: Path, lsky: FakeLsky) -> None:
    with FakePicHub(token=PICHUB_TOKEN, upload_limit=None) as pichub:
        root = site(tmp_path / "site", lsky, pichub, count=1)
        done = run(root, "migrate", "--to", "nope")
        assert done.returncode == 2
        assert done.stderr.startswith("imgsync: error:") and "nope" in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_three_sigkills_then_a_rerun_upload_nothing_twice(tmp_path: Path, lsky: FakeLsky) -> None:
    """Killed at three moments (the downloads done and nothing stored yet, then after 8 and
    15 images), each between uploads: PicHub is made to hang the next one, so nothing the
    host stored is unknown to the run (an upload the host takes as the run dies can't be
    known by any client). Files whole, every image stored once, and the end state that of
    an uninterrupted run."""
    extra = "batch_size = 1\n"
    with (
        FakePicHub(token=PICHUB_TOKEN, upload_limit=None, latency=0.15) as pichub,
        FakePicHub(token=PICHUB_TOKEN, upload_limit=None) as calm,
    ):
        work = site(tmp_path / "work", lsky, pichub, extra=extra)
        reference = site(tmp_path / "reference", lsky, calm, extra=extra)
        for root in (work, reference):
            for i in (3, 7, 11):
                (root / "img" / f"p{i}.png").unlink()
        original = {p.name: p.read_bytes() for p in work.glob("*.md")}
        assert run(reference, "migrate", "--to", "hub", LOOPBACK).returncode == 0
        final = by_image(reference)

        for after in (0, 8, 15):  # images stored on the host when the run is killed
            process = popen(work, "migrate", "--to", "hub", LOOPBACK, "--jobs", "1")
            deadline = time.monotonic() + 60
            while len(stored(pichub)) < after and process.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            pichub.fail_next("hang")  # the next upload, still in its latency, never lands
            # Killed only once that upload hangs: the one before it was answered, and a
            # moment is left to record it (else a loaded machine kills between the host's
            # answer and the journal, and the rerun rightly uploads that image again).
            while pichub._faults and process.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            time.sleep(0.5)
            assert process.poll() is None, "the migration finished before it was killed"
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            with pichub._lock:  # a fault no upload took must not hang the rerun
                pichub._faults.clear()
            for post in work.glob("*.md"):
                text = post.read_bytes()
                assert text == original[post.name] or text.startswith(
                    f"# {post.name}\r\n\r\nText.\n\n".encode()
                ), f"{post.name} is half written"
            json.loads((work / ".imgsync-cache.json").read_text())

        done = run(work, "migrate", "--to", "hub", LOOPBACK)
        assert done.returncode == 0, done.stderr
        print(f"after 3 kills: {done.stderr.strip()}")
        assert len(stored(pichub)) == 20 == len(set(stored(pichub)))
        assert by_image(work) == final
        assert not list((work / ".imgsync" / "migrate").glob("*/*"))  # no staged file left
        shutil.rmtree(tmp_path / "reference")


def test_leaving_a_re_encoding_host_says_what_was_not_verified(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    """From PicHub (WebP, `transform` links) to Lsky: its parameters stay behind, the
    reference's own fragment moves, and the downloaded WebP is said to be unverifiable."""
    with FakePicHub(token=PICHUB_TOKEN, upload_limit=None) as pichub:
        root = tmp_path / "site"
        root.mkdir()
        (root / "imgsync.toml").write_text(
            config(lsky, pichub, "transform = { w = 800 }\n").replace(
                'host = "blog"', 'host = "hub"'
            )
        )
        (root / "img").mkdir()
        for i in range(3):
            (root / "img" / f"p{i}.png").write_bytes(png_bytes(rgb=(i, 9, 9)))
        (root / "post.md").write_text(
            "![p0](img/p0.png#left)\n\n![p1](img/p1.png)\n\n![p2](img/p2.png)\n"
        )
        assert run(root, ".").returncode == 0
        text = (root / "post.md").read_text()
        assert text.count("?w=800") == 3 and "?w=800#left" in text
        (root / "img" / "p0.png").unlink()
        # The real PicHub serves WebP; the fake keeps the bytes it got: stand in for it.
        [p0] = re.findall(r"/cdn/(\w+)\.webp\?w=800#left", text)
        webp = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07"
        webp += b"\x10\x11\x11\x88\x88\xfe\x07\x00"
        with pichub._lock:
            item, part = pichub._images[p0]
            pichub._images[p0] = (item, part._replace(data=webp, content_type="image/webp"))

        done = run(root, "migrate", "--to", "blog", LOOPBACK)
        assert done.returncode == 0, done.stderr
        assert "note: " in done.stderr and "re-encodes uploads" in done.stderr
        assert "1 downloaded (0 verified against the cache, 1 only checked to be" in done.stderr
        moved = (root / "post.md").read_text()
        site = lsky.url.split("/api")[0]
        assert moved.count(site) == 3 and "w=800" not in moved
        assert re.search(r"!\[p0\]\(\S+\.webp#left\)", moved), moved
        assert len(lsky.uploads) == 3


def test_an_image_sent_without_its_location_is_moved_when_downloaded(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    # The host holds the stripped bytes (privacy/): a download is checked against the
    # SHA-256 the cache recorded as sent, not the file's.
    from tests.images import exif_tiff, jpeg_bytes

    with FakePicHub(token=PICHUB_TOKEN, upload_limit=None) as pichub:
        root = tmp_path / "site"
        root.mkdir()
        (root / "imgsync.toml").write_text(config(lsky, pichub))
        (root / "trip.jpg").write_bytes(jpeg_bytes(exif=exif_tiff()))
        (root / "post.md").write_text("![trip](trip.jpg)\n")
        assert run(root, ".").returncode == 0
        cache = json.loads((root / ".imgsync-cache.json").read_text())
        (entry,) = [e for by_md5 in cache["uploads"].values() for e in by_md5.values()]
        assert "sent_sha256" in entry  # what went up was stripped
        (root / "trip.jpg").unlink()

        moved = run(root, "migrate", "--to", "hub", LOOPBACK)

        assert moved.returncode == 0, moved.stderr
        assert len(pichub.uploads) == 1
        assert pichub.url.split("/api")[0] in (root / "post.md").read_text()
