"""End to end: `imgsync sync --output DIR PATH` with the real console script and the fake Lsky:
the sources untouched, DIR a copy whose Markdown is what an in-place sync writes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "7|publishTokenThatMustNeverBePrintedAnywhere"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


def run(cwd: Path, host: FakeLsky, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=TOKEN)
    done = subprocess.run(
        [IMGSYNC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert TOKEN not in done.stdout + done.stderr
    return done


def digests(root: Path) -> dict[str, str]:
    """Every file under `root` (relative path -> SHA-256), `.imgsync` state left out."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".imgsync" not in p.relative_to(root).parts
    }


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    """The sample blog, plus a CRLF post with a BOM, a code block, and a file that is no image."""
    root = tmp_path / "blog"
    shutil.copytree(EXAMPLES, root)
    extra = root / "posts" / "2025" / "crlf"
    extra.mkdir()
    (extra / "red.png").write_bytes(png_bytes(3, 3, (200, 0, 0)))
    text = "# CRLF\r\n\r\n![red](red.png)\r\n\r\n```\r\n![kept](red.png)\r\n```\r\n"
    (extra / "index.md").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (extra / "data.csv").write_text("a,b\n1,2\n")
    return root


def test_the_output_holds_what_an_in_place_sync_writes_and_the_sources_stay(
    blog: Path, host: FakeLsky
) -> None:
    before = digests(blog / "posts")
    done = run(blog, host, "sync", "--output", "../build/posts", "posts")
    assert done.returncode == 0, done.stderr
    assert f"written under {blog.parent / 'build' / 'posts'}, the sources unchanged" in done.stderr
    out = blog.parent / "build" / "posts"
    assert digests(blog / "posts") == before  # not one byte of the sources changed
    assert set(digests(out)) == set(before)  # every file copied, images and data included
    uploads = len(host.uploads)
    assert uploads > 0

    again = run(blog, host, "sync", "--output", "../build/posts", "posts")
    assert again.returncode == 0 and len(host.uploads) == uploads  # the cache: nothing sent
    published = digests(out)

    in_place = run(blog, host, "sync", "posts")  # what a sync in place writes, from the cache
    assert in_place.returncode == 0 and len(host.uploads) == uploads
    assert digests(blog / "posts") == published  # byte for byte, Markdown and the rest
    rewritten = (out / "2025" / "crlf" / "index.md").read_bytes()
    assert rewritten.startswith(b"\xef\xbb\xbf# CRLF\r\n") and b"![kept](red.png)\r\n" in rewritten
    assert b"![red](http://127.0.0.1:" in rewritten


def test_a_file_of_the_source_leading_outside_the_project_is_not_copied(
    blog: Path, host: FakeLsky, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the site\n")
    (blog / "posts" / "leak.txt").symlink_to(secret)
    done = run(blog, host, "sync", "--output", "../build", "posts")
    assert done.returncode == 0, done.stderr
    assert "warning: posts/leak.txt: not copied to the output:" in done.stderr
    assert not (tmp_path / "build" / "leak.txt").exists()
    (blog / "posts" / "linked").symlink_to(blog / "static")
    again = run(blog, host, "sync", "--output", "../build", "posts")
    assert "warning: posts/linked: not copied to the output: a symbolic link to a folder" in (
        again.stderr
    )
    assert not (tmp_path / "build" / "linked").exists()
    assert (tmp_path / "build" / "2024" / "hello-world" / "index.md").is_file()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--output", "posts/build", "posts"), "--output posts/build is inside posts"),
        (("--output", ".", "posts"), "--output . holds posts"),
        (("--output", "../b", "posts", "about.md"), "--output takes exactly one PATH"),
        (("--output", "../b", "--reprocess", "posts"), "--output and --reprocess don't go"),
        (("--output", "about.md", "posts"), "--output about.md is a file, not a folder"),
        (("--output", "../b", "nowhere"), "nowhere: no such file or folder"),
    ],
)
def test_an_output_that_cant_be_used_is_refused_before_anything_is_done(
    blog: Path, host: FakeLsky, args: tuple[str, ...], words: str
) -> None:
    before = digests(blog)
    done = run(blog, host, "sync", *args)
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert digests(blog) == before and not host.uploads
