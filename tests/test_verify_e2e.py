"""End to end: `imgsync verify`, the real console script, on a real tree synced to the fake Lsky
(and PicHub); images deleted and replaced behind the host's API with the fakes' test hook."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.attacker import Attacker, head
from imgsync.testing.fake_lsky import FakeLsky
from imgsync.testing.fake_pichub import FakePicHub
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "7|verifyTokenThatMustNeverBePrintedAnywhere00"
LOOPBACK = "--allow-private-addresses"  # the tests' servers are on 127.0.0.1


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


def run(cwd: Path, *args: str, token: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "CI"))}
    if token:
        env["LSKY_TOKEN"] = TOKEN
    done = subprocess.run(
        [IMGSYNC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert TOKEN not in done.stdout and TOKEN not in done.stderr
    return done


def site(root: Path, host_url: str, count: int, extra: str = "", kind: str = "lsky") -> Path:
    """`count` images in two posts, synced to the host: returns the project root."""
    (root / "imgsync.toml").write_text(
        f'host = "blog"\n[hosts.blog]\ntype = "{kind}"\nurl = "{host_url}"\n'
        f'token = "${{LSKY_TOKEN}}"\n{extra}'
    )
    (root / "img").mkdir()
    posts: dict[str, list[str]] = {"one.md": [], "two.md": []}
    for i in range(count):
        (root / "img" / f"p{i}.png").write_bytes(png_bytes(rgb=(i * 10, 20, 30)))
        posts["one.md" if i % 2 == 0 else "two.md"].append(f"![p{i}](img/p{i}.png)\n")
    for name, lines in posts.items():
        (root / name).write_text(f"# {name}\n\n" + "\n".join(lines))
    done = run(root, ".")
    assert done.returncode == 0, done.stderr
    return root


def hosted_urls(root: Path) -> dict[str, tuple[str, str]]:
    """alt text -> (URL, "FILE:LINE") from the synced posts."""
    found = {}
    for name in ("one.md", "two.md"):
        for number, line in enumerate((root / name).read_text().splitlines(), 1):
            match = re.fullmatch(r"!\[(p\d+)\]\((\S+)\)", line)
            if match:
                found[match.group(1)] = (match.group(2), f"{name}:{number}")
    return found


def test_verify_names_the_deleted_and_replaced_images_and_passes_a_clean_site(
    tmp_path: Path, host: FakeLsky
) -> None:
    root = site(tmp_path, host.url, 8)
    clean = run(root, "verify", LOOPBACK)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout == ""
    assert "8 image URL(s) checked for 8 reference(s) in 2 file(s)" in clean.stderr

    urls = hosted_urls(root)
    host.alter_served_file(urls["p1"][0], None)  # deleted on the host
    host.alter_served_file(urls["p4"][0], None)
    host.alter_served_file(urls["p6"][0], png_bytes(rgb=(1, 2, 3)))  # other bytes, still a PNG

    broken = run(root, "verify", LOOPBACK)
    assert broken.returncode == 1
    lines = broken.stdout.splitlines()
    assert sorted(lines) == sorted(
        [
            f"{urls['p1'][1]}: {urls['p1'][0]}: gone: the server answered HTTP 404",
            f"{urls['p4'][1]}: {urls['p4'][0]}: gone: the server answered HTTP 404",
            f"{urls['p6'][1]}: {urls['p6'][0]}: the bytes changed since the upload: "
            "their SHA-256 is not the cache's",
        ]
    )
    assert "3 reference(s) broken" in broken.stderr

    github = run(root, "verify", LOOPBACK, "--format", "github")
    assert github.returncode == 1
    annotations = github.stdout.splitlines()
    assert len(annotations) == 3 and all(a.startswith("::error file=") for a in annotations)
    file, line = urls["p6"][1].split(":")
    assert any(
        a.startswith(f"::error file={file},line={line},title=imgsync verify%3A changed::")
        for a in annotations
    )

    document = json.loads(run(root, "verify", LOOPBACK, "--format", "json").stdout)
    assert document["version"] == 1 and document["exit_status"] == 1
    assert document["urls_checked"] == 8 and document["references_checked"] == 8
    statuses = sorted((b["status"], b["url"]) for b in document["broken"])
    assert statuses == sorted(
        [("gone", urls["p1"][0]), ("gone", urls["p4"][0]), ("changed", urls["p6"][0])]
    )
    assert all(b["profile"] == "blog" and b["line"] for b in document["broken"])


def test_by_default_the_address_rule_refuses_loopback_urls(tmp_path: Path, host: FakeLsky) -> None:
    root = site(tmp_path, host.url, 2)
    before = host.requests
    done = run(root, "verify")
    assert done.returncode == 1
    assert "never downloads from loopback" in done.stdout
    assert host.requests == before  # nothing was asked of the host


def test_foreign_urls_are_skipped_unless_asked_and_then_sniffed(
    tmp_path: Path, host: FakeLsky
) -> None:
    page = b"<html>nothing here</html>"

    def answer(request: bytes, stop: threading.Event) -> Iterator[bytes]:
        yield head(200, len(page)).replace(b"application/json", b"text/html") + page

    with Attacker(answer) as other:
        root = site(tmp_path, host.url, 2)
        with (root / "one.md").open("a") as post:
            post.write(f"\n![elsewhere]({other.origin}/hotlinked.png)\n")
        skipped = run(root, "verify", LOOPBACK)
        assert skipped.returncode == 0
        assert "1 foreign reference(s) not checked" in skipped.stderr
        assert other.requests == 0

        checked = run(root, "verify", LOOPBACK, "--foreign")
        assert checked.returncode == 1
        assert f"{other.origin}/hotlinked.png: not an image: the server sent text/html" in (
            checked.stdout
        )


def test_a_served_prefix_redirecting_to_a_login_page_is_reported(
    tmp_path: Path, host: FakeLsky
) -> None:
    def answer(request: bytes, stop: threading.Event) -> Iterator[bytes]:
        if request.startswith(b"GET /login"):
            page = b"<form action=/login></form>"
            yield head(200, len(page)).replace(b"application/json", b"text/html") + page
        else:
            yield head(302, 0, Location="/login")

    with Attacker(answer) as cdn:
        origin = cdn.origin
        root = site(tmp_path, host.url, 1, extra=f'serves = ["{origin}/i/"]\n')
        with (root / "two.md").open("a") as post:
            post.write(f"\n![cdn]({origin}/i/old.png)\n")
        done = run(root, "verify", LOOPBACK)
    assert done.returncode == 1
    assert f"two.md:4: {origin}/i/old.png: redirected to {origin}/login" in done.stdout
    assert "a login or error page" in done.stdout


def test_a_host_that_re_encodes_is_not_compared(tmp_path: Path) -> None:
    with FakePicHub(token=TOKEN) as pichub:
        root = site(tmp_path, pichub.url, 2, kind="pichub")
        done = run(root, "verify", LOOPBACK)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not comparable: pichub re-encodes uploads" in done.stderr
    assert "2 not fully comparable" in done.stderr


def test_sync_and_check_leave_remote_references_alone_with_serves_set(
    tmp_path: Path, host: FakeLsky
) -> None:
    root = site(tmp_path, host.url, 2, extra='serves = ["https://cdn.example.com/i/"]\n')
    with (root / "one.md").open("a") as post:
        post.write("\n![cdn](https://cdn.example.com/i/a.png) ![x](https://other.example/x.png)\n")
    before = {p: p.read_bytes() for p in root.glob("*.md")}
    uploads = len(host.uploads)

    assert run(root, "check").returncode == 0
    synced = run(root, ".")
    assert synced.returncode == 0, synced.stderr
    assert "0 uploaded" in synced.stderr or "nothing to do" in synced.stderr.lower()
    assert {p: p.read_bytes() for p in root.glob("*.md")} == before
    assert len(host.uploads) == uploads


def test_a_server_is_asked_a_few_urls_at_a_time(tmp_path: Path, host: FakeLsky) -> None:
    root = site(tmp_path, host.url, 12)
    host.latency = 0.2
    host.most_at_once = 0
    done = run(root, "verify", LOOPBACK, "--jobs", "16")
    assert done.returncode == 0, done.stdout + done.stderr
    assert 1 < host.most_at_once <= 4  # PER_ORIGIN, however many jobs


def test_a_429_is_waited_out_once(tmp_path: Path, host: FakeLsky) -> None:
    asked = []

    def answer(request: bytes, stop: threading.Event) -> Iterator[bytes]:
        asked.append(request)
        if len(asked) == 1:
            yield head(429, 0, Retry_After="1")
        else:
            image = png_bytes()
            yield head(200, len(image)).replace(b"application/json", b"image/png") + image

    with Attacker(answer) as cdn:
        origin = cdn.origin
        root = site(tmp_path, host.url, 1, extra=f'serves = ["{origin}/i/"]\n')
        with (root / "two.md").open("a") as post:
            post.write(f"\n![cdn]({origin}/i/a.png)\n")
        done = run(root, "verify", LOOPBACK)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(asked) == 2


def test_a_scheduled_job_needs_no_token_and_an_odd_url_is_one_line(
    tmp_path: Path, host: FakeLsky
) -> None:
    root = site(tmp_path, host.url, 3)
    urls = hosted_urls(root)
    host.alter_served_file(urls["p2"][0], None)
    with (root / "two.md").open("a") as post:
        post.write("\n![odd](https://[::1/x.png)\n")  # no DNS: httpx refuses it
    done = run(root, "verify", LOOPBACK, "--foreign", token=False)
    assert done.returncode == 1, done.stderr
    assert f"{urls['p2'][1]}: {urls['p2'][0]}: gone" in done.stdout  # hosted, without the token
    assert "two.md:5: (an unreadable URL): is not a URL that can be fetched" in done.stdout
    assert "Traceback" not in done.stderr


def test_bytes_larger_than_the_upload_are_changed_without_reading_them_all(
    tmp_path: Path, host: FakeLsky
) -> None:
    root = site(tmp_path, host.url, 1)
    url, where = hosted_urls(root)["p0"]
    host.alter_served_file(url, png_bytes(300, 300))
    done = run(root, "verify", LOOPBACK)
    assert done.returncode == 1
    assert done.stdout == f"{where}: {url}: the image is larger than the one uploaded\n"
