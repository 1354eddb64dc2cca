"""End to end: `imgsync adopt`, the real console script, taking images hot-linked from another
site (a tiny static server on 127.0.0.1) onto the fake Lsky, also on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes
from tests.test_restore_e2e import LOOPBACK, host, run

__all__ = ["host"]  # the fixture, used by name
SHARED = png_bytes(rgb=(1, 2, 3))  # served under two names, and also a local image synced before
OTHER = png_bytes(rgb=(4, 5, 6))
FILES = {
    "/a.png": ("image/png", SHARED),
    "/copy-of-a.png": ("image/png", SHARED),
    "/pics/other.png?w=300": ("image/png", OTHER),
    "/big.png": ("image/png", png_bytes() + bytes(10_000)),  # above max_size
    "/page.png": ("text/html", b"<html><body>not a picture</body></html>"),
}


class Site:
    """A static site on 127.0.0.1 serving FILES; `paths` logs every request."""

    def __init__(self) -> None:
        paths: list[str] = []
        self.paths = paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                kind, body = FILES.get(self.path, ("text/plain", b""))
                self.send_response(200 if self.path in FILES else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()


def project(root: Path, host: FakeLsky, origin: str) -> Path:
    (root / "imgsync.toml").write_text(
        f'host = "blog"\nmax_size = 4096\n[hosts.blog]\ntype = "lsky"\nurl = "{host.url}"\n'
        'token = "${LSKY_TOKEN}"\n'
    )
    (root / "local.png").write_bytes(SHARED)
    (root / "synced.md").write_text("![local](local.png)\n")
    assert run(root, ".").returncode == 0  # SHARED is on the host already
    port = origin.rsplit(":", 1)[1]
    (root / "post.md").write_text(
        "# Hot-linked\n\n"
        f"![a]({origin}/a.png)\n"
        f"![copy]({origin}/copy-of-a.png 'same bytes')\n"
        f'<img src="{origin}/pics/other.png?w=300" alt="other">\n'
        f"![big]({origin}/big.png)\n"
        f"![page]({origin}/page.png)\n"
        f"![elsewhere](http://localhost:{port}/a.png)\n"
        f'\n[a page]({origin}/about) and <a href="{origin}/contact">a link</a>: not images\n'
    )
    return root / "post.md"


def local_url(root: Path) -> str:
    """The URL the local image (SHARED's bytes) was synced to."""
    return (root / "synced.md").read_text().split("(")[1].rstrip(")\n")


def hosted_url(post: Path) -> str:
    """The URL the <img> (OTHER's bytes) was adopted to."""
    return post.read_text().split('<img src="')[1].split('"')[0]


def test_adopt_hosts_each_image_once_and_fails_only_the_bad_ones(
    tmp_path: Path, host: FakeLsky, site: Site
) -> None:
    post = project(tmp_path, host, site.origin)
    before = post.read_text()
    uploads = len(host.uploads)

    refused = run(tmp_path, "adopt", "--from", "127.0.0.1")
    assert refused.returncode == 3
    assert "imgsync never downloads from loopback, private" in refused.stderr
    assert "--allow-private-addresses allows it" in refused.stderr
    assert site.paths == [] and post.read_text() == before and len(host.uploads) == uploads

    dry = run(tmp_path, "adopt", "--dry-run", "--from", "127.0.0.1", LOOPBACK)
    assert dry.returncode == 1
    assert len(dry.stdout.splitlines()) == 5 and site.paths == []
    nameless = run(tmp_path, "adopt", "--dry-run", "--from", "https://")
    assert nameless.returncode == 2 and "--from 'https://': names no site" in nameless.stderr
    every_site = run(tmp_path, "adopt", "--dry-run", LOOPBACK)
    assert len(every_site.stdout.splitlines()) == 6  # localhost's too, without --from

    done = run(tmp_path, "adopt", "--from", "127.0.0.1", LOOPBACK)
    assert done.returncode == 3, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert errors == [
        f"error: post.md:6: {site.origin}/big.png: not adopted: is 9.8 KB, above the cap of "
        "4.0 KB (`max_size`)",
        f"error: post.md:7: {site.origin}/page.png: not adopted: the reply is not an image "
        "(its bytes start b'<html><body>not ', though the server calls it text/html)",
    ]
    assert done.stdout.splitlines() == [
        f"already hosted: {site.origin}/a.png -> {local_url(tmp_path)}",
        f"uploaded {site.origin}/pics/other.png -> {hosted_url(post)}",
    ]
    assert "5 foreign image(s) for 5 reference(s)" in done.stderr
    assert "imgsync-adopt-" not in done.stderr  # the downloads' temp folder is no concern
    assert "3 link(s) rewritten in 1 file(s)" in done.stderr

    assert len(host.uploads) == uploads + 1  # SHARED was hosted already: only OTHER went up
    lines = post.read_text().splitlines()
    assert lines[2] == f"![a]({local_url(tmp_path)})"
    assert lines[3] == f"![copy]({local_url(tmp_path)} 'same bytes')"
    assert lines[4].startswith('<img src="http://127.0.0.1:') and site.origin not in lines[4]
    assert lines[5:] == before.splitlines()[5:]  # the failed two, and the other site's, as were
    entries = json.loads((tmp_path / ".imgsync-cache.json").read_text())["uploads"]
    (by_md5,) = entries.values()
    # The source: where it came from, without the query (which may carry a token).
    assert f"{site.origin}/pics/other.png" in {e["source"] for e in by_md5.values()}

    asked = len(site.paths)
    rerun = run(tmp_path, "adopt", "--from", "127.0.0.1", LOOPBACK)
    assert rerun.returncode == 3  # the two that can't be adopted, and nothing else
    assert "2 foreign image(s) for 2 reference(s)" in rerun.stderr
    assert len(site.paths) == asked + 2 and len(host.uploads) == uploads + 1
    assert not {"/about", "/contact"} & set(site.paths)
    document = json.loads(run(tmp_path, "adopt", "--json", "--from", "127.0.0.1", LOOPBACK).stdout)
    assert document["command"] == "adopt" and document["exit_status"] == 3
    assert [(e["file"], e["line"]) for e in document["errors"]] == [("post.md", 6), ("post.md", 7)]


@pytest.mark.parametrize(
    ("written", "url", "chosen"),
    [
        ("example.com", "https://example.com/a.png", True),
        ("Example.COM.", "https://cdn.example.com/a.png", True),
        ("https://example.com/any/page", "https://example.com:8443/a.png", True),
        ("example.com", "https://notexample.com/a.png", False),
        ("example.com", "https://example.com.evil.net/a.png", False),
        ("127.0.0.1:8000", "http://127.0.0.1:9000/a.png", True),
    ],
)
def test_from_names_a_site_and_its_subdomains(written: str, url: str, chosen: bool) -> None:
    from imgsync.adopt import from_site, site_name

    assert from_site(url, [site_name(written)]) is chosen


def test_an_adopted_image_restores_under_the_name_it_was_adopted_from(
    tmp_path: Path, host: FakeLsky, site: Site
) -> None:
    post = project(tmp_path, host, site.origin)
    assert run(tmp_path, "adopt", "--from", "127.0.0.1", LOOPBACK).returncode == 3
    restored = run(tmp_path, "restore", LOOPBACK)
    assert restored.returncode == 0, restored.stderr
    assert (tmp_path / "images" / "restored" / "other.png").read_bytes() == OTHER
    text = post.read_text()
    assert '<img src="images/restored/other.png" alt="other">' in text
    assert "![a](local.png)\n![copy](local.png 'same bytes')\n" in text  # its bytes, recorded
