"""End to end: `imgsync list`, `prune`, `delete` and `albums`, the real console script on real
temp projects (and real git repositories) against the fake hosts on 127.0.0.1.

The Lsky tests that delete or list need Lsky's client to implement DeletingHost and
ListingHost (issue 15, the host branch); the Chevereto tests run as they are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.testing.fake_chevereto import FakeChevereto
from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
SECRET = "7|e2eTokenThatMustNeverBePrintedAnywhere0000"
CHEVERETO_KEY = "chv_e2eSecretKeyXXXXXXXXXXXXXXXXXXXXXX"
CONFIG = """
host = "lsky"

[hosts.lsky]
type = "lsky"
url = "${LSKY_URL}"
token = "${LSKY_SECRET}"

[hosts.chevereto]
type = "chevereto"
url = "${CHEVERETO_URL}"
key = "${CHEVERETO_SECRET}"
"""


@pytest.fixture
def lsky() -> Iterator[FakeLsky]:
    with FakeLsky(token=SECRET) as fake:
        yield fake


@pytest.fixture
def chevereto() -> Iterator[FakeChevereto]:
    with FakeChevereto(edition="v4", api_key=CHEVERETO_KEY) as fake:
        yield fake


def blog(tmp_path: Path, images: int = 10) -> Path:
    """A project of `images` posts, post N showing img/N.png (each of its own colour)."""
    root = tmp_path / "blog"
    (root / "img").mkdir(parents=True)
    (root / "imgsync.toml").write_text(CONFIG)
    for n in range(images):
        (root / "img" / f"{n}.png").write_bytes(png_bytes(rgb=(n, 100, 200)))
        (root / f"post{n}.md").write_text(f"# Post {n}\n\n![figure {n}](img/{n}.png)\n")
    return root


def run(root: Path, *args: str, **fakes: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(LSKY_SECRET=SECRET, CHEVERETO_SECRET=CHEVERETO_KEY, NO_PROXY="127.0.0.1")
    env.update(LSKY_URL=fakes["lsky"].url if "lsky" in fakes else "http://127.0.0.1:9/api/v1")
    chevereto = fakes.get("chevereto")
    env.update(CHEVERETO_URL=chevereto.url if chevereto else "http://127.0.0.1:9/api/1")
    done = subprocess.run(
        [IMGSYNC, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert SECRET not in done.stdout + done.stderr
    assert CHEVERETO_KEY not in done.stdout + done.stderr
    return done


def on_host(lsky: FakeLsky) -> set[str]:
    """The fake's own records, through its listing: every image's URL."""
    urls: set[str] = set()
    page = 1
    while True:
        reply = httpx.get(
            f"{lsky.url}/images",
            params={"page": page},
            headers={"Authorization": f"Bearer {SECRET}", "Accept": "application/json"},
        ).json()["data"]
        urls |= {item["links"]["url"] for item in reply["data"]}
        if page >= reply["last_page"]:
            return urls
        page += 1


def upload_by_hand(lsky: FakeLsky, tmp_path: Path) -> str:
    """An image uploaded to the account by another tool; its URL."""
    reply = httpx.post(
        f"{lsky.url}/upload",
        files={"file": ("stranger.png", png_bytes(rgb=(7, 7, 7)), "image/png")},
        headers={"Authorization": f"Bearer {SECRET}", "Accept": "application/json"},
    )
    reply.raise_for_status()
    url: str = reply.json()["data"]["links"]["url"]
    return url


def cached(root: Path, host: str = "lsky") -> dict[str, Any]:
    uploads = json.loads((root / ".imgsync-cache.json").read_text())["uploads"]
    return next((v for k, v in uploads.items() if k.startswith(host + " ")), {})


def unreference(root: Path, *posts: int) -> set[str]:
    """Empty these posts; the URLs they showed."""
    urls = set()
    for n in posts:
        text = (root / f"post{n}.md").read_text()
        urls.add(text.split("](", 1)[1].split(")", 1)[0])
        (root / f"post{n}.md").write_text(f"# Post {n}\n")
    return urls


# --- needs Lsky's DeletingHost (the host branch of issue 15) -----------------------------


def test_prune_lists_then_deletes_exactly_the_unreferenced(tmp_path: Path, lsky: FakeLsky) -> None:
    root = blog(tmp_path)
    assert run(root, "sync", lsky=lsky).returncode == 0
    stranger = upload_by_hand(lsky, tmp_path)  # not in the cache: never deleted
    assert len(on_host(lsky)) == 11
    gone = unreference(root, 2, 5, 7)

    listed = run(root, "prune", "--older-than", "0d", lsky=lsky)

    assert listed.returncode == 1, listed.stderr
    would = {line.split()[2] for line in listed.stdout.splitlines() if line.startswith("would")}
    assert would == gone
    assert "3 upload(s) used nowhere" in listed.stdout
    assert len(on_host(lsky)) == 11  # listing deletes nothing

    pruned = run(root, "prune", "--older-than", "0d", "--yes", lsky=lsky)

    assert pruned.returncode == 0, pruned.stderr
    assert "deleted 3 upload(s)" in pruned.stdout
    left = on_host(lsky)
    assert len(left) == 8 and not left & gone and stranger in left
    assert len(cached(root)) == 7
    assert {entry["url"] for entry in cached(root).values()} == left - {stranger}

    again = run(root, "prune", "--older-than", "0d", lsky=lsky)
    assert again.returncode == 0, again.stderr
    assert "would delete" not in again.stdout
    assert "nothing to prune" in again.stdout


def test_by_default_fresh_uploads_are_kept(tmp_path: Path, lsky: FakeLsky) -> None:
    root = blog(tmp_path, images=2)
    assert run(root, "sync", lsky=lsky).returncode == 0
    unreference(root, 0)

    listed = run(root, "prune", "--yes", lsky=lsky)

    assert listed.returncode == 0, listed.stderr
    assert "younger than 7 days" in listed.stdout
    assert len(on_host(lsky)) == 2


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
    env |= {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e.x"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e.x"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def test_an_image_used_only_on_another_branch_is_kept_and_the_branch_named(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    root = blog(tmp_path, images=3)
    git(root, "init", "-q", "-b", "main")
    assert run(root, "sync", lsky=lsky).returncode == 0
    git(root, "add", ".")
    git(root, "commit", "-qm", "synced")
    git(root, "branch", "draft")  # still shows post1's image
    url = unreference(root, 1).pop()
    git(root, "commit", "-qam", "post 1 without its image")

    pruned = run(root, "prune", "--older-than", "0d", "--yes", lsky=lsky)

    assert pruned.returncode == 0, pruned.stderr
    assert f"kept {url}: used at post1.md:3 on branch draft" in pruned.stdout
    assert url in on_host(lsky)
    assert len(cached(root)) == 3


def test_delete_refuses_a_used_image_and_force_says_what_now_points_at_nothing(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    root = blog(tmp_path, images=2)
    assert run(root, "sync", lsky=lsky).returncode == 0
    url = (root / "post0.md").read_text().split("](", 1)[1].split(")", 1)[0]
    (root / "also.md").write_text(f"see it again: ![again]({url}?w=300)\n")

    refused = run(root, "delete", url, lsky=lsky)

    assert refused.returncode == 3
    assert f"{url} is still used, at also.md:1, post0.md:3; not deleted" in refused.stderr
    assert url in on_host(lsky)

    forced = run(root, "delete", "--force", url, lsky=lsky)

    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.splitlines() == [
        f"deleted {url}",
        "  these references now point at a deleted image:",
        "    also.md:1",
        "    post0.md:3",
    ]
    assert url not in on_host(lsky)
    assert url not in {entry["url"] for entry in cached(root).values()}
    assert (root / "also.md").read_text() == f"see it again: ![again]({url}?w=300)\n"


def test_delete_by_local_file_and_unknown_names(tmp_path: Path, lsky: FakeLsky) -> None:
    root = blog(tmp_path, images=2)
    assert run(root, "sync", lsky=lsky).returncode == 0
    (root / "img" / "spare.png").write_bytes(png_bytes(rgb=(1, 1, 1)))
    assert run(root, "upload", "img/spare.png", lsky=lsky).returncode == 0
    assert len(on_host(lsky)) == 3 and len(cached(root)) == 3
    unknown = run(root, "delete", "img/nothing.png", lsky=lsky)
    assert unknown.returncode == 2
    assert "img/nothing.png: no upload of this project" in unknown.stderr

    done = run(root, "delete", "img/spare.png", lsky=lsky)

    assert done.returncode == 0, done.stderr
    assert len(on_host(lsky)) == 2 and len(cached(root)) == 2


# --- needs Lsky's ListingHost (the host branch of issue 15) ------------------------------


def test_list_joins_the_host_with_the_project(tmp_path: Path, lsky: FakeLsky) -> None:
    root = blog(tmp_path, images=3)
    assert run(root, "sync", lsky=lsky).returncode == 0
    unreference(root, 2)
    upload_by_hand(lsky, tmp_path)

    listed = run(root, "list", "--json", lsky=lsky)

    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    statuses = sorted(image["status"] for image in document["images"])
    assert statuses == ["referenced", "referenced", "unknown", "unreferenced"]
    referenced = [i for i in document["images"] if i["status"] == "referenced"]
    assert {r["file"] for i in referenced for r in i["references"]} == {"post0.md", "post1.md"}
    assert document["totals"]["all"]["images"] == 4
    assert document["totals"]["all"]["bytes"] > 0

    only = json.loads(run(root, "list", "--json", "post0.md", lsky=lsky).stdout)
    assert [i["references"][0]["file"] for i in only["images"]] == ["post0.md"]

    text = run(root, "list", lsky=lsky)
    assert text.returncode == 0
    assert "unreferenced: 1 image(s)" in text.stdout
    assert "unknown: 1 image(s)" in text.stdout


# --- Chevereto: no list or delete in its API ---------------------------------------------


def test_chevereto_says_in_one_line_what_it_cannot(
    tmp_path: Path, chevereto: FakeChevereto
) -> None:
    root = blog(tmp_path, images=1)
    for command in (["list"], ["albums"], ["delete", "img/0.png"], ["prune", "--yes"]):
        done = run(root, *command, "--host", "chevereto", chevereto=chevereto)
        assert done.returncode == 2, (command, done.stderr)
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("imgsync: chevereto hosts can't")


def test_chevereto_prune_lists_what_to_delete_by_hand_and_no_delete_url(
    tmp_path: Path, chevereto: FakeChevereto
) -> None:
    root = blog(tmp_path, images=3)
    assert run(root, "sync", "--host", "chevereto", chevereto=chevereto).returncode == 0
    gone = unreference(root, 1)

    listed = run(root, "prune", "--older-than", "0d", "--host", "chevereto", chevereto=chevereto)

    assert listed.returncode == 1, listed.stderr
    lines = listed.stdout.splitlines()
    assert f"would delete {gone.pop()} (uploaded from img/1.png)" in lines
    assert "delete each one above by hand, in the site's pages" in listed.stderr
    assert "/delete/" not in listed.stdout + listed.stderr  # a delete_url is a secret
    assert len(cached(root, "chevereto")) == 3
