"""Per-file stamps: trusted while a file is unchanged, confirmed by its bytes when too recent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imgsync.errors import CacheError
from imgsync.state import stamps as stamps_module
from imgsync.state.stamps import RACY_SECONDS, STATE_NAME, ImageFacts, Stamps
from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
LATER = int(RACY_SECONDS * 1e9) + 10**9  # nanoseconds: well past the racy window


def aged(path: Path, text: str) -> os.stat_result:
    path.write_text(text)
    return path.stat()


def time_passes(stamps: Stamps) -> None:
    """As if each stamp had been taken well after its file last changed (ctime can't be
    set back, so the stamps are moved forward instead)."""
    for key, text in stamps._markdown.items():
        stamps._markdown[key] = seen_moved(text, LATER)
    for entry in stamps._images.values():
        entry[4] += LATER


def seen_moved(entry: str, by: int) -> str:
    """A stored Markdown stamp ("size mtime inode ctime seen md5") seen `by` ns later."""
    fields = entry.split(" ")
    fields[4] = str(int(fields[4]) + by)
    return " ".join(fields)


def reloaded(stamps: Stamps, folder: Path) -> Stamps:
    stamps.save()
    return Stamps.load(folder)


def test_a_clean_file_stays_clean_while_unchanged(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    st = aged(post, "# no images\n")
    stamps = Stamps.load(tmp_path / ".imgsync")
    assert not stamps.is_clean(post, st)
    stamps.note_clean(post, st, post.read_bytes())
    time_passes(stamps)

    again = reloaded(stamps, tmp_path / ".imgsync")

    assert again.is_clean(post, post.stat())
    post.write_text("# no images\n![a](a.png)\n")
    assert not again.is_clean(post, post.stat())


def test_an_old_stamp_is_trusted_without_reading_the_file(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    st = aged(post, "# no images\n")
    stamps = Stamps.load(tmp_path)
    stamps.note_clean(post, st, b"other bytes, as if the file had changed unseen")
    time_passes(stamps)

    # Not racy: the stamp is believed (which is why racy ones are checked by content).
    assert stamps.is_clean(post, post.stat())


def test_a_racy_stamp_is_confirmed_by_the_bytes(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_text("# fresh\n")  # mtime now: any stamp of it is racy
    stamps = Stamps.load(tmp_path)
    stamps.note_clean(post, post.stat(), b"# other\n")  # same size, other bytes
    assert not stamps.is_clean(post, post.stat())

    stamps.note_clean(post, post.stat(), post.read_bytes())
    assert stamps.is_clean(post, post.stat())


def test_racy_means_within_the_window_of_the_file_times(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_text("x\n")
    window = int(RACY_SECONDS * 1e9)
    for age, racy in ((0, True), (window - 10**6, True), (window + 10**6, False)):
        st = post.stat()
        stamps = Stamps.load(tmp_path)
        stamps.note_clean(post, st, b"not the bytes")
        key = os.path.abspath(post)
        fields = stamps._markdown[key].split(" ")
        fields[4] = str(max(st.st_mtime_ns, st.st_ctime_ns) + age)  # seen this long after
        stamps._markdown[key] = " ".join(fields)
        assert stamps.is_clean(post, st) is not racy


def test_image_facts_are_kept_while_the_image_is_unchanged(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())
    facts = ImageFacts(image.stat().st_size, "0" * 32, "1" * 64, ".png", "image/png")
    stamps = Stamps.load(tmp_path)
    stamps.note_image(image, image.stat(), facts)
    assert stamps.image(image, image.stat()) is None  # racy: hashed again to be sure
    time_passes(stamps)

    again = reloaded(stamps, tmp_path)

    assert again.image(image, image.stat()) == facts
    image.write_bytes(png_bytes(rgb=(1, 2, 3)))
    assert again.image(image, image.stat()) is None


def test_a_damaged_or_foreign_state_file_is_started_afresh(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    st = aged(post, "x\n")
    for text in ("not json", "[]", '{"version": 99, "markdown": {}, "images": {}}'):
        (tmp_path / STATE_NAME).write_text(text)
        stamps = Stamps.load(tmp_path)
        assert not stamps.is_clean(post, st)
        stamps.note_clean(post, st, post.read_bytes())
        stamps.save()
        document = json.loads((tmp_path / STATE_NAME).read_text())
        assert document["version"] == 2 and list(document["markdown"]) == [str(post)]


def test_a_file_edited_after_a_sync_is_read_again(tmp_path: Path) -> None:
    (tmp_path / "imgsync.toml").write_text(
        '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )
    (tmp_path / "a.png").write_bytes(png_bytes())
    (tmp_path / "b.png").write_bytes(png_bytes(rgb=(9, 9, 9)))
    post = tmp_path / "post.md"
    post.write_text("![a](a.png)\n")
    with FakeLsky(rate_limit=None) as host:
        env = {**os.environ, "LSKY_BASE_URL": host.url, "LSKY_TOKEN": host.token or ""}

        def sync() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [IMGSYNC, "."], cwd=tmp_path, env=env, text=True, capture_output=True
            )

        assert sync().returncode == 0
        state = json.loads((tmp_path / ".imgsync" / STATE_NAME).read_text())
        assert str(post) in state["markdown"]  # stamped clean after its rewrite
        assert "lsky" not in (tmp_path / ".imgsync" / STATE_NAME).read_text()  # not the cache
        post.write_text(post.read_text() + "![b](b.png)\n")
        done = sync()

    assert done.returncode == 0, done.stderr
    assert len(host.uploads) == 2
    assert "b.png" not in post.read_text()


def test_a_state_folder_or_file_linked_outside_is_an_error_and_gets_nothing(
    tmp_path: Path,
) -> None:
    outside, project = tmp_path / "outside", tmp_path / "repo"
    outside.mkdir()
    project.mkdir()
    (outside / STATE_NAME).write_text('{"version": 1}')
    (project / ".imgsync").symlink_to(outside)
    (project / "other").mkdir()
    (project / "other" / STATE_NAME).symlink_to(outside / STATE_NAME)

    for state_dir, how in [(".imgsync", "is in a linked folder"), ("other", "is a symbolic link")]:
        with pytest.raises(CacheError) as caught:
            Stamps.load(project / state_dir, project=project)
        assert caught.value.path == project / state_dir / STATE_NAME
        assert caught.value.reason.startswith(f"refused: it {how} that leads outside {project}")
        assert caught.value.reason.endswith(
            f"; remove the link: imgsync makes {state_dir}/ itself, never committed"
        )
    assert os.listdir(outside) == [STATE_NAME]


def test_a_racy_stamp_never_reads_a_file_that_leads_outside(tmp_path: Path) -> None:
    outside, project = tmp_path / "outside", tmp_path / "repo"
    outside.mkdir()
    project.mkdir()
    post = project / "post.md"
    post.symlink_to(outside / "post.md")
    st = aged(outside / "post.md", "# no images\n")
    stamps = Stamps.load(project / ".imgsync", project=project)
    stamps.note_clean(post, st, b"# no images\n")  # as a committed stamps.json could say

    assert not stamps.is_clean(post, post.stat())


def test_a_stamp_stored_in_other_number_types_reads_as_before(tmp_path: Path) -> None:
    # The quick test of a clean file says no to what it doesn't expect; MarkdownStamp then
    # reads the entry as it always did (numbers as strings included), or drops it.
    post = tmp_path / "post.md"
    st = aged(post, "# no images\n")
    stamps = Stamps.load(tmp_path)
    stamps.note_clean(post, st, post.read_bytes())
    time_passes(stamps)
    key = os.path.abspath(post)
    entry = stamps._markdown[key]
    size, *rest = entry.split(" ")
    stamps._markdown[key] = " ".join(["+0" + size, *rest])  # int() reads it the same
    assert stamps.is_clean(post, st)
    for damaged in (
        [{"size": 1}],  # stamps of version 1 were lists
        entry.rsplit(" ", 1)[0],  # no MD5
        entry.replace(" ", "  ", 1),
        " ".join([size, *rest[:3], "later", rest[4]]),
        entry + " more",
    ):
        stamps._markdown[key] = damaged  # type: ignore[assignment]
        assert not stamps.is_clean(post, st), damaged


@pytest.mark.parametrize(
    "path",
    [
        "/a/b.md",
        "/a/./b.md",
        "/a/../b.md",
        "/a//b.md",
        "//a/b.md",
        "/a/b/",
        "/a/.hidden/b.md",
        "/a/b..md",
        "relative/b.md",
        "./b.md",
        "../b.md",
        "/",
    ],
)
def test_stamps_are_kept_by_the_absolute_normal_path(path: str) -> None:
    assert stamps_module._key(path) == os.path.abspath(path)
    assert stamps_module._key(Path(path)) == os.path.abspath(Path(path))
