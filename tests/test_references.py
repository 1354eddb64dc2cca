"""Counting uses of hosted images: the work tree, and every other local branch and tag of a
real git repository (made with the real git binary), read without checking anything out."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from imgsync.config import load_settings
from imgsync.manage.git_history import branch_references
from imgsync.manage.project import count_uses
from imgsync.manage.references import Mentions, References, Use, url_key
from tests.images import png_bytes

URL = "https://img.example.com/i/2026/11/23/abc123.png"
OTHER = "https://img.example.com/i/2026/11/23/zzz999.png"


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def project(tmp_path: Path) -> Path:
    root = tmp_path / "blog"
    root.mkdir()
    (root / "imgsync.toml").write_text('cache = ".imgsync-cache.json"\n')
    return root


def uses(root: Path, *urls: str) -> References:
    settings = load_settings(cwd=root, config_file=None, env={})
    return count_uses(settings, urls)


def test_work_tree_references_in_every_form_count_with_file_and_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "posts").mkdir()
    (root / "posts" / "a.md").write_text(
        f'---\ncover: {URL}?w=300\n---\n\n# A\n\n![x]({URL}#top)\n\n<img src="{URL}">\n'
    )
    (root / "b.md").write_text(f"nothing here\n\n```\n{OTHER}\n```\n")

    refs = uses(root, URL, OTHER)

    assert refs.uses(URL) == [
        Use("", "posts/a.md", 2),
        Use("", "posts/a.md", 7),
        Use("", "posts/a.md", 9),
    ]
    assert refs.uses(OTHER) == [Use("", "b.md", 4, "mentioned")]


def test_a_local_reference_uses_the_upload_of_the_same_bytes(tmp_path: Path) -> None:
    root = project(tmp_path)
    data = png_bytes(rgb=(1, 2, 3))
    (root / "img").mkdir()
    (root / "img" / "plot.png").write_bytes(data)
    (root / "post.md").write_text("![plot](img/plot.png)\n\n![[plot.png]]\n")

    refs = uses(root)

    md5 = hashlib.md5(data).hexdigest()
    assert refs.uses("https://elsewhere.example/x.png", md5) == [
        Use("", "post.md", 1),
        Use("", "post.md", 3),
    ]
    assert refs.uses("https://elsewhere.example/x.png", "0" * 32) == []


def test_a_url_that_only_begins_like_another_is_not_a_use(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "post.md").write_text(f"![a]({URL}x.png)\n\nsee {URL}2\n")
    assert uses(root, URL).uses(URL) == []


def test_mentions_find_urls_wherever_they_are_written() -> None:
    mentions = Mentions([URL])
    text = f"a\n`{URL}`\n[link]({URL}) <{URL}?q=1>\n//IMG.example.com/i/2026/11/23/abc123.png\n"
    assert mentions.find(text) == [
        (url_key(URL), 2),
        (url_key(URL), 3),
        (url_key(URL), 3),
        (url_key(URL), 4),
    ]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = project(tmp_path)
    git(root, "init", "-q", "-b", "main")
    (root / "post.md").write_text(f"![a]({URL})\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "first")
    return root


def test_an_image_used_only_on_another_branch_is_used_there(repo: Path) -> None:
    git(repo, "checkout", "-qb", "draft")
    (repo / "draft.md").write_text(f"# Draft\n\n![b]({OTHER})\n")
    git(repo, "add", "draft.md")
    git(repo, "commit", "-qm", "draft")
    git(repo, "checkout", "-q", "main")
    (repo / "post.md").write_text("no images any more\n")  # uncommitted on main
    head_before = git(repo, "rev-parse", "HEAD")

    refs = uses(repo, URL, OTHER)

    assert refs.uses(OTHER) == [Use("branch draft", "draft.md", 3)]
    # draft also holds post.md as main committed it: the URL is used there too
    assert refs.uses(URL) == [Use("branch draft", "post.md", 1)]
    assert git(repo, "rev-parse", "HEAD") == head_before  # nothing checked out
    assert git(repo, "status", "--porcelain") == " M post.md\n"


def test_the_branch_checked_out_is_read_from_the_work_tree_only(repo: Path) -> None:
    (repo / "post.md").write_text("no images any more\n")
    assert uses(repo, URL).uses(URL) == []


def test_tags_annotated_or_not_count(repo: Path) -> None:
    git(repo, "tag", "v1")
    git(repo, "tag", "-a", "v2", "-m", "release")
    (repo / "post.md").write_text("gone\n")
    git(repo, "commit", "-qam", "no more images")

    assert uses(repo, URL).uses(URL) == [Use("tag v1", "post.md", 1), Use("tag v2", "post.md", 1)]


def test_a_local_image_committed_on_another_branch_counts_by_its_bytes(repo: Path) -> None:
    data = png_bytes(rgb=(9, 8, 7))
    git(repo, "checkout", "-qb", "local")
    (repo / "posts").mkdir()
    (repo / "posts" / "img").mkdir()
    (repo / "posts" / "img" / "x.png").write_bytes(data)
    (repo / "posts" / "x.md").write_text("![x](img/x.png)\n\n![r](/posts/img/x.png)\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "local image")
    git(repo, "checkout", "-q", "main")
    assert not (repo / "posts").exists()

    refs = uses(repo)

    md5 = hashlib.md5(data).hexdigest()
    assert refs.uses("https://nowhere.example/x.png", md5) == [
        Use("branch local", "posts/x.md", 1),
        Use("branch local", "posts/x.md", 3),
    ]


def test_a_project_in_a_subfolder_reads_its_own_files_of_each_branch(tmp_path: Path) -> None:
    top = tmp_path / "repo"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    root = top / "site"
    root.mkdir()
    (root / "imgsync.toml").write_text("")
    (root / "in.md").write_text(f"![a]({URL})\n")
    (top / "outside.md").write_text(f"![b]({OTHER})\n")
    git(top, "add", ".")
    git(top, "commit", "-qm", "c")
    git(top, "branch", "other")
    (root / "in.md").write_text("")

    refs = uses(root, URL, OTHER)

    assert refs.uses(URL) == [Use("branch other", "in.md", 1)]
    assert refs.uses(OTHER) == []


def test_outside_a_git_work_tree_no_branch_is_read(tmp_path: Path) -> None:
    root = project(tmp_path)
    settings = load_settings(cwd=root, config_file=None, env={})
    refs = References()
    assert branch_references(settings, refs, Mentions([URL])) == []
    assert refs.warnings == []


def test_a_branch_git_cannot_read_is_said_and_a_tag_of_a_blob_is_passed_over(repo: Path) -> None:
    git(repo, "checkout", "-qb", "broken")
    (repo / "draft.md").write_text(f"![b]({OTHER})\n")
    git(repo, "add", "draft.md")
    git(repo, "commit", "-qm", "draft")
    tree = git(repo, "rev-parse", "broken^{tree}").strip()
    git(repo, "checkout", "-q", "main")
    blob = git(repo, "hash-object", "-w", "post.md").strip()
    git(repo, "tag", "a-blob", blob)
    (repo / ".git" / "objects" / tree[:2] / tree[2:]).unlink()  # the branch's tree is lost

    settings = load_settings(cwd=repo, config_file=None, env={})
    refs = References()
    read = branch_references(settings, refs, Mentions([OTHER]))

    assert read == []
    assert len(refs.unread) == 1 and refs.unread[0].startswith("branch broken: ")
    assert refs.uses(OTHER) == []


def test_a_bare_name_no_file_has_beside_the_note_counts_as_a_vault_name(repo: Path) -> None:
    data = png_bytes(rgb=(4, 5, 6))
    (repo / "attachments").mkdir()
    (repo / "attachments" / "pasted.png").write_bytes(data)
    (repo / "notes").mkdir()
    (repo / "notes" / "n.md").write_text("![](pasted.png)\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "vault")
    git(repo, "branch", "kept")

    refs = uses(repo)

    md5 = hashlib.md5(data).hexdigest()
    assert refs.uses("https://x.example/p.png", md5) == [
        Use("", "notes/n.md", 1),
        Use("branch kept", "notes/n.md", 1),
    ]
