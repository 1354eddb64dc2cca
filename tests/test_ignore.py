"""Known problems, accepted: `ignore` entries and `<!-- imgsync-ignore -->`, through the real
console script against the fake Lsky host, and the entry matching on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgsync.ignore import IgnoreList, project_path, split_entry, written_path
from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes
from tests.test_sync_e2e import host, run

__all__ = ["host"]  # the fixture, used by name

HOSTS = '\n[hosts.lsky]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
POST = "# Old post\n\n![kept](../img/there.png)\n\n{mark}![lost](../img/gone.png)\n"


def make_blog(tmp_path: Path, *, ignore: str = "", mark: str = "") -> Path:
    """A blog whose one post points at an image that is there and one that is really gone."""
    blog = tmp_path / "blog"
    (blog / "posts").mkdir(parents=True)
    (blog / "img").mkdir()
    (blog / "img" / "there.png").write_bytes(png_bytes())
    (blog / "posts" / "old.md").write_text(POST.format(mark=mark), encoding="utf-8")
    (blog / "imgsync.toml").write_text(f'host = "lsky"\n{ignore}\n{HOSTS}', encoding="utf-8")
    return blog


def test_without_ignore_a_gone_image_fails_sync_and_check_forever(
    tmp_path: Path, host: FakeLsky
) -> None:
    blog = make_blog(tmp_path)
    first, second = run(blog, host), run(blog, host)
    assert (first.returncode, second.returncode) == (3, 3)
    assert "1 failed" in second.stderr and "ignored" not in second.stderr
    assert run(blog, host, "check").returncode == 1


@pytest.mark.parametrize(
    "entry",
    [
        "../img/gone.png",  # as written
        "img/gone.png",  # the project path it points to
        "**/gone.png",
        "posts/*.md:img/gone.*",  # only in those files
    ],
)
def test_an_ignore_entry_accepts_the_gone_image(tmp_path: Path, host: FakeLsky, entry: str) -> None:
    blog = make_blog(tmp_path, ignore=f"ignore = [{entry!r}]")

    synced = run(blog, host)

    assert synced.returncode == 0, synced.stderr
    assert "1 uploaded" in synced.stderr and "1 ignored" in synced.stderr
    assert "warning" not in synced.stderr and "error" not in synced.stderr
    text = (blog / "posts" / "old.md").read_text(encoding="utf-8")
    assert "![lost](../img/gone.png)" in text and "../img/there.png" not in text
    again = run(blog, host)
    assert again.returncode == 0 and "1 ignored" in again.stderr
    assert len(host.uploads) == 1
    checked = run(blog, host, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == ""
    assert checked.stderr.strip() == (
        "no local image references left in 1 file(s); 1 ignored (`imgsync check -v` lists them)"
    )
    listed = run(blog, host, "check", "-v")
    assert listed.returncode == 0
    assert listed.stdout == (
        f"posts/old.md:5: ../img/gone.png: ignored (`ignore` entry {entry!r})\n"
    )


def test_an_entry_for_other_files_ignores_nothing(tmp_path: Path, host: FakeLsky) -> None:
    blog = make_blog(tmp_path, ignore='ignore = ["drafts/*.md:**/gone.png"]')
    synced = run(blog, host)
    assert synced.returncode == 3
    assert "ignored" not in synced.stderr.splitlines()[-1]
    assert "`ignore` entry 'drafts/*.md:**/gone.png' matches no local image" in synced.stderr


@pytest.mark.parametrize(
    "mark",
    [
        "<!-- imgsync-ignore -->\n",  # on the line before
        "Gone since 2019: <!--imgsync-ignore--> ",  # before it, on its line
    ],
)
def test_the_inline_marker_accepts_the_next_reference(
    tmp_path: Path, host: FakeLsky, mark: str
) -> None:
    blog = make_blog(tmp_path, mark=mark)

    synced = run(blog, host, "--json")

    assert synced.returncode == 0, synced.stdout
    document = json.loads(synced.stdout)
    assert document["failures"] == [] and len(document["uploaded"]) == 1
    line = 6 if mark.endswith("\n") else 5
    assert document["ignored"] == [
        {
            "file": "posts/old.md",
            "line": line,
            "reference": "../img/gone.png",
            "ignored_by": "<!-- imgsync-ignore -->",
        }
    ]
    assert document["exit_status"] == 0
    checked = run(blog, host, "check", "--format", "json")
    assert checked.returncode == 0
    assert json.loads(checked.stdout)["ignored"] == document["ignored"]
    assert json.loads(checked.stdout)["pending"] == []
    github = run(blog, host, "check", "--format", "github")
    assert github.returncode == 0 and github.stdout == ""
    assert "1 ignored" in github.stderr


def test_a_marker_in_code_is_no_marker(tmp_path: Path, host: FakeLsky) -> None:
    blog = make_blog(tmp_path, mark="`<!-- imgsync-ignore -->` ")
    assert run(blog, host).returncode == 3
    assert run(blog, host, "check").returncode == 1


def test_a_marker_ignores_only_the_next_local_reference(tmp_path: Path, host: FakeLsky) -> None:
    blog = make_blog(tmp_path)
    post = blog / "posts" / "old.md"
    post.write_text(
        "<!-- imgsync-ignore -->\n![remote](https://example.com/a.png) ![lost](../img/gone.png)"
        " ![kept](../img/there.png)\n\nText.\n<!-- imgsync-ignore -->\n",
        encoding="utf-8",
    )
    synced = run(blog, host, "-v")
    assert synced.returncode == 0, synced.stderr
    assert "posts/old.md:2: ../img/gone.png: ignored (<!-- imgsync-ignore -->)" in synced.stdout
    assert "1 uploaded" in synced.stderr and "1 ignored" in synced.stderr
    assert (
        "warning: posts/old.md:5: `<!-- imgsync-ignore -->` has no local image reference after "
        "it: remove it"
    ) in synced.stderr
    assert "../img/there.png" not in post.read_text(encoding="utf-8")


def test_a_stale_entry_is_a_warning_not_a_failure(tmp_path: Path, host: FakeLsky) -> None:
    blog = make_blog(tmp_path, ignore='ignore = ["img/gone.png", "old/**/*.png"]')
    synced = run(blog, host)
    assert synced.returncode == 0
    assert (
        "warning: imgsync.toml: `ignore` entry 'old/**/*.png' matches no local image "
        "reference: remove it\n"
    ) in synced.stderr
    assert "'img/gone.png'" not in synced.stderr and "1 ignored" in synced.stderr
    for args in (("check",), ("check", "--format", "github"), ("check", "-q")):
        checked = run(blog, host, *args)
        assert checked.returncode == 0 and "'old/**/*.png' matches no" in checked.stderr
    dry = run(blog, host, "--dry-run")
    assert (
        dry.returncode == 0 and "0 image(s) uploaded, 1 ignored; nothing was changed" in dry.stderr
    )
    # A run on one file can't tell a stale entry from one for another file.
    assert "warning" not in run(blog, host, "check", "posts/old.md").stderr


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('"img/gone.png"', "not 'img/gone.png'"),
        ('["posts/*.md:"]', 'each "IMAGE" or "FILE:IMAGE"'),
        ('[":gone.png"]', 'each "IMAGE" or "FILE:IMAGE"'),
        ('[""]', 'each "IMAGE" or "FILE:IMAGE"'),
        ("[1]", 'each "IMAGE" or "FILE:IMAGE"'),
    ],
)
def test_a_wrong_ignore_is_a_config_error(
    tmp_path: Path, host: FakeLsky, value: str, shown: str
) -> None:
    blog = make_blog(tmp_path, ignore=f"ignore = {value}")
    for args in ((), ("check",)):
        done = run(blog, host, *args)
        assert done.returncode == 2
        assert "imgsync.toml" in done.stderr and "`ignore` must be a list of globs" in done.stderr
        assert shown in done.stderr


def test_entries_match_the_written_path_or_the_project_path_and_remember_use() -> None:
    ignores = IgnoreList(("img/*.png", "posts/*.md:/static/x.png", "never/*"))
    assert ignores.match("a.md", "img/a.png", None) == "img/*.png"
    assert ignores.match("a.md", "../up.png", "img/up.png") == "img/*.png"
    assert ignores.match("a.md", "img/a.jpg", "img/a.jpg") is None
    assert ignores.match("a.md", "/static/x.png", None) is None
    assert ignores.match("posts/b.md", "/static/x.png", None) == "posts/*.md:/static/x.png"
    assert ignores.stale() == ["never/*"]
    assert split_entry("a:b:c") == ("a", "b:c")
    assert split_entry("x.png") == ("", "x.png")
    assert written_path("././img/a.png") == "img/a.png"
    root = Path("/project")
    assert project_path(root / "posts" / ".." / "img" / "a.png", root) == "img/a.png"
    assert project_path(root / ".." / "a.png", root) is None


def test_the_starter_file_and_the_example_explain_and_accept_ignore(tmp_path: Path) -> None:
    from imgsync.config import load_settings
    from imgsync.starter_config import starter_config

    example = Path(__file__).resolve().parents[1] / "imgsync.toml.example"
    for text in (starter_config(), example.read_text(encoding="utf-8")):
        assert "<!-- imgsync-ignore -->" in text and '"FILE:IMAGE"' in text
        assert "\nignore = []\n" in text
        for line in text.splitlines():  # the commented example, made live, loads too
            if line.startswith("# ignore = ["):
                text = text.replace("\nignore = []\n", "\n" + line[2:] + "\n")
        (tmp_path / "imgsync.toml").write_text(text, encoding="utf-8")
        (tmp_path / "static").mkdir(exist_ok=True)
        env = {"LSKY_BASE_URL": "https://img.example.com/api/v1", "LSKY_TOKEN": "t"}
        env |= {"IMG_HOST_URL": "https://img.example.com", "IMG_TOKEN": "t"}
        settings = load_settings(cwd=tmp_path, env=env)
        assert settings.ignore == ("img/gone.png", "posts/2019/*.md:**/screenshot-*.png")


def test_a_wrong_ignore_under_tool_imgsync_names_that_key(tmp_path: Path) -> None:
    from imgsync.config import load_settings
    from imgsync.errors import ConfigError

    (tmp_path / "pyproject.toml").write_text('[tool.imgsync]\nignore = ["a.md:"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(cwd=tmp_path, env={})
    assert "`tool.imgsync.ignore` must be a list of globs" in str(caught.value)
    assert caught.value.path == tmp_path / "pyproject.toml"


@pytest.mark.parametrize(
    ("post", "line"),
    [
        ("- item\n\n  <!-- imgsync-ignore -->\n  ![lost](../img/gone.png)\n", 4),
        ("> quoted <!-- imgsync-ignore --> ![lost](../img/gone.png)\n", 1),
        ("| a | b |\n|---|---|\n| <!-- imgsync-ignore --> | ![lost](../img/gone.png) |\n", 3),
        ('<!-- imgsync-ignore -->\n<p><img src="../img/gone.png"></p>\n', 2),
        ("<!-- imgsync-ignore -->\n\n![lost][gone]\n\n[gone]: ../img/gone.png\n", 5),
    ],
    ids=["list", "quote", "table", "raw-html", "definition"],
)
def test_the_marker_works_in_every_container(
    tmp_path: Path, host: FakeLsky, post: str, line: int
) -> None:
    blog = make_blog(tmp_path)
    (blog / "posts" / "old.md").write_text(post, encoding="utf-8")
    checked = run(blog, host, "check", "--format", "json")
    assert checked.returncode == 0, checked.stdout
    (ignored,) = json.loads(checked.stdout)["ignored"]
    assert (ignored["line"], ignored["reference"]) == (line, "../img/gone.png")
    synced = run(blog, host)
    assert synced.returncode == 0 and "1 ignored" in synced.stderr
    assert (blog / "posts" / "old.md").read_text(encoding="utf-8") == post


def test_a_marker_in_a_fenced_block_is_no_marker(tmp_path: Path, host: FakeLsky) -> None:
    blog = make_blog(tmp_path)
    (blog / "posts" / "old.md").write_text(
        "```html\n<!-- imgsync-ignore -->\n```\n![lost](../img/gone.png)\n", encoding="utf-8"
    )
    checked = run(blog, host, "check")
    assert checked.returncode == 1 and "ignored" not in checked.stderr


@pytest.mark.parametrize(
    "accept",
    [
        'ignore = ["Pasted image 2019.png"]',  # the name as the embed writes it
        'ignore = ["posts/old.md:Pasted*"]',
        "",  # with the marker instead
    ],
)
def test_a_gone_obsidian_embed_can_be_accepted(tmp_path: Path, host: FakeLsky, accept: str) -> None:
    blog = make_blog(tmp_path, ignore=accept)
    mark = "" if accept else "<!-- imgsync-ignore -->\n"
    post = f"# Note\n\n![kept](../img/there.png)\n\n{mark}![[Pasted image 2019.png|300]]\n"
    (blog / "posts" / "old.md").write_text(post, encoding="utf-8")

    synced = run(blog, host)

    assert synced.returncode == 0, synced.stderr
    assert "1 uploaded" in synced.stderr and "1 ignored" in synced.stderr
    assert (
        (blog / "posts" / "old.md")
        .read_text(encoding="utf-8")
        .endswith(f"{mark}![[Pasted image 2019.png|300]]\n")
    )
    listed = run(blog, host, "check", "-v")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert (
        listed.stdout.startswith("posts/old.md:")
        and "![[Pasted image 2019.png|300]]" in listed.stdout
    )
