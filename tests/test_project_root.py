"""One project root: without a config file, every folder of a project shares one cache; a run
without PATH covers the project (`paths` in the config, else its root)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.config import CACHE_NAME, find_project_root, load_settings
from imgsync.errors import ConfigError
from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "3|rootTokenThatMustNeverBePrinted0000000000"


# --- finding the root -------------------------------------------------------------------------


def test_the_git_work_tree_top_is_the_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    deep = tmp_path / "content" / "posts"
    deep.mkdir(parents=True)

    assert find_project_root(deep) == (tmp_path.resolve(), "git")
    settings = load_settings(cwd=deep, env={})
    assert settings.cache_path == tmp_path.resolve() / CACHE_NAME
    assert settings.project_paths == (tmp_path.resolve(),)


def test_a_git_file_marks_a_work_tree_too(tmp_path: Path) -> None:
    # A linked worktree or a submodule has a .git file, not a folder.
    (tmp_path / ".git").write_text("gitdir: /elsewhere/.git/worktrees/blog\n")
    (tmp_path / "posts").mkdir()

    assert find_project_root(tmp_path / "posts") == (tmp_path.resolve(), "git")


def test_an_existing_cache_on_the_way_up_wins(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    site = tmp_path / "site"
    (site / "posts").mkdir(parents=True)
    (site / CACHE_NAME).write_text("{}")

    assert find_project_root(site / "posts") == (site.resolve(), "cache")


def test_a_cache_above_the_work_tree_is_never_adopted(tmp_path: Path) -> None:
    (tmp_path / CACHE_NAME).write_text("{}")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "posts").mkdir()

    assert find_project_root(repo / "posts") == (repo.resolve(), "git")


def test_a_folder_named_like_the_cache_is_not_one(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "posts" / CACHE_NAME).mkdir(parents=True)

    assert find_project_root(tmp_path / "posts") == (tmp_path.resolve(), "git")


def test_without_git_or_cache_the_current_folder_is_the_root(tmp_path: Path) -> None:
    assert find_project_root(tmp_path) == (tmp_path.resolve(), "cwd")


def test_the_home_folder_is_adopted_only_from_itself(tmp_path: Path) -> None:
    # A stray cache in ~ (an `imgsync upload` run there) or a dotfiles repository at ~ must
    # not make a run in ~/notes sync, and rewrite, every Markdown file of the home folder.
    home = tmp_path / "home"
    notes = home / "notes"
    notes.mkdir(parents=True)
    (home / CACHE_NAME).write_text("{}")
    (home / ".git").mkdir()

    assert find_project_root(notes, home=home) == (notes.resolve(), "cwd")
    assert find_project_root(home, home=home) == (home.resolve(), "cache")
    settings = load_settings(cwd=notes, env={"HOME": str(home)})
    assert settings.root == notes.resolve() and settings.root_found_by == "cwd"
    from imgsync.doctor import diagnose

    root = {
        c.name: c for c in diagnose(cwd=notes, config_file=None, env={"HOME": str(home)}).checks
    }
    assert "your home folder is not searched from below it" in root["root"].found


def test_a_project_inside_the_home_folder_still_shares_its_cache(tmp_path: Path) -> None:
    home = tmp_path / "home"
    blog = home / "blog"
    (blog / "posts").mkdir(parents=True)
    (blog / CACHE_NAME).write_text("{}")

    assert find_project_root(blog / "posts", home=home) == (blog.resolve(), "cache")


# --- the `paths` key --------------------------------------------------------------------------


def test_paths_are_relative_to_the_config_and_cover_a_run_without_path(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "README.md").write_text("# hi\n")
    (tmp_path / "imgsync.toml").write_text('paths = ["content", "README.md", "content/"]\n')

    settings = load_settings(cwd=tmp_path / "content", env={})

    root = tmp_path.resolve()
    assert settings.paths == (root / "content", root / "README.md")
    assert settings.project_paths == settings.paths


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('"content"', 'must be a list of one or more folders and files, such as ["content"]'),
        ("[]", "must be a list of one or more folders"),
        ('[""]', "must be a list of one or more folders"),
        ("[1]", "must be a list of one or more folders"),
        ('["../elsewhere"]', "outside the project"),
        ('["/etc"]', "outside the project"),
        ('["drafts"]', "'drafts' does not exist"),
        ('["a\\u0000b"]', "not a usable path"),
    ],
)
def test_bad_paths_are_config_errors_naming_file_and_key(
    tmp_path: Path, value: str, words: str
) -> None:
    (tmp_path / "elsewhere").mkdir()
    project = tmp_path / "project"
    project.mkdir()
    (project / "imgsync.toml").write_text(f"paths = {value}\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(cwd=project, env={})

    assert str(caught.value).startswith(f"{project.resolve() / 'imgsync.toml'}: `paths`")
    assert words in str(caught.value)


def test_a_path_that_leaves_through_a_link_is_outside(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    project = tmp_path / "project"
    project.mkdir()
    (project / "posts").symlink_to(tmp_path / "elsewhere")
    (project / "imgsync.toml").write_text('paths = ["posts"]\n')

    with pytest.raises(ConfigError, match="outside the project"):
        load_settings(cwd=project, env={})


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git work tree (just its .git folder: git itself is never run) with two posts."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    for name, rgb in (("one", (1, 1, 1)), ("two", (2, 2, 2))):
        post = root / "posts" / name
        post.mkdir(parents=True)
        (post / "a.png").write_bytes(png_bytes(rgb=rgb))
        (post / "index.md").write_text("![a](a.png)\n")
    (root / "drafts").mkdir()
    (root / "drafts" / "d.md").write_text("![missing](gone.png)\n")
    return root


def run(cwd: Path, host: FakeLsky, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env |= {"NO_PROXY": "127.0.0.1", "LSKY_BASE_URL": host.url, "LSKY_TOKEN": TOKEN}
    done = subprocess.run(
        [IMGSYNC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert TOKEN not in done.stdout + done.stderr
    return done


def test_a_sub_folder_shares_the_one_cache_and_uploads_nothing_again(
    repo: Path, host: FakeLsky
) -> None:
    first = run(repo / "posts" / "one", host, ".")
    assert first.returncode == 0, first.stderr
    assert len(host.uploads) == 1
    assert (repo / CACHE_NAME).is_file()  # at the work tree's top, not in posts/one

    (repo / "posts" / "two" / "index.md").write_text("![a](../one/a.png)\n")
    again = run(repo / "posts" / "two", host, ".")

    assert again.returncode == 0, again.stderr
    assert len(host.uploads) == 1  # the image went up once, whichever folder ran
    assert "0 uploaded, 1 already on the host" in again.stderr
    assert sorted(p.name for p in repo.rglob(CACHE_NAME)) == [CACHE_NAME]


def test_no_path_means_the_project(repo: Path, host: FakeLsky) -> None:
    inside = repo / "posts" / "one"

    check = run(inside, host, "check", "--json")
    pending = {p["file"] for p in json.loads(check.stdout)["pending"]}
    assert check.returncode == 1
    # Shown relative to the current folder when inside it, else in full.
    assert pending == {"index.md", str(repo / "posts/two/index.md"), str(repo / "drafts/d.md")}

    dry = run(inside, host, "--dry-run", "-q")
    assert dry.returncode == 3 and host.uploads == []  # drafts/d.md's image is missing
    assert "gone.png" in dry.stderr

    (repo / "imgsync.toml").write_text('paths = ["posts"]\n')
    synced = run(inside, host, "-q")
    assert synced.returncode == 0, synced.stderr
    assert len(host.uploads) == 2 and synced.stderr == ""
    assert run(inside, host, "check").returncode == 0  # drafts/ is outside `paths`
    assert run(inside, host, "check", str(repo / "drafts")).returncode == 1


def test_no_path_in_a_home_folder_that_is_no_project_is_refused(
    tmp_path: Path, host: FakeLsky
) -> None:
    # With LSKY_BASE_URL exported in a shell's rc file, `imgsync` typed in ~ would otherwise
    # upload and rewrite the images of every Markdown file under the home folder.
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    (home / "notes" / "a.png").write_bytes(png_bytes())
    (home / "notes" / "n.md").write_text("![a](a.png)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env |= {"HOME": str(home), "NO_PROXY": "127.0.0.1"}
    env |= {"LSKY_BASE_URL": host.url, "LSKY_TOKEN": TOKEN}

    def imgsync(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [IMGSYNC, *args], cwd=home, env=env, capture_output=True, text=True, timeout=120
        )

    for args in ((), ("check",), ("--dry-run",)):
        refused = imgsync(*args)
        assert refused.returncode == 2, (args, refused.stderr)
        assert "is your home folder, and no project was found here" in refused.stderr
        assert "imgsync notes/" in refused.stderr
    assert host.uploads == [] and (home / "notes" / "n.md").read_text() == "![a](a.png)\n"

    named = imgsync("notes")
    assert named.returncode == 0, named.stderr
    assert len(host.uploads) == 1
