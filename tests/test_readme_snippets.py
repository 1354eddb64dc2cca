"""The README's snippets, run as a user runs them, against a fresh clone of this project.

A user copies the pre-commit and CI snippets, writes the address of the project (or a fork)
where the README's placeholder URL stands, and follows the README's words. These tests do the
same: "the project's home" is a `git clone` of this repository at HEAD (uncommitted changes are
not in it: the snippets must work with what is committed), its `main` branch at that commit, as
in CI, where the checkout is a clone of main. Only the placeholder URL is replaced; every other
byte of each snippet is used as written, and the commands the README says to run are run.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CI_PAGE = REPO / "docs" / "ci.md"
PLACEHOLDER = "https://git.example.com/you/imgsync"
TOKEN = "4|readmeSnippetTokenNeverPrinted00000000000000"
POST = "# Post\n\n![a](img/a.png)\n"
# PyYAML comes with pre-commit (a dev dependency) and ships no type hints.
yaml_load: Callable[[str], Any] = importlib.import_module("yaml").safe_load


def fenced_blocks(markdown: str) -> list[str]:
    """The bodies of the ``` fenced code blocks of a Markdown text, in order."""
    return re.findall(r"^```[^\n]*\n(.*?)^```$", markdown, flags=re.MULTILINE | re.DOTALL)


def snippet(page: Path, first_line: str) -> str:
    """The one code block of `page` whose first line is `first_line`, as written."""
    found = [b for b in fenced_blocks(page.read_text()) if b.split("\n", 1)[0] == first_line]
    assert len(found) == 1, f"{page.name}: {len(found)} code blocks start with {first_line!r}"
    return found[0]


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=imgsync test", "-c", "user.email=test@example.invalid"]
    done = run(["git", *identity, "-c", "commit.gpgsign=false", *args], cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def shell(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A script run the way GitHub Actions runs a `run:` step on Linux."""
    return run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd, env)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("readme")


@pytest.fixture(scope="module")
def project_home(scratch: Path) -> Path:
    """A fresh clone of this repository at HEAD, with `main` checked out at that commit."""
    home = scratch / "imgsync-home"
    git(scratch, "clone", "-q", str(REPO), str(home))
    git(home, "checkout", "-q", "-B", "main")
    return home


@pytest.fixture(scope="module")
def base_env(scratch: Path) -> dict[str, str]:
    """The environment of a user's shell: no imgsync settings, caches kept in the scratch
    folder, git's global settings (a signing key, say) replaced by a name and an address."""
    (scratch / "gitconfig").write_text(
        "[user]\n\tname = A Writer\n\temail = writer@example.invalid\n[commit]\n\tgpgsign = false\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(
        GIT_CONFIG_GLOBAL=str(scratch / "gitconfig"),
        PRE_COMMIT_HOME=str(scratch / "pre-commit-home"),
        VIRTUALENV_OVERRIDE_APP_DATA=str(scratch / "virtualenv-app-data"),
        PIP_CACHE_DIR=str(scratch / "pip-cache"),
        XDG_CACHE_HOME=str(scratch / "cache"),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as fake:
        yield fake


def the_url_in(snippet_text: str, home: Path) -> str:
    """The snippet with the placeholder URL replaced by the clone's address, as a user does."""
    return snippet_text.replace(PLACEHOLDER, home.as_uri())


def naming_the_placeholder(snippet_text: str, times: int) -> str:
    assert snippet_text.count(PLACEHOLDER) == times, "the snippet's placeholder URL changed"
    return snippet_text


def a_blog(folder: Path, imgsync_toml: str) -> Path:
    (folder / "img").mkdir(parents=True)
    (folder / "img" / "a.png").write_bytes(png_bytes(2, 2))
    (folder / "post.md").write_text(POST)
    (folder / "imgsync.toml").write_text(imgsync_toml)
    git(folder, "init", "-q", "-b", "main")
    return folder


def the_only_url(blog: Path) -> str:
    cache = json.loads((blog / ".imgsync-cache.json").read_text())
    (entry,) = next(iter(cache["uploads"].values())).values()
    url: str = entry["url"]
    return url


def test_first_screen_is_the_two_commands_ci_runs() -> None:
    first = fenced_blocks(README.read_text())[0].splitlines()
    assert len(first) == 2
    assert first[0].endswith(".venv/bin/python -m imgsync.demo")
    ci_run = (REPO / ".ci" / "run").read_text().splitlines()
    assert first[1] == ci_run[-1], ".ci/run must run the README's test command word for word"


def test_readme_is_short_and_its_links_lead_to_files() -> None:
    assert len(README.read_text().splitlines()) < 250
    for page in [README, *sorted((REPO / "docs").glob("*.md"))]:
        prose = re.sub(r"^```.*?^```$", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
        prose = re.sub(r"`[^`]*`", "", prose)
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", prose):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name} links to {target}"


@pytest.mark.slow
def test_pre_commit_snippet_as_written(
    scratch: Path, project_home: Path, base_env: dict[str, str], host: FakeLsky
) -> None:
    written = snippet(README, "# .pre-commit-config.yaml in your blog")
    config = the_url_in(naming_the_placeholder(written, 1), project_home)
    blog = a_blog(
        scratch / "pre-commit-blog",
        f'[hosts.blog]\ntype = "lsky"\nurl = "{host.url}"\ntoken = "${{LSKY_TOKEN}}"\n',
    )
    (blog / ".pre-commit-config.yaml").write_text(config)
    env = {**base_env, "LSKY_TOKEN": TOKEN}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # pre-commit
    git(blog, "add", "-A")

    # As written (only the URL replaced), before any of the README's further steps.
    as_written = run(["pre-commit", "run", "--files", "post.md", "--color", "never"], blog, env)

    assert as_written.returncode == 1, as_written.stdout + as_written.stderr
    assert "files were modified by this hook" in as_written.stdout
    assert (blog / "post.md").read_text() == f"# Post\n\n![a]({the_only_url(blog)})\n"
    assert len(host.uploads) == 1

    # Then the commands the README says to run after writing the file.
    (command,) = re.findall(r"Then `(pre-commit [^`]+)`", README.read_text())
    then = shell(command, blog, env)

    assert then.returncode == 0, then.stdout + then.stderr
    head = git(project_home, "rev-parse", "HEAD").strip()
    assert f"rev: {head}" in (blog / ".pre-commit-config.yaml").read_text()

    (blog / "img" / "b.png").write_bytes(png_bytes(3, 3))
    (blog / "second.md").write_text("![b](img/b.png)\n")
    git(blog, "add", "-A")
    stopped = run(["git", "commit", "-q", "-m", "posts"], blog, env)  # the installed hook

    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "files were modified by this hook" in stopped.stdout + stopped.stderr
    assert len(host.uploads) == 2

    git(blog, "add", "-A")
    committed = run(["git", "commit", "-q", "-m", "posts"], blog, env)

    assert committed.returncode == 0, committed.stdout + committed.stderr
    assert len(host.uploads) == 2
    assert "img/b.png" not in git(blog, "show", "HEAD:second.md")
    assert TOKEN not in as_written.stdout + then.stdout + stopped.stdout + committed.stdout


@dataclass
class Runner:
    """A CI runner's part played locally: a fresh Python with pip (setup-python, or the
    python image), a bare remote holding the blog, a checkout of it per job."""

    root: Path
    remote: Path
    env: dict[str, str]
    jobs: int = 0

    def checkout(self) -> Path:
        self.jobs += 1
        work = self.root / f"job-{self.jobs}"
        git(self.root, "clone", "-q", str(self.remote), str(work))
        return work

    def imgsync(self) -> str | None:
        return shutil.which("imgsync", path=self.env["PATH"])


@pytest.fixture
def runner(scratch: Path, base_env: dict[str, str], request: pytest.FixtureRequest) -> Runner:
    root = scratch / request.node.name
    python = root / "python"
    made = run([sys.executable, "-m", "venv", str(python)], scratch)
    assert made.returncode == 0, made.stderr
    env = {**base_env, "CI": "true", "PATH": f"{python / 'bin'}{os.pathsep}{base_env['PATH']}"}
    remote = root / "blog.git"
    git(scratch, "init", "-q", "--bare", "-b", "main", str(remote))
    blog = a_blog(root / "blog", '[hosts.blog]\ntype = "lsky"\ntoken = "${LSKY_TOKEN}"\n')
    git(blog, "add", "-A")
    git(blog, "commit", "-q", "-m", "a post with a local image")
    git(blog, "push", "-q", str(remote), "main")
    return Runner(root, remote, env)


def github_job(
    job: dict[str, Any], runner: Runner, home: Path, values: dict[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    """Run a workflow job's steps as GitHub does: a failed step skips the rest but those
    marked `if: always()`. `${{ name }}` takes its value from `values`."""

    def expand(text: str) -> str:
        return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: values[m.group(1)], text)

    work: Path | None = None
    done: list[subprocess.CompletedProcess[str]] = []
    for step in job["steps"]:
        failed = any(d.returncode != 0 for d in done)
        if failed and step.get("if") != "always()":
            continue
        if step.get("uses", "").startswith("actions/checkout@"):
            work = runner.checkout()
        elif step.get("uses", "").startswith("actions/setup-python@"):
            pass  # the runner's Python is ready
        else:
            assert work is not None and set(step) <= {"run", "env", "if"}, step
            env = {**runner.env, **{k: expand(v) for k, v in step.get("env", {}).items()}}
            done.append(shell(the_url_in(step["run"], home), work, env))
    return done


@pytest.mark.slow
def test_github_workflow_as_written(project_home: Path, runner: Runner, host: FakeLsky) -> None:
    workflow = yaml_load(
        naming_the_placeholder(snippet(README, "# .github/workflows/images.yml"), 2)
    )
    values = {"vars.IMGSYNC_HOST_URL": host.url, "secrets.LSKY_TOKEN": TOKEN}

    install, *rest = github_job(workflow["jobs"]["check"], runner, project_home, values)

    assert install.returncode == 0, install.stdout + install.stderr
    (check,) = rest
    assert str(runner.root) in str(runner.imgsync())
    assert check.returncode == 1, check.stdout + check.stderr
    assert check.stdout.startswith("::error file=post.md,line=3,")
    assert host.requests == 0

    sync_job = workflow["jobs"]["sync"]
    assert sync_job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    steps = github_job(sync_job, runner, project_home, values)

    assert [s.returncode for s in steps] == [0, 0, 0], [s.stderr for s in steps]
    assert len(host.uploads) == 1
    pushed = git(runner.remote, "show", "main:post.md")
    assert pushed.startswith("# Post\n\n![a](http://127.0.0.1:")
    assert "img/a.png" not in pushed
    assert TOKEN not in "".join(s.stdout + s.stderr for s in steps)

    again = github_job(workflow["jobs"]["check"], runner, project_home, values)

    assert [s.returncode for s in again] == [0, 0], [s.stdout + s.stderr for s in again]
    assert "::error" not in again[1].stdout


@pytest.mark.slow
def test_gitlab_jobs_as_written(project_home: Path, runner: Runner, host: FakeLsky) -> None:
    pipeline = yaml_load(naming_the_placeholder(snippet(CI_PAGE, "# .gitlab-ci.yml"), 2))
    variables = {"IMGSYNC_HOST_URL": host.url, "LSKY_TOKEN": TOKEN}  # the project's CI/CD ones

    def job(name: str) -> list[subprocess.CompletedProcess[str]]:
        work, done = runner.checkout(), []
        for line in pipeline[name]["script"]:
            done.append(shell(the_url_in(line, project_home), work, {**runner.env, **variables}))
            if done[-1].returncode != 0:
                break
        return done

    install, check = job("images-check")

    assert install.returncode == 0, install.stderr
    assert check.returncode == 1
    assert check.stdout == "post.md:3: img/a.png\n"

    install, sync = job("images-sync")

    assert (install.returncode, sync.returncode) == (0, 0), sync.stderr
    assert len(host.uploads) == 1
    assert pipeline["images-sync"]["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
