"""The hooks of .pre-commit-hooks.yaml driven by the real `pre-commit` tool in a real git repo.

The hook source is a snapshot of this working tree (uncommitted changes included),
committed into a temporary repository, so the test checks the code as it is now.
pre-commit builds the hook's virtualenv from that snapshot with pip; everything it
caches (its home, virtualenv's seed wheels, pip's cache) stays under tmp_path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

REPO = Path(__file__).resolve().parents[1]
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
TOKEN = "3|preCommitHookTokenNeverPrinted0000000000000"
POST = "# Post\n\n![a](img/a.png)\n"


def hook_env(tmp_path: Path) -> dict[str, str]:
    """The environment a commit runs in: pre-commit's caches in `tmp_path`, the token set,
    loopback never proxied, and no LSKY_/IMGSYNC_ variable of the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        VIRTUALENV_OVERRIDE_APP_DATA=str(tmp_path / "virtualenv-app-data"),
        PIP_CACHE_DIR=str(tmp_path / "pip-cache"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        LSKY_TOKEN=TOKEN,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def git(
    cwd: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    identity = ["-c", "user.name=imgsync test", "-c", "user.email=test@example.invalid"]
    return subprocess.run(
        ["git", *identity, "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def snapshot_of_this_tree(target: Path) -> str:
    """Copy the tracked and untracked-but-not-ignored files here into `target`, commit
    them there, and return the commit: a hook repo that is exactly the current code."""
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is skipped
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "snapshot")
    return git(target, "rev-parse", "HEAD").stdout.strip()


@pytest.mark.slow
def test_hooks_check_then_sync_then_pass(tmp_path: Path) -> None:
    assert PRE_COMMIT.exists(), "pre-commit is missing: pip install -e '.[dev]'"
    hook_repo = tmp_path / "hook-repo"
    rev = snapshot_of_this_tree(hook_repo)
    blog = tmp_path / "blog"
    (blog / "img").mkdir(parents=True)
    (blog / "img" / "a.png").write_bytes(png_bytes(2, 2))
    (blog / "post.md").write_text(POST)
    (blog / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {hook_repo}\n"
        f"    rev: {rev}\n"
        "    hooks:\n"
        "      - id: imgsync-check\n"
        "      - id: imgsync\n"
    )
    git(blog, "init", "-q")
    env = hook_env(tmp_path)

    def pre_commit(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(PRE_COMMIT), *args, "--color", "never"],
            cwd=blog,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert TOKEN not in done.stdout + done.stderr
        return done

    with FakeLsky(token=TOKEN) as host:
        (blog / "imgsync.toml").write_text(
            f'[hosts.blog]\ntype = "lsky"\nurl = "{host.url}"\ntoken = "${{LSKY_TOKEN}}"\n'
        )
        git(blog, "add", "-A")
        # not staged, so pre-commit does not pass it: the hooks must leave it alone
        (blog / "draft.md").write_text("![d](img/a.png)\n")

        check = pre_commit("run", "imgsync-check")

        assert check.returncode == 1, check.stdout + check.stderr
        assert "post.md:3: img/a.png" in check.stdout
        assert "draft.md" not in check.stdout
        assert host.requests == 0  # the check is offline
        assert (blog / "post.md").read_text() == POST

        sync = pre_commit("run", "imgsync")

        assert sync.returncode == 1, sync.stdout + sync.stderr
        assert "files were modified by this hook" in sync.stdout
        assert len(host.uploads) == 1
        rewritten = (blog / "post.md").read_text()
        cache = json.loads((blog / ".imgsync-cache.json").read_text())
        (entry,) = next(iter(cache["uploads"].values())).values()
        assert rewritten == f"# Post\n\n![a]({entry['url']})\n"
        assert entry["url"].startswith(host.url.removesuffix("/api/v1"))
        assert (blog / "draft.md").read_text() == "![d](img/a.png)\n"

        git(blog, "add", "post.md", ".imgsync-cache.json")
        again = pre_commit("run")

        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.count("Passed") == 2
        assert pre_commit("install").returncode == 0
        commit = git(blog, "commit", "-q", "-m", "post", env=env, check=False)  # runs the hooks
        assert commit.returncode == 0, commit.stdout + commit.stderr
        assert len(host.uploads) == 1
    assert git(blog, "show", "HEAD:post.md").stdout == rewritten


@pytest.mark.slow
def test_a_rolled_back_hook_never_uploads_twice(tmp_path: Path) -> None:
    """A post partly staged: pre-commit stashes the rest, the hook uploads and rewrites, the
    stash conflicts with the rewrite, and pre-commit rolls back the hook's changes, the new
    cache entry included. The journal in .imgsync/ (untracked, ignored) keeps the upload."""
    assert PRE_COMMIT.exists(), "pre-commit is missing: pip install -e '.[dev]'"
    hook_repo = tmp_path / "hook-repo"
    rev = snapshot_of_this_tree(hook_repo)
    blog = tmp_path / "blog"
    (blog / "img").mkdir(parents=True)
    (blog / "img" / "a.png").write_bytes(png_bytes(3, 3))
    (blog / "post.md").write_text("# Post\n\nIntro.\n")
    (blog / ".imgsync-cache.json").write_text('{\n  "uploads": {},\n  "version": 1\n}\n')
    (blog / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n      - id: imgsync\n"
    )
    git(blog, "init", "-q")
    env = hook_env(tmp_path)

    def commit() -> str:
        done = git(blog, "commit", "-m", "post", env=env, check=False)
        output = done.stdout + done.stderr
        assert TOKEN not in output
        return output

    with FakeLsky(token=TOKEN) as host:
        (blog / "imgsync.toml").write_text(
            f'[hosts.blog]\ntype = "lsky"\nurl = "{host.url}"\ntoken = "${{LSKY_TOKEN}}"\n'
        )
        git(blog, "add", "-A")
        git(blog, "commit", "-q", "-m", "start")
        installed = subprocess.run(
            [str(PRE_COMMIT), "install"], cwd=blog, env=env, capture_output=True, timeout=300
        )
        assert installed.returncode == 0, installed.stderr
        staged = "# Post\n\nIntro.\n\n![a](img/a.png)\n"
        (blog / "post.md").write_text(staged)
        git(blog, "add", "post.md")
        # Not staged, next to the image's line: it conflicts with the hook's rewrite.
        unstaged = staged + "More about a.\n"
        (blog / "post.md").write_text(unstaged)

        for attempt in range(2):
            output = commit()

            assert "Rolling back fixes" in output, output
            assert len(host.uploads) == 1, (attempt, output)  # the second one uploads nothing
            assert (blog / "post.md").read_text() == unstaged
            # The hook's new cache entry was rolled back with its rewrite...
            assert json.loads((blog / ".imgsync-cache.json").read_text())["uploads"] == {}
            assert git(blog, "status", "--porcelain").stdout.count("\n") == 1  # post.md only

        # ...and the journal has it: staged whole, the commit goes through without an upload.
        git(blog, "add", "post.md")
        output = commit()
        assert "files were modified by this hook" in output, output
        git(blog, "add", "post.md", ".imgsync-cache.json")
        output = commit()
        assert "Passed" in output, output
        assert len(host.uploads) == 1
    committed = json.loads(git(blog, "show", "HEAD:.imgsync-cache.json").stdout)
    (entry,) = next(iter(committed["uploads"].values())).values()
    assert git(blog, "show", "HEAD:post.md").stdout == (
        f"# Post\n\nIntro.\n\n![a]({entry['url']})\nMore about a.\n"
    )
