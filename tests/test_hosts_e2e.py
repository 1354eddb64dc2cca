"""The sample blog synced by the real console script against each fake host."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imgsync.testing.fake_chevereto import FakeChevereto
from imgsync.testing.fake_lsky import FakeLsky
from imgsync.testing.fake_pichub import FakePicHub
from imgsync.testing.http import FakeServer
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SECRET = "chv_e2eSecretKeyXXXXXXXXXXXXXXXXXXXXXX"
# One configuration for every host; --host picks the profile.
CONFIG = """
site_root = "static"

[hosts.lsky]
type = "lsky"
url = "${LSKY_URL}"
token = "${SECRET}"

[hosts.chevereto]
type = "chevereto"
url = "${CHEVERETO_URL}"
key = "${SECRET}"

[hosts.pichub]
type = "pichub"
url = "${PICHUB_URL}"
token = "${SECRET}"
convert_to_webp = false
"""
DISTINCT_IMAGES = 5  # six files under examples/, two of them the same bytes


def start(kind: str) -> FakeServer[Any]:
    if kind == "lsky":
        return FakeLsky(token=SECRET)
    if kind == "pichub":
        return FakePicHub(token=SECRET)
    return FakeChevereto(edition=kind.removeprefix("chevereto-"), api_key=SECRET)  # type: ignore[arg-type]


Served = tuple[str, FakeServer[Any], Path]


def serve(kind: str, tmp_path: Path) -> Iterator[Served]:
    blog = tmp_path / "blog"
    shutil.copytree(EXAMPLES, blog)
    (blog / "imgsync.toml").write_text(CONFIG)
    with start(kind) as fake:
        yield kind, fake, blog


@pytest.fixture(params=["lsky", "chevereto-v4", "chevereto-free", "pichub"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    yield from serve(request.param, tmp_path)


@pytest.fixture(params=["chevereto-v4", "chevereto-free"])
def chevereto(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    yield from serve(request.param, tmp_path)


def run(
    blog: Path, fake: FakeServer[Any], kind: str, *args: str
) -> subprocess.CompletedProcess[str]:
    profile = kind.split("-")[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSKY_")}
    env.update(SECRET=SECRET, LSKY_URL=fake.url, CHEVERETO_URL=fake.url, PICHUB_URL=fake.url)
    # `check` is offline: it takes no --host.
    chosen = [] if args[:1] == ("check",) else ["--host", profile]
    done = subprocess.run(
        [IMGSYNC, *chosen, *args],
        cwd=blog,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert SECRET not in done.stdout + done.stderr
    return done


def uploads(fake: FakeServer[Any]) -> int:
    """Images the fake stored."""
    if isinstance(fake, FakePicHub):
        return sum(len(u.ids) for u in fake.uploads)
    return len([u for u in fake.uploads if getattr(u, "error", None) is None])  # type: ignore[attr-defined]


def test_every_host_syncs_the_blog_once(served: Served) -> None:
    kind, fake, blog = served

    first = run(blog, fake, kind, ".")

    assert first.returncode == 0, first.stderr
    assert uploads(fake) == DISTINCT_IMAGES
    texts = "".join(p.read_text() for p in blog.rglob("*.md"))
    assert texts.count(fake.site) == 10  # every local reference points at this host
    requests = fake.requests
    second = run(blog, fake, kind, ".")
    assert second.returncode == 0 and fake.requests == requests
    assert run(blog, fake, kind, "check", ".").returncode == 0
    assert SECRET not in (blog / ".imgsync-cache.json").read_text()


def test_chevereto_duplicate_refusal_after_losing_the_cache_is_explained(
    chevereto: Served,
) -> None:
    kind, fake, blog = chevereto
    original = {p: p.read_bytes() for p in blog.rglob("*.md")}
    scratch = blog.parent / "first"
    shutil.copytree(blog, scratch)
    assert run(scratch, fake, kind, ".").returncode == 0  # uploaded once, from a copy

    again = run(blog, fake, kind, ".")  # this tree has no cache entry for them

    assert again.returncode == 3
    assert "Duplicated upload" in again.stderr
    assert "24 hours" in again.stderr and "cache" in again.stderr
    assert "error: 10 references failed: Chevereto refused this image as a dup" in again.stderr
    assert "\n  posts/2024/hello-world/index.md:9: cat.png\n" in again.stderr
    assert {p: p.read_bytes() for p in blog.rglob("*.md")} == original


@pytest.mark.slow
def test_pichub_at_ten_uploads_a_window_is_a_queue_not_a_failure(tmp_path: Path) -> None:
    blog = tmp_path / "many"
    (blog / "img").mkdir(parents=True)
    lines = []
    for number in range(40):
        (blog / "img" / f"{number}.png").write_bytes(png_bytes(2, 2, (number, 40, 80)))
        lines.append(f"![figure {number}](img/{number}.png)\n")
    (blog / "post.md").write_text("".join(lines))
    (blog / "imgsync.toml").write_text(CONFIG.replace('site_root = "static"', ""))
    with FakePicHub(token=SECRET, upload_limit=10, window_seconds=3) as fake:
        done = run(blog, fake, "pichub", ".")
        statuses = [u.status for u in fake.uploads]
        site = fake.site

    assert done.returncode == 0, done.stderr
    assert uploads(fake) == 40
    assert "waiting" in done.stderr and "until" in done.stderr
    assert statuses.count(429) <= 2
    assert (blog / "post.md").read_text().count(site) == 40
