"""End to end: a real `mkdocs build` (and `mkdocs serve`) of a small site with `plugins: [imgsync]`
against the fake Lsky: hosted `src` values in the built HTML, the sources byte-identical."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

MKDOCS = str(Path(sys.executable).with_name("mkdocs"))
TOKEN = "7|mkdocsTokenThatMustNeverBePrintedAnywhere0"


@pytest.fixture
def lsky() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


def environment(lsky: FakeLsky) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "CI"))}
    env.update(LSKY_TOKEN=TOKEN, NO_PROXY="127.0.0.1", IMGSYNC_ALLOW_HTTP="1")
    return env


def build(site: Path, lsky: FakeLsky) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [MKDOCS, "build"],
        cwd=site,
        env=environment(lsky),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert TOKEN not in done.stdout + done.stderr
    return done


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def site(tmp_path: Path, lsky: FakeLsky) -> Path:
    """Two pages: one with front matter, a titled image and a code block; one with a
    reference-style image in a subfolder."""
    root = tmp_path / "site"
    (root / "docs" / "guide" / "img").mkdir(parents=True)
    (root / "docs" / "photo.png").write_bytes(png_bytes(4, 4, (10, 200, 30)))
    (root / "docs" / "guide" / "img" / "logo.png").write_bytes(png_bytes(2, 2, (0, 0, 250)))
    (root / "docs" / "index.md").write_text(
        "---\ntitle: Home\nimage: photo.png\n---\n\n# Home\n\n"
        '![A photo](photo.png "The title")\n\n```md\n![in code](photo.png)\n```\n'
    )
    (root / "docs" / "guide" / "page.md").write_text(
        "# Guide\n\n![logo][l]\n\nBack [home](../index.md).\n\n[l]: img/logo.png\n"
    )
    (root / "mkdocs.yml").write_text("site_name: Test\nplugins:\n  - imgsync\n")
    (root / "imgsync.toml").write_text(
        f'[hosts.blog]\ntype = "lsky"\nurl = "{lsky.url}"\ntoken = "${{LSKY_TOKEN}}"\n'
    )
    return root


def img_sources(html: Path) -> list[str]:
    return re.findall(r'<img [^>]*src="([^"]+)"', html.read_text())


def test_the_built_site_points_at_the_host_and_the_sources_stay_local(
    site: Path, lsky: FakeLsky
) -> None:
    sources = digests(site / "docs")
    done = build(site, lsky)
    assert done.returncode == 0, done.stderr
    assert "imgsync: 2 uploaded, 0 already on the host, 3 link(s) rewritten in 2 file(s)" in (
        done.stderr
    )
    assert digests(site / "docs") == sources
    home = img_sources(site / "site" / "index.html")
    guide = img_sources(site / "site" / "guide" / "page" / "index.html")
    assert len(home) == 1 and home[0].startswith(lsky.url.rsplit("/api", 1)[0] + "/i/")
    assert len(guide) == 1 and guide[0].startswith("http://127.0.0.1:")
    html = (site / "site" / "index.html").read_text()
    assert 'title="The title"' in html and "![in code](photo.png)" in html  # code kept as is
    with httpx.Client(trust_env=False) as http:
        assert http.get(home[0]).content == (site / "docs" / "photo.png").read_bytes()

    again = build(site, lsky)
    assert again.returncode == 0 and len(lsky.uploads) == 2  # the cache: nothing sent
    assert img_sources(site / "site" / "index.html") == home
    assert digests(site / "docs") == sources
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("imgsync-mkdocs-*/index.md"))


def test_a_missing_image_fails_the_build_naming_the_page_and_line(
    site: Path, lsky: FakeLsky
) -> None:
    with (site / "docs" / "guide" / "page.md").open("a") as page:
        page.write("\n![gone](gone.png)\n")
    done = build(site, lsky)
    assert done.returncode == 1
    assert "docs/guide/page.md:9: gone.png: not found" in done.stderr
    assert "Traceback" not in done.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_mkdocs_serve_uploads_nothing_and_shows_the_local_images(
    site: Path, lsky: FakeLsky
) -> None:
    port = free_port()
    server = subprocess.Popen(
        [MKDOCS, "serve", "--no-livereload", "-a", f"127.0.0.1:{port}"],
        cwd=site,
        env=environment(lsky),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        html = ""
        deadline = time.monotonic() + 60
        with httpx.Client(trust_env=False) as http:
            while time.monotonic() < deadline and "<img" not in html:
                try:
                    html = http.get(f"http://127.0.0.1:{port}/").text
                except httpx.TransportError:
                    time.sleep(0.2)
        assert re.findall(r'<img [^>]*src="([^"]+)"', html) == ["photo.png"]
        assert not lsky.uploads
    finally:
        server.terminate()
        server.wait(timeout=30)
