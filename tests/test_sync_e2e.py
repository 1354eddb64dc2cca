"""End to end: the real `imgsync` console script on real temp trees against the fake Lsky host."""

from __future__ import annotations

import hashlib
import json
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
TOKEN = "7|e2eTokenThatMustNeverBePrintedAnywhere0000"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    target = tmp_path / "blog"
    shutil.copytree(EXAMPLES, target)
    return target


def run(cwd: Path, host: FakeLsky, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=TOKEN)
    done = subprocess.run(
        [IMGSYNC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert TOKEN not in done.stdout and TOKEN not in done.stderr
    return done


def markdown_files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*.md"))}


def test_sample_blog_sync_rewrites_every_local_reference_once(blog: Path, host: FakeLsky) -> None:
    assert run(blog, host, "check", ".").returncode == 1

    first = run(blog, host, "--json", ".")

    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["failures"] == []
    # six image files, two of them the same bytes: five uploads
    assert len(host.uploads) == 5
    assert len({u.md5 for u in host.uploads}) == 5
    notes = (blog / "posts/2025/notes/index.md").read_text()
    assert "](diagram.png)" not in notes and "[arch]: http://127.0.0.1" in notes
    assert "`logo-copy.png`" in notes  # code span untouched
    assert "<!-- An old screenshot, kept out of the post: ![old](old-screenshot.png) -->" in notes
    hello = (blog / "posts/2024/hello-world/index.md").read_text()
    assert '```markdown\n![The cat](cat.png "Our cat")\n```' in hello
    assert "![Badge](https://img.shields.io/badge/imgsync-demo-blue)" in hello
    assert "](<http://127.0.0.1" in hello  # angle brackets kept
    assert run(blog, host, "check", ".").returncode == 0
    cache = json.loads((blog / ".imgsync-cache.json").read_text())
    (entries,) = cache["uploads"].values()
    assert len(entries) == 5
    assert TOKEN not in (blog / ".imgsync-cache.json").read_text()


def users_files(blog: Path) -> dict[Path, int]:
    """Every file's mtime but imgsync's own working files (.imgsync/, never committed)."""
    own = blog / ".imgsync"
    return {
        p: p.stat().st_mtime_ns for p in blog.rglob("*") if p.is_file() and own not in p.parents
    }


def test_second_sync_makes_no_request_and_touches_no_file(blog: Path, host: FakeLsky) -> None:
    assert run(blog, host, ".").returncode == 0
    before = users_files(blog)
    requests = host.requests

    again = run(blog, host, ".")

    assert again.returncode == 0
    assert host.requests == requests
    assert users_files(blog) == before
    assert "nothing to do" in again.stderr


def test_bad_images_are_reported_and_the_rest_is_done(tmp_path: Path, host: FakeLsky) -> None:
    project = tmp_path / "project"
    (project / "img").mkdir(parents=True)
    (project / "img" / "good.png").write_bytes(png_bytes(3, 3))
    (project / "img" / "fake.png").write_text("this is text, not a picture\n")
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes(2, 2))
    (project / "img" / "escape.png").symlink_to(secret)
    post = project / "post.md"
    post.write_text(
        "# Post\n"
        "![missing](img/missing.png)\n"
        "![outside](../secret.png)\n"
        "![link out](img/escape.png)\n"
        "![text](img/fake.png)\n"
        "![good](img/good.png)\n"
    )
    (project / "imgsync.toml").write_text(
        '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )

    done = run(project, host, ".")

    assert done.returncode == 3
    errors = done.stderr
    assert "post.md:2: img/missing.png: not found" in errors
    assert "post.md:3: ../secret.png: refused" in errors and "outside the project" in errors
    assert "post.md:4: img/escape.png: refused: it is a link that points outside" in errors
    assert "post.md:5: img/fake.png: is not an image" in errors
    assert len(host.uploads) == 1 and host.uploads[0].filename == "good.png"
    text = post.read_text()
    assert "![good](http://127.0.0.1" in text
    assert "![missing](img/missing.png)" in text and "![text](img/fake.png)" in text


def test_check_lists_file_line_and_reference(blog: Path, host: FakeLsky) -> None:
    done = run(blog, host, "check", ".")

    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "posts/2024/hello-world/index.md:9: cat.png" in lines
    assert "posts/2025/notes/index.md:25: diagram.png" in lines
    assert "posts/2024/hello-world/index.md:13: <plot with spaces.png>" in lines
    assert len(lines) == 10


def test_dry_run_changes_nothing_and_exits_1(blog: Path, host: FakeLsky) -> None:
    before = markdown_files(blog)

    done = run(blog, host, "--dry-run", ".")

    assert done.returncode == 1
    assert host.requests == 0
    assert markdown_files(blog) == before
    assert not (blog / ".imgsync-cache.json").exists()


def test_upload_prints_one_url_per_file_in_order(blog: Path, host: FakeLsky) -> None:
    files = [
        "static/images/banner.png",
        "posts/2024/hello-world/cat.png",
        "static/images/logo.png",
        "posts/2025/notes/logo-copy.png",
    ]

    done = run(blog, host, "upload", *files)

    assert done.returncode == 0, done.stderr
    urls = done.stdout.splitlines()
    assert len(urls) == 4
    assert all(u.startswith(host.site) for u in urls)
    assert urls[2] == urls[3]  # same bytes, one upload
    assert len(host.uploads) == 3
    assert {u.filename for u in host.uploads} == {"banner.png", "cat.png", "logo.png"}
    for file, url in zip(files, urls, strict=True):
        # the fake host names a file after the MD5 of its bytes
        assert hashlib.md5((blog / file).read_bytes()).hexdigest()[:12] in url


def test_math_is_never_touched(tmp_path: Path, host: FakeLsky) -> None:
    (tmp_path / "a.png").write_bytes(png_bytes())
    text = (
        "Inline $![x](a.png)$ and display:\n\n$$\n![y](a.png)\n$$\n\n"
        "A real one, after $5: ![z](a.png)\n"
    )
    (tmp_path / "post.md").write_text(text)

    done = run(tmp_path, host, ".")

    assert done.returncode == 0, done.stderr
    new = (tmp_path / "post.md").read_text()
    assert new.startswith("Inline $![x](a.png)$ and display:\n\n$$\n![y](a.png)\n$$\n\n")
    assert "![z](http://127.0.0.1:" in new and "![z](a.png)" not in new
    assert run(tmp_path, host, "check", ".").returncode == 0
