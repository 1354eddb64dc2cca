"""Messages say what to do, seen through the real console script against the fake Lsky:
not-found with the files meant, check's "missing" apart from "not uploaded yet", upload's
"already on the host", and env-only setups named by their variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes
from tests.test_check_formats import parse_annotation

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "7|messagesTokenNeverPrinted0000000000000000000"
POST = (
    "---\ntypora-root-url: ../static\n---\n"  # lines 1-3
    "![ok](img/ok.png)\n"  # 4: there, not uploaded yet
    "![case](img/photo.png)\n"  # 5: img/Photo.PNG on disk
    "<img src=\u201dimg/quoted.png\u201d>\n"  # 6: smart quotes around the name
    "![rooted](/images/site.png)\n"  # 7: site_root finds it, Typora's root (honoured) doesn't
    "![out](../../escape.png)\n"  # 8: leaves the project
    "![gone](img/nothing-like-it.png)\n"  # 9: nothing close
)


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    clean.update(NO_PROXY="127.0.0.1", **(env or {}))
    done = subprocess.run(
        [IMGSYNC, *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=60
    )
    assert TOKEN not in done.stdout + done.stderr
    return done


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    root = tmp_path / "blog"
    for name in ("docs/img/ok.png", "docs/img/Photo.PNG", "docs/img/quoted.png"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(png_bytes(rgb=(len(name), 0, 0)))
    (root / "static" / "images").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "images" / "site.png").write_bytes(png_bytes(rgb=(0, 9, 0)))
    (tmp_path / "escape.png").write_bytes(png_bytes())  # exists, but outside the project
    (root / "docs" / "post.md").write_text(POST)
    (root / "imgsync.toml").write_text('[hosts.l]\ntype = "lsky"\nurl = "http://127.0.0.1:9"\n')
    return root


MEANT = {
    5: "not found (looked for docs/img/photo.png); "
    "did you mean docs/img/Photo.PNG (letters in another case)?",
    6: "not found (looked for docs/\u201dimg/quoted.png\u201d); the name holds curly quotes "
    '(\u201d), typed by smart quotes for straight ones: write straight quotes (") or none; '
    "did you mean docs/img/quoted.png (without the quotes)?",
    7: "not found under this post's typora-root-url (../static) (looked for "
    "static/images/site.png); did you mean images/site.png (under site_root, which "
    "typora-root-url replaces)?",
    9: "not found (looked for docs/img/nothing-like-it.png); "
    "fix the reference, or put the file there",
}


def test_check_github_tells_missing_from_not_uploaded_and_never_says_upload_a_missing_file(
    blog: Path,
) -> None:
    done = run(blog, "check", "--format", "github", ".")

    assert done.returncode == 1
    found = {
        int(props["line"]): (props["title"], text)
        for _, props, text in map(parse_annotation, done.stdout.splitlines())
    }
    assert found[4] == (
        "imgsync: local image",
        "local image img/ok.png is not uploaded yet: run `imgsync` to upload it and point the "
        "reference at its URL",
    )
    for line, reason in MEANT.items():
        title, text = found[line]
        assert title == "imgsync: missing image"
        assert text.endswith(f" is missing: {reason}")
        assert "upload" not in text
    title, text = found[8]
    assert title == "imgsync: image can't be uploaded"
    assert "outside the project" in text and "not found" not in text and "upload it" not in text
    assert done.stderr == (
        "6 local image reference(s) left in 1 file(s): 1 not uploaded yet: run `imgsync` to "
        "upload them; 4 missing: no such file, fix the reference; 1 can't be uploaded as they "
        "stand: see why above\n"
    )


def test_check_json_and_text_say_which_and_why(blog: Path) -> None:
    document = json.loads(run(blog, "check", "--json", ".").stdout)
    text = run(blog, "check", ".").stdout.splitlines()

    by_line = {entry["line"]: entry for entry in document["pending"]}
    assert by_line[4] == {
        "file": "docs/post.md",
        "line": 4,
        "reference": "img/ok.png",
        "status": "not_uploaded",
        "reason": None,
    }
    assert {line: by_line[line]["reason"] for line in MEANT} == MEANT
    assert {by_line[line]["status"] for line in MEANT} == {"missing"}
    assert by_line[8]["status"] == "unusable"
    assert text[0] == "docs/post.md:4: img/ok.png"
    assert text[1] == f"docs/post.md:5: img/photo.png: {MEANT[5]}"


SCRIPTED_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'


@pytest.mark.parametrize("cache", ["none", "with other uploads"])
def test_check_calls_an_image_a_sync_would_refuse_unusable_and_says_why(
    blog: Path, host: FakeLsky, cache: str
) -> None:
    img = blog / "docs" / "img"
    (img / "scripted.svg").write_bytes(SCRIPTED_SVG)
    (img / "empty.png").write_bytes(b"")
    (img / "notes.png").write_text("not an image at all\n")
    (blog / "docs" / "refused.md").write_text(
        "![a](img/scripted.svg)\n![b](img/empty.png)\n![c](img/notes.png)\n![d](img/ok.png)\n"
    )
    if cache == "with other uploads":  # the cache knows img/ok.png: one of them is uploaded
        config = (blog / "imgsync.toml").read_text()
        (blog / "imgsync.toml").unlink()  # env-only for the upload: the project is `blog`
        env = {"LSKY_BASE_URL": host.url, "LSKY_TOKEN": TOKEN}
        assert run(blog, "upload", "docs/img/ok.png", env=env).returncode == 0
        (blog / "imgsync.toml").write_text(config)

    document = json.loads(run(blog, "check", "--json", "docs/refused.md").stdout)
    annotations = run(blog, "check", "--format", "github", "docs/refused.md").stdout
    allowed = run(
        blog, "check", "--json", "docs/refused.md", env={"IMGSYNC_ALLOW_SVG_SCRIPTS": "1"}
    )

    by_line = {entry["line"]: entry for entry in document["pending"]}
    assert {line: by_line[line]["status"] for line in (1, 2, 3)} == dict.fromkeys(
        (1, 2, 3), "unusable"
    )
    assert "event-handler attribute" in by_line[1]["reason"]
    assert "empty file" in by_line[2]["reason"]
    assert "is not an image" in by_line[3]["reason"]
    assert by_line[4]["status"] == ("uploaded" if cache != "none" else "not_uploaded")
    found = [parse_annotation(line) for line in annotations.splitlines()]
    titles = {int(props["line"]): props["title"] for _, props, _ in found}
    assert [titles[line] for line in (1, 2, 3)] == ["imgsync: image can't be uploaded"] * 3
    scripts_allowed = {e["line"]: e["status"] for e in json.loads(allowed.stdout)["pending"]}
    assert scripts_allowed[1] == "not_uploaded"


def test_check_still_tells_a_broken_cache_when_every_image_left_is_unusable(blog: Path) -> None:
    (blog / "docs" / "img" / "scripted.svg").write_bytes(SCRIPTED_SVG)
    (blog / "docs" / "refused.md").write_text("![a](img/scripted.svg)\n")
    (blog / ".imgsync-cache.json").write_text("{not json")

    done = run(blog, "check", "--json", "docs/refused.md")

    document = json.loads(done.stdout)
    assert done.returncode == 3
    assert [entry["status"] for entry in document["pending"]] == ["unusable"]
    assert any("not valid JSON" in failure["reason"] for failure in document["failures"])


def test_check_from_a_sub_folder_shows_paths_from_there(blog: Path) -> None:
    done = run(blog / "docs", "check", "--json", "post.md")

    by_line = {entry["line"]: entry for entry in json.loads(done.stdout)["pending"]}
    assert by_line[5]["reason"] == (
        "not found (looked for img/photo.png); "
        "did you mean img/Photo.PNG (letters in another case)?"
    )


def test_sync_says_the_same_and_uploads_only_what_is_there(blog: Path, host: FakeLsky) -> None:
    (blog / "imgsync.toml").unlink()  # an env-only setup: the project is the current folder

    done = run(blog, ".", env={"LSKY_BASE_URL": host.url, "LSKY_TOKEN": TOKEN})

    assert done.returncode == 3
    for line, reason in MEANT.items():
        assert f"docs/post.md:{line}: " in done.stderr and reason in done.stderr
    assert "docs/post.md:8: ../../escape.png: refused: it is outside the project" in done.stderr
    assert len(host.uploads) == 1  # img/ok.png


# --- imgsync upload: already on the host -------------------------------------------------


def test_upload_says_already_on_the_host_for_a_cached_image(tmp_path: Path, host: FakeLsky) -> None:
    (tmp_path / "a.png").write_bytes(png_bytes(2, 2))
    (tmp_path / "b.png").write_bytes(png_bytes(3, 3))
    env = {"LSKY_BASE_URL": host.url, "LSKY_TOKEN": TOKEN}
    first = run(tmp_path, "upload", "--json", "a.png", env=env)
    assert json.loads(first.stdout)["uploads"][0]["already_on_host"] is False

    again = run(tmp_path, "upload", "--json", "a.png", "b.png", env=env)
    verbose = run(tmp_path, "upload", "-v", "a.png", env=env)
    failing = run(tmp_path, "upload", "a.png", "gone.png", env=env)

    (a_entry, b_entry) = json.loads(again.stdout)["uploads"]
    assert (a_entry["already_on_host"], b_entry["already_on_host"]) == (True, False)
    url = a_entry["url"]
    assert f"already on the host (found in the cache): a.png -> {url}" in verbose.stderr
    assert verbose.stdout == f"{url}\n"
    assert f"already on the host (found in the cache): a.png -> {url}" in failing.stderr
    assert "uploaded a.png" not in failing.stderr + verbose.stderr
    assert len(host.uploads) == 2  # a.png once, b.png once


# --- env-only setups are named by their variables ------------------------------------------


@pytest.fixture
def one_image(tmp_path: Path) -> Path:
    (tmp_path / "a.png").write_bytes(png_bytes())
    return tmp_path


def test_env_only_404_names_lsky_base_url_not_url(one_image: Path, host: FakeLsky) -> None:
    wrong = host.url.removesuffix("/api/v1")
    done = run(one_image, "upload", "a.png", env={"LSKY_BASE_URL": wrong, "LSKY_TOKEN": TOKEN})

    assert done.returncode == 3
    assert "the host answered 404 Not Found: LSKY_BASE_URL is probably wrong" in done.stderr
    assert "'url'" not in done.stderr


def test_env_only_bad_token_names_lsky_token(one_image: Path, host: FakeLsky) -> None:
    bad = "7|" + "x" * 40
    done = run(one_image, "upload", "a.png", env={"LSKY_BASE_URL": host.url, "LSKY_TOKEN": bad})

    assert done.returncode == 3
    assert "the host rejected the token: check LSKY_TOKEN" in done.stderr
    assert "'token'" not in done.stderr and bad not in done.stderr


def test_env_only_bad_url_is_named_by_its_variable(one_image: Path) -> None:
    done = run(one_image, "upload", "a.png", env={"LSKY_BASE_URL": "ftp://img.example.com"})

    assert done.returncode == 2
    assert done.stderr == (
        "imgsync: error: the host LSKY_BASE_URL sets up (no [hosts] profile is configured): "
        "LSKY_BASE_URL must start with http:// or https:// and name a host\n"
    )


def test_a_profile_in_a_file_keeps_its_key_names(one_image: Path, host: FakeLsky) -> None:
    wrong = host.url.removesuffix("/api/v1")
    (one_image / "imgsync.toml").write_text(
        f'[hosts.l]\ntype = "lsky"\nurl = "{wrong}"\ntoken = "${{LSKY_TOKEN}}"\n'
    )
    done = run(one_image, "upload", "a.png", env={"LSKY_TOKEN": TOKEN})

    assert "the host answered 404 Not Found: 'url' is probably wrong" in done.stderr
    assert "LSKY_BASE_URL" not in done.stderr  # the user wrote 'url', not a variable


def test_a_url_left_to_the_pin_is_named_by_the_pin(one_image: Path, host: FakeLsky) -> None:
    (one_image / "imgsync.toml").write_text('[hosts.l]\ntype = "lsky"\ntoken = "${LSKY_TOKEN}"\n')
    wrong = host.url.removesuffix("/api/v1")
    done = run(one_image, "upload", "a.png", env={"IMGSYNC_HOST_URL": wrong, "LSKY_TOKEN": TOKEN})

    assert "the host answered 404 Not Found: IMGSYNC_HOST_URL is probably wrong" in done.stderr
    assert "'url'" not in done.stderr


# --- check: an image already on the host is not "not uploaded yet" --------------------------


@pytest.fixture
def synced(tmp_path: Path, host: FakeLsky) -> Path:
    """A project whose first post was synced (first/cat.png is on the host), then given a
    second post pointing at the same picture, a copy of it under a new name, and a new image."""
    (tmp_path / "first").mkdir()
    (tmp_path / "first" / "cat.png").write_bytes(png_bytes(rgb=(1, 2, 3)))
    (tmp_path / "first" / "post.md").write_text("![cat](cat.png)\n")
    done = run(tmp_path, ".", env={"LSKY_BASE_URL": host.url, "LSKY_TOKEN": TOKEN})
    assert done.returncode == 0, done.stderr
    assert len(host.uploads) == 1
    (tmp_path / "second.md").write_text(
        "![again](first/cat.png)\n![copy](kitten.png)\n![new](new.png)\n"
    )
    (tmp_path / "kitten.png").write_bytes((tmp_path / "first" / "cat.png").read_bytes())
    (tmp_path / "new.png").write_bytes(png_bytes(rgb=(9, 9, 9)))
    return tmp_path


ON_HOST = "already on the host: run `imgsync` to point the reference at its URL"
ON_HOST_TITLE = "imgsync: local image already on the host"


def test_check_tells_an_image_already_on_the_host_in_every_format(synced: Path) -> None:
    cache = synced / ".imgsync-cache.json"
    before = cache.read_bytes(), cache.stat().st_mtime_ns

    text = run(synced, "check")  # no token, no host profile: offline
    document = json.loads(run(synced, "check", "--format", "json").stdout)
    github = run(synced, "check", "--format", "github")

    assert text.returncode == github.returncode == document["exit_status"] == 1
    assert text.stdout.splitlines() == [
        f"second.md:1: first/cat.png: {ON_HOST}",
        f"second.md:2: kitten.png: {ON_HOST}",  # another name, the same bytes
        "second.md:3: new.png",
    ]
    assert text.stderr == (
        "3 local image reference(s) left in 1 file(s): 1 not uploaded yet: run `imgsync` to "
        "upload them; 2 already on the host: run `imgsync` to point them at their URLs\n"
    )
    assert [(p["reference"], p["status"], p["reason"]) for p in document["pending"]] == [
        ("first/cat.png", "uploaded", None),
        ("kitten.png", "uploaded", None),
        ("new.png", "not_uploaded", None),
    ]
    found = [parse_annotation(line) for line in github.stdout.splitlines()]
    assert [(props["line"], props["title"], message) for _, props, message in found] == [
        ("1", ON_HOST_TITLE, f"local image first/cat.png is {ON_HOST}"),
        ("2", ON_HOST_TITLE, f"local image kitten.png is {ON_HOST}"),
        (
            "3",
            "imgsync: local image",
            "local image new.png is not uploaded yet: run `imgsync` to upload it and point the "
            "reference at its URL",
        ),
    ]
    assert (cache.read_bytes(), cache.stat().st_mtime_ns) == before  # never written by check


def test_check_finds_an_upload_the_journal_keeps_and_the_cache_file_lost(synced: Path) -> None:
    cache = synced / ".imgsync-cache.json"
    cache.unlink()  # a revert: only the journal in .imgsync/ keeps the upload

    done = run(synced, "check", "--json")

    statuses = [p["status"] for p in json.loads(done.stdout)["pending"]]
    assert statuses == ["uploaded", "uploaded", "not_uploaded"]
    assert not cache.exists()  # the journal was taken in memory, not written back


def test_check_says_a_corrupt_cache_and_still_lists_every_reference(synced: Path) -> None:
    (synced / ".imgsync-cache.json").write_text("{not json")

    done = run(synced, "check")

    assert done.returncode == 3  # `check --help`: a file could not be read
    assert done.stdout.splitlines() == [
        "second.md:1: first/cat.png",
        "second.md:2: kitten.png",
        "second.md:3: new.png",
    ]
    assert ".imgsync-cache.json: " in done.stderr
    assert "Until it is fixed, check can't tell which images are already on the host." in (
        done.stderr
    )
    assert "Traceback" not in done.stderr
