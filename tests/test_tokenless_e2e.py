"""End to end: a run whose images are all in the cache needs no token (a pull request from a
fork, a docs build, `--dry-run`); one with something to upload still asks for it."""

from __future__ import annotations

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
TOKEN = "7|tokenlessTokenThatMustNeverBePrintedAnywh"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


def run(cwd: Path, url: str, *args: str, token: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "CI"))}
    env.update(IMGSYNC_ALLOW_HTTP="1", NO_PROXY="127.0.0.1", LSKY_BASE_URL=url)
    if token is not None:
        env["LSKY_TOKEN"] = token
    return subprocess.run(
        [IMGSYNC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_publish_only_build_without_the_token_uses_the_cache_alone(
    tmp_path: Path, host: FakeLsky
) -> None:
    blog = tmp_path / "blog"
    shutil.copytree(EXAMPLES, blog)
    assert run(blog, host.url, "sync", "--output", "../first", "posts", token=TOKEN).returncode == 0
    uploads = len(host.uploads)

    fork = run(blog, host.url, "sync", "--output", "../fork", "posts", token=None)  # no secret
    assert fork.returncode == 0, fork.stderr
    assert len(host.uploads) == uploads and "already on the host" in fork.stderr
    first = sorted(p.read_bytes() for p in (tmp_path / "first").rglob("*.md"))
    assert sorted(p.read_bytes() for p in (tmp_path / "fork").rglob("*.md")) == first
    assert (
        run(blog, host.url, "--dry-run", "posts", token=None).returncode == 1
    )  # work to list, offline

    (blog / "posts" / "new.md").write_text("![new](new.png)\n")
    (blog / "posts" / "new.png").write_bytes(png_bytes(5, 5, (1, 2, 3)))
    preview = run(blog, host.url, "--dry-run", "posts", token=None)
    assert preview.returncode == 1 and "posts/new.md:1: new.png" in preview.stdout
    needs = run(blog, host.url, "sync", "--output", "../fork", "posts", token=None)
    assert needs.returncode == 2 and len(host.uploads) == uploads
    assert "the environment variable LSKY_TOKEN is not set" in needs.stderr
