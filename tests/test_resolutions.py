"""A page's references find each file once (images.PageTargets), by the path written: the same
answers as resolving every reference anew, each reference told its own error, and nothing
shared between pages, whose folder or typora-root-url can make the same text name another
file. Real folders, the real console script for the whole run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgsync.errors import ImageError
from imgsync.images import PageTargets, resolve_target
from imgsync.markdown.destinations import LocalTarget
from imgsync.nearest import Nearby
from tests.images import png_bytes
from tests.test_check_formats import check


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    for name, shade in (("a/icon.png", 1), ("b/other.png", 2), ("static/pic.png", 3)):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(png_bytes(rgb=(shade, 0, 0)))
    (root / "a" / "Photo.PNG").write_bytes(png_bytes(rgb=(4, 0, 0)))
    (root / "a" / "folder.png").mkdir()
    (root / "a" / "cut#x.png").write_bytes(png_bytes(rgb=(5, 0, 0)))  # found as `cut%23x.png`
    (tmp_path / "outside.png").write_bytes(png_bytes())
    return root


def _answer(
    page_targets: PageTargets | None, target: LocalTarget, page: Path, typora: str | None
) -> tuple[str, object]:
    """What a reference resolves to, kept (`page_targets`) or anew (None): a file, or the
    error's reason and whether it is missing."""
    root = page.parents[1]
    try:
        if page_targets is not None:
            return "file", page_targets.resolve(target)
        found = resolve_target(
            target, page, root, root / "static", nearby=Nearby(root), typora_root=typora
        )
        return "file", found
    except ImageError as error:
        return "error", (error.reason, error.missing)


TARGETS = [
    "icon.png",  # there from a/, missing from b/
    "other.png",  # the other way round
    "photo.png",  # missing, with a file meant (a/Photo.PNG)
    "folder.png",  # a folder, not a file
    "../../outside.png",  # leaves the project
    "/pic.png",  # rooted: under site_root, or under a post's typora-root-url
    "icon.png#frag",  # a suffix: the bare name's file, found once for both
    "cut#x.png",  # missing, and told of the file named `cut#x.png`
    "cut",  # missing, and told nothing of it
]


def test_each_answer_is_resolve_targets_asked_again_and_again(project: Path) -> None:
    pages = [project / "a" / "one.md", project / "a" / "two.md", project / "b" / "one.md"]
    for page in pages:
        for typora in (None, "../static", "../a"):
            nearby = Nearby(project)
            page_targets = PageTargets(page, project, project / "static", nearby, typora)
            for _round in range(3):  # the later rounds are answered from what the first kept
                for written in TARGETS:
                    path, _, fragment = written.partition("#")
                    target = LocalTarget(path, "#" + fragment if fragment else "")
                    kept = _answer(page_targets, target, page, typora)
                    fresh = _answer(None, target, page, typora)
                    assert kept == fresh, (page, typora, written)


def test_each_reference_gets_an_error_of_its_own(project: Path) -> None:
    page_targets = PageTargets(project / "a" / "page.md", project, project, Nearby(project))
    target = LocalTarget("gone.png", "")
    errors = []
    for _ in range(2):
        with pytest.raises(ImageError) as caught:
            page_targets.resolve(target)
        errors.append(caught.value)
    assert errors[0] is not errors[1]
    assert errors[0].reason == errors[1].reason and errors[0].missing and errors[1].missing


def check_json(root: Path) -> tuple[int, dict[tuple[str, int], tuple[str, str | None]]]:
    done = check(root, "--format", "json", ".")
    pending = json.loads(done.stdout)["pending"]
    return done.returncode, {(p["file"], p["line"]): (p["status"], p["reason"]) for p in pending}


def test_check_tells_each_reference_by_its_own_folder_and_root(project: Path) -> None:
    (project / "imgsync.toml").write_text('site_root = "static"\n', encoding="utf-8")
    icon_three_times = "![x](icon.png)\n" * 3
    (project / "a" / "page.md").write_text(icon_three_times + "![y](gone.png)\n" * 2)
    (project / "b" / "page.md").write_text(icon_three_times + "![y](gone.png)\n")
    (project / "a" / "typora.md").write_text("---\ntypora-root-url: ../b\n---\n![r](/pic.png)\n")
    (project / "a" / "plain.md").write_text("![r](/pic.png)\n")

    code, pending = check_json(project)

    assert code == 1
    for line in (1, 2, 3):
        assert pending[("a/page.md", line)] == ("not_uploaded", None)
        status, reason = pending[("b/page.md", line)]
        assert status == "missing" and reason is not None and "b/icon.png" in reason
    for line in (4, 5):
        status, reason = pending[("a/page.md", line)]
        assert status == "missing" and reason is not None and "a/gone.png" in reason
    assert pending[("b/page.md", 4)][0] == "missing"
    assert "b/gone.png" in str(pending[("b/page.md", 4)][1])
    status, reason = pending[("a/typora.md", 4)]
    assert status == "missing" and "typora-root-url (../b)" in str(reason)
    assert pending[("a/plain.md", 1)] == ("not_uploaded", None)
    assert len(pending) == 11
