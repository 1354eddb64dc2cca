"""The pipeline (pipeline.py) in-process: check and sync on real trees against a loopback host."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.cache import UploadCache
from imgsync.config import Settings, load_settings
from imgsync.pipeline import check, sync
from imgsync.progress import Progress
from imgsync.render import sync_summary
from imgsync.report import Location
from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

TOKEN = "5|pipelineTokenNeverShownAnywhere00000000000"


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLsky]:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    with FakeLsky(token=TOKEN) as server:
        yield server


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Two posts, three references to two distinct images (one under two names), one missing."""
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(png_bytes(rgb=(1, 2, 3)))
    (tmp_path / "img" / "copy-of-a.png").write_bytes(png_bytes(rgb=(1, 2, 3)))
    (tmp_path / "img" / "b.png").write_bytes(png_bytes(rgb=(4, 5, 6)))
    (tmp_path / "one.md").write_text("# One\n\n![a](img/a.png)\n\n```\n![code](img/b.png)\n```\n")
    (tmp_path / "two.md").write_text(
        "![b](img/b.png)\n![same](img/copy-of-a.png)\n![x](gone.png)\n"
    )
    (tmp_path / "plain.md").write_text("No images here.\n")
    return tmp_path


def settings(root: Path, host: FakeLsky) -> Settings:
    return load_settings(cwd=root, env={"LSKY_BASE_URL": host.url, "LSKY_TOKEN": TOKEN})


def test_check_lists_each_local_reference_where_it_stands_and_sends_nothing(
    tree: Path, host: FakeLsky
) -> None:
    report = check([tree], settings(tree, host))

    assert [(p.where, p.reference) for p in report.pending] == [
        (Location(tree / "one.md", 3), "img/a.png"),
        (Location(tree / "two.md", 1), "img/b.png"),
        (Location(tree / "two.md", 2), "img/copy-of-a.png"),
        (Location(tree / "two.md", 3), "gone.png"),
    ]
    assert report.files_scanned == 3 and report.exit_status() == 1
    assert host.uploads == []


def test_sync_uploads_each_distinct_image_once_and_rewrites_only_destinations(
    tree: Path, host: FakeLsky
) -> None:
    report = sync([tree], settings(tree, host))

    assert len(host.uploads) == 2  # a.png and copy-of-a.png are the same bytes
    one, two = (tree / "one.md").read_text(), (tree / "two.md").read_text()
    url_a = next(up.url for up in report.uploaded if up.image.name == "a.png")
    assert one == f"# One\n\n![a]({url_a})\n\n```\n![code](img/b.png)\n```\n"
    assert two.endswith(f"![same]({url_a})\n![x](gone.png)\n")
    assert report.links_rewritten == 3 and sorted(report.files_changed) == [
        tree / "one.md",
        tree / "two.md",
    ]
    [failure] = report.failures
    assert failure.where == Location(tree / "two.md", 3) and failure.image == "gone.png"
    assert report.exit_status() == 3
    recorded = UploadCache.open(tree / ".imgsync-cache.json").entries_for(f"lsky {host.url}")
    assert sorted(entry.url for entry in recorded.values()) == sorted(
        up.url for up in report.uploaded
    )


def test_a_second_sync_reads_no_markdown_and_needs_no_host(tree: Path, host: FakeLsky) -> None:
    (tree / "two.md").write_text("![b](img/b.png)\n")  # nothing missing: the tree gets clean
    sync([tree], settings(tree, host))
    mtimes = {p: os.stat(p).st_mtime_ns for p in tree.glob("*.md")}
    made: list[Progress] = []

    def progress() -> Progress:
        made.append(Progress(quiet=True))
        return made[-1]

    again = sync([tree], settings(tree, host), progress=progress)

    assert sync_summary(again) == "nothing to do: no local images in 3 file(s)"
    assert made == []  # no image to look up: no progress display was even made
    assert len(host.uploads) == 2
    assert {p: os.stat(p).st_mtime_ns for p in tree.glob("*.md")} == mtimes


def test_a_dry_run_tells_what_would_happen_and_changes_nothing(tree: Path, host: FakeLsky) -> None:
    before = {p: p.read_bytes() for p in tree.glob("*.md")}

    report = sync([tree], settings(tree, host), dry_run=True)

    assert sorted(p.name for p in report.would_upload) == ["a.png", "b.png"]
    assert len(report.pending) == 3 and report.exit_status() == 3  # gone.png failed
    assert host.uploads == [] and not (tree / ".imgsync-cache.json").exists()
    assert {p: p.read_bytes() for p in tree.glob("*.md")} == before


def test_each_rewritten_file_is_told_with_the_bytes_written(tree: Path, host: FakeLsky) -> None:
    heard: dict[Path, bytes] = {}

    sync([tree], settings(tree, host), on_written=heard.__setitem__)

    assert heard == {p: p.read_bytes() for p in (tree / "one.md", tree / "two.md")}
