"""The files a reference that names none probably meant, on real temp folders, and the
not-found messages built from them (images.resolve_target)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from imgsync.errors import ImageError
from imgsync.images import resolve_target
from imgsync.markdown.destinations import LocalTarget
from imgsync.nearest import Nearby, Suggestion, shown, without_quotes
from imgsync.scan import scan_markdown
from tests.images import png_bytes


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes())
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "blog"
    root.mkdir()
    monkeypatch.chdir(root)  # paths in messages are shown relative to where the user runs
    return root


def suggest(root: Path, written: str) -> list[Suggestion]:
    return Nearby(root).suggest(root / written)


def test_another_case_is_found_and_said(project: Path) -> None:
    meant = touch(project / "img" / "Photo.PNG")

    assert suggest(project, "img/photo.png") == [Suggestion(meant, "letters in another case")]


def test_a_folder_in_another_case_and_a_name_in_another_form_are_both_said(project: Path) -> None:
    nfd = unicodedata.normalize("NFD", "café.png")
    meant = touch(project / "Images" / nfd)

    (found,) = suggest(project, "images/" + unicodedata.normalize("NFC", "Café.png"))

    assert found.path == meant
    assert found.why == "letters in another case"  # each step says how it differs, once


def test_only_another_unicode_form_is_said_as_such(project: Path) -> None:
    # Both names are one character apart in case, so whole-path normalisation can't find it.
    meant = touch(project / unicodedata.normalize("NFD", "img/é") / "a.png")

    (found,) = suggest(project, unicodedata.normalize("NFC", "img/é") + "/a.png")

    assert found.path == meant
    assert found.why == "the same letters in another Unicode form"


def test_a_close_name_in_the_same_folder(project: Path) -> None:
    meant = touch(project / "img" / "diagram-final.png")
    touch(project / "img" / "unrelated.jpg")

    assert suggest(project, "img/diagram-finl.png") == [Suggestion(meant, "a close name")]


def test_the_same_name_in_another_folder_when_nothing_is_closer(project: Path) -> None:
    meant = touch(project / "static" / "images" / "lost.png")
    touch(project / ".git" / "lost.png")  # never suggested from the repository's insides

    assert suggest(project, "posts/lost.png") == [
        Suggestion(meant, "the same name in another folder")
    ]


def test_nothing_close_gives_nothing(project: Path) -> None:
    touch(project / "img" / "a.png")

    assert suggest(project, "img/zzzzzzzzzz.png") == []


def test_nothing_outside_the_project_is_listed_or_suggested(tmp_path: Path, project: Path) -> None:
    touch(tmp_path / "outside" / "Secret.png")
    (project / "out").symlink_to(tmp_path / "outside")
    nearby = Nearby(project)

    assert nearby.suggest(project / "out" / "secret.png") == []
    assert nearby.suggest(tmp_path / "outside" / "secret.png") == []
    assert nearby.folders_listed == 0


def test_each_folder_is_listed_once_per_run(project: Path) -> None:
    touch(project / "img" / "Photo.PNG")
    nearby = Nearby(project)

    for _ in range(5):
        nearby.suggest(project / "img" / "photo.png")

    assert nearby.folders_listed == 1  # img/, once; the project root was never needed


def test_curly_quotes_are_stripped_as_smart_quotes_typed_them() -> None:
    assert without_quotes("\u201dimg/x.png\u201d") == "img/x.png"
    assert without_quotes("\u2018x.png\u2019") == "x.png"
    assert without_quotes("img/x.png") is None


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ("---\ntitle: t\ntypora-root-url: ../static\n---\n", "../static"),
        ("---\ntypora-root-url: ./\n---\n", "./"),
        ('---\ntypora-root-url: "/Users/me/blog"\n---\n', "/Users/me/blog"),
        ("---\ntitle: t\n---\ntypora-root-url: ../static\n", None),  # in the body: not it
        ("# no front matter\n", None),
    ],
)
def test_typora_root_url_is_read_from_front_matter_only(front: str, expected: str | None) -> None:
    scanned = scan_markdown(front + "![a](/images/a.png)\n")

    assert scanned.typora_root == expected
    assert [ref.url for ref in scanned.refs] == ["/images/a.png"]  # the key is no image field


def test_paths_are_shown_normalised_and_relative_to_where_the_user_runs(project: Path) -> None:
    assert shown(project / "docs" / ".." / "img" / "a.png") == "img/a.png"
    assert shown(project.parent / "elsewhere.png") == str(project.parent / "elsewhere.png")


# --- the not-found messages -----------------------------------------------------------


def not_found(project: Path, written: str, post: str = "docs/post.md", site: str = "") -> str:
    with pytest.raises(ImageError) as caught:
        resolve_target(LocalTarget(written, ""), project / post, project, project / site)
    return caught.value.reason


def test_a_case_mismatch_says_which_file(project: Path) -> None:
    touch(project / "docs" / "img" / "Photo.PNG")

    reason = not_found(project, "img/photo.png")

    assert reason == (
        "not found (looked for docs/img/photo.png); "
        "did you mean docs/img/Photo.PNG (letters in another case)?"
    )


def test_a_curly_quote_in_html_is_named_and_the_file_offered(project: Path) -> None:
    touch(project / "docs" / "x.png")

    reason = not_found(project, "\u201dx.png\u201d")

    assert reason == (
        "not found (looked for docs/\u201dx.png\u201d); the name holds curly quotes (\u201d), "
        'typed by smart quotes for straight ones: write straight quotes (") or none; '
        "did you mean docs/x.png (without the quotes)?"
    )


def test_a_rooted_path_keeps_its_slash_and_names_site_root(project: Path) -> None:
    (project / "static").mkdir()

    reason = not_found(project, "/images/a.png", site="static")

    assert reason == (
        "not found under site_root static/ (looked for static/images/a.png); "
        "fix the reference, or put the file there"
    )


def typora_not_found(project: Path, written: str, typora_root: str) -> str:
    with pytest.raises(ImageError) as caught:
        resolve_target(
            LocalTarget(written, ""),
            project / "docs" / "post.md",
            project,
            project,
            typora_root=typora_root,
        )
    return caught.value.reason


def test_a_rooted_path_is_found_under_typora_root_url_not_site_root(project: Path) -> None:
    touch(project / "static" / "images" / "a.png")
    (project / "docs").mkdir()
    post = project / "docs" / "post.md"

    found = resolve_target(
        LocalTarget("/images/a.png", ""), post, project, project, typora_root="../static"
    )

    assert found == (project / "static" / "images" / "a.png").resolve()
    same_folder = resolve_target(
        LocalTarget("/a.png", ""), post, project, project, typora_root="../static/images/"
    )
    assert same_folder == found


def test_a_typora_root_url_out_of_the_project_is_refused(project: Path) -> None:
    (project / "docs").mkdir()
    for root in ("../..", "/etc"):
        with pytest.raises(ImageError) as caught:
            resolve_target(
                LocalTarget("/passwd", ""),
                project / "docs" / "post.md",
                project,
                project,
                typora_root=root,
            )
        assert caught.value.reason.startswith("refused: it is outside the project")
        assert f"(where this post's typora-root-url, {root}, leads)" in caught.value.reason
        assert not caught.value.missing


def test_a_file_under_site_root_but_not_typora_root_url_is_offered(project: Path) -> None:
    touch(project / "images" / "a.png")
    (project / "docs").mkdir()

    reason = typora_not_found(project, "/images/a.png", "../static")

    assert reason == (
        "not found under this post's typora-root-url (../static) (looked for "
        "static/images/a.png); did you mean images/a.png (under site_root, which "
        "typora-root-url replaces)?"
    )


@pytest.mark.parametrize("exists", [True, False])
def test_a_path_that_leaves_the_project_is_called_that_not_missing(
    tmp_path: Path, project: Path, exists: bool
) -> None:
    if exists:
        touch(tmp_path / "x.png")

    with pytest.raises(ImageError) as caught:
        resolve_target(LocalTarget("../../x.png", ""), project / "docs" / "p.md", project, project)

    assert caught.value.reason == (
        f"refused: it is outside the project ({project}), at {tmp_path / 'x.png'}; "
        "only files under it are uploaded"
    )
    assert not caught.value.missing and "not found" not in caught.value.reason


def test_a_link_out_of_the_project_is_called_a_link(tmp_path: Path, project: Path) -> None:
    (project / "docs").mkdir()
    (project / "docs" / "out.png").symlink_to(tmp_path / "nowhere.png")  # dangling, and out

    with pytest.raises(ImageError) as caught:
        resolve_target(LocalTarget("out.png", ""), project / "docs" / "p.md", project, project)

    assert caught.value.reason.startswith("refused: it is a link that points outside the project")


def test_a_missing_file_is_marked_missing_and_an_existing_one_resolves(project: Path) -> None:
    touch(project / "docs" / "a.png")

    assert not_found(project, "b.png").startswith("not found (looked for docs/b.png)")
    assert resolve_target(
        LocalTarget("a.png", ""), project / "docs" / "p.md", project, project
    ) == (project / "docs" / "a.png")
    with pytest.raises(ImageError) as caught:
        resolve_target(LocalTarget("b.png", ""), project / "docs" / "p.md", project, project)
    assert caught.value.missing


def test_no_folder_is_listed_for_a_file_that_is_found(project: Path) -> None:
    touch(project / "docs" / "a.png")
    nearby = Nearby(project)

    resolve_target(
        LocalTarget("a.png", ""), project / "docs" / "p.md", project, project, nearby=nearby
    )

    assert nearby.folders_listed == 0


@pytest.mark.parametrize("written", ["a\0b.png", "/a\0.png"])
def test_a_nul_in_the_name_is_a_missing_file_not_a_crash(project: Path, written: str) -> None:
    with pytest.raises(ImageError) as caught:
        resolve_target(LocalTarget(written, ""), project / "p.md", project, project)

    assert caught.value.reason == "no file can have this name: it holds a NUL character"
    assert caught.value.missing


def test_a_nul_in_typora_root_url_is_said_not_a_crash(project: Path) -> None:
    # A pull request writes the front matter: the lookup under it must not raise.
    (project / "docs").mkdir()

    reason = typora_not_found(project, "/images/a.png", "a\0b")

    assert "this post's typora-root-url names no folder: it holds a NUL character" in reason
