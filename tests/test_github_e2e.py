"""End to end against the fake GitHub: the real console script syncs the sample blog into a
repository folder, a second run sends nothing, `check` passes, and `prune` deletes exactly
the files no Markdown uses any more."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.fake_github import FakeGitHub
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SECRET = "ghp_e2eTokenThatMustNeverBePrintedAnywhere0"
DISTINCT_IMAGES = 5  # six files under examples/, two of them the same bytes
CONFIG = """
host = "github"
site_root = "static"

[hosts.github]
type = "github"
url = "${GITHUB_API}"
token = "${GITHUB_TOKEN}"
repo = "writer/blog-images"
branch = "main"
path = "images/"
public_url = "PUBLIC"
"""


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=SECRET) as server:
        yield server


def project(fake: FakeGitHub, root: Path) -> Path:
    (root / "imgsync.toml").write_text(CONFIG.replace("PUBLIC", fake.raw_template))
    return root


def run(root: Path, fake: FakeGitHub, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(GITHUB_API=fake.url, GITHUB_TOKEN=SECRET, NO_PROXY="127.0.0.1")
    done = subprocess.run(
        [IMGSYNC, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert SECRET not in done.stdout + done.stderr
    return done


def test_the_sample_blog_is_hosted_once_and_checks(fake: FakeGitHub, tmp_path: Path) -> None:
    blog = tmp_path / "blog"
    shutil.copytree(EXAMPLES, blog)
    project(fake, blog)

    first = run(blog, fake, ".")

    assert first.returncode == 0, first.stderr
    assert fake.puts == DISTINCT_IMAGES and len(fake.files()) == DISTINCT_IMAGES
    texts = "".join(p.read_text() for p in blog.rglob("*.md"))
    raw = f"{fake.site}/raw/writer/blog-images/main/images/"
    assert texts.count(raw) == 10  # every local reference points at the repository
    requests = fake.requests
    second = run(blog, fake, ".")
    assert second.returncode == 0, second.stderr
    assert fake.requests == requests and fake.puts == DISTINCT_IMAGES  # no GET, no PUT
    assert run(blog, fake, "check", ".").returncode == 0
    cache = (blog / ".imgsync-cache.json").read_text()
    assert SECRET not in cache
    assert all(f'"path": "{path}"' in cache for path in fake.files())


def test_a_lost_cache_finds_every_file_in_place_and_commits_nothing(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    blog = tmp_path / "blog"
    shutil.copytree(EXAMPLES, blog)
    project(fake, blog)
    scratch = tmp_path / "elsewhere"
    shutil.copytree(blog, scratch)
    assert run(scratch, fake, ".").returncode == 0  # another clone uploaded them

    again = run(blog, fake, ".")  # this one has no cache entry for them

    assert again.returncode == 0, again.stderr
    assert fake.puts == DISTINCT_IMAGES and fake.statuses[422] == 0
    assert {p.read_text() for p in blog.rglob("*.md")} == {
        p.read_text() for p in scratch.rglob("*.md")
    }


def test_prune_deletes_exactly_the_files_no_markdown_uses(fake: FakeGitHub, tmp_path: Path) -> None:
    root = tmp_path / "notes"
    (root / "img").mkdir(parents=True)
    (root / "static").mkdir()  # the configuration's site_root
    project(fake, root)
    for n in range(4):
        (root / "img" / f"{n}.png").write_bytes(png_bytes(rgb=(n, 100, 200)))
        (root / f"post{n}.md").write_text(f"# Post {n}\n\n![figure {n}](img/{n}.png)\n")
    assert run(root, fake, ".").returncode == 0
    fake.commit_by_hand("images/README.md", b"# committed by hand: never imgsync's")
    urls = {n: (root / f"post{n}.md").read_text().split("](")[1].split(")")[0] for n in range(4)}
    for n in (1, 3):
        (root / f"post{n}.md").write_text(f"# Post {n}\n")

    pruned = run(root, fake, "prune", "--yes", "--older-than", "0d")

    assert pruned.returncode == 0, pruned.stderr
    assert "deleted 2 upload(s)" in pruned.stdout
    kept = {f"{fake.site}/raw/writer/blog-images/main/{path}" for path in fake.files()}
    assert kept == {urls[0], urls[2], f"{fake.site}/raw/writer/blog-images/main/images/README.md"}
    assert fake.deletes == 2
    uploads = json.loads((root / ".imgsync-cache.json").read_text())["uploads"]
    [entries] = uploads.values()
    assert sorted(entry["url"] for entry in entries.values()) == sorted([urls[0], urls[2]])

    listed = run(root, fake, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("referenced") >= 2 and "README" not in listed.stdout
