"""The run memo: a `sync` or `check` with nothing to do, run again unchanged, is answered from
its memo, with the same output and exit status; any change it rests on sends the run the
whole way. Through the real console script, on real folders."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest

from imgsync import run_memo, run_memo_write
from imgsync.cli import main
from imgsync.state.stamps import RACY_SECONDS

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
CONFIG = '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
TOKEN = "1|memoTokenNeverStored0123456789abcdefghij"
# No host is reached: a tree with no local image needs none.
ENV = {
    **os.environ,
    "LSKY_BASE_URL": "http://127.0.0.1:9/api/v1",
    "LSKY_TOKEN": TOKEN,
    "CI": "true",
}
TREES = 40  # aged trees made at once: each test takes its own


class Ran(NamedTuple):
    code: int
    out: str
    err: str
    answered: bool  # by the memo: imgsync's command line was never imported


def imgsync(root: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    """The console script, run with -X importtime: a run answered by its memo never
    imports imgsync.cli."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", IMGSYNC, *args],
        cwd=root,
        env=ENV if env is None else env,
        capture_output=True,
        text=True,
    )
    lines = done.stderr.splitlines(keepends=True)
    imports = [line for line in lines if line.startswith("import time:")]
    said = "".join(line for line in lines if not line.startswith("import time:"))
    loaded_cli = any(line.rstrip().endswith("| imgsync.cli") for line in imports)
    assert any(line.rstrip().endswith("imgsync.launch") for line in imports), done.stderr
    return Ran(done.returncode, done.stdout, said, not loaded_cli)


def write_tree(root: Path) -> None:
    (root / "imgsync.toml").write_text(CONFIG)
    (root / "docs" / "guide").mkdir(parents=True)
    (root / "docs" / "intro.md").write_text("# Intro\n\n![remote](https://example.com/a.png)\n")
    (root / "docs" / "guide" / "setup.md").write_text("Set up.\n\n[a link](other.md)\n")
    (root / "README.md").write_text("```md\n![quoted](local.png)\n```\n")
    # A link with a Markdown name to a folder: passed over while the folder is there.
    (root / ".hidden" / "folder").mkdir(parents=True)
    (root / "docs" / "notes.md").symlink_to("../.hidden/folder")
    # A config named through a link (`--config .cfg/link.toml`), and another one.
    (root / ".cfg").mkdir()
    (root / ".cfg" / "link.toml").symlink_to("../imgsync.toml")
    (root / "other.toml").write_text(CONFIG.replace("[hosts", 'exclude = ["docs/**"]\n\n[hosts'))
    # A config whose `paths` go through a link: `content/docs` -> `.alt/src` (no image).
    (root / ".alt" / "src").mkdir(parents=True)
    (root / ".alt" / "src" / "a.md").write_text("# A\n")
    (root / ".alt" / "src2").mkdir()
    (root / ".alt" / "src2" / "a.md").write_text("![a](local.png)\n")
    (root / "content").mkdir()
    (root / "content" / "docs").symlink_to("../.alt/src")
    (root / "paths.toml").write_text(CONFIG.replace("[hosts", 'paths = ["content/docs"]\n\n[hosts'))


@pytest.fixture(scope="module")
def aged_trees(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Path]]:
    """Trees written, and synced once, more than RACY_SECONDS ago: a run over them may leave
    a memo (one changed closer to the run never does). Made together, to wait once."""
    made = [tmp_path_factory.mktemp(f"memo-{n}") for n in range(TREES)]
    for root in made:
        write_tree(root)
        # What a config moved up leaves: a memo of `check .` in docs/ that would hide the
        # project's (test_a_stale_memo_in_a_folder_below_is_removed).
        name = run_memo.memo_name(os.path.realpath(root / "docs"), ["check", "."])
        (root / "docs" / ".imgsync" / run_memo.FOLDER).mkdir(parents=True)
        (root / "docs" / ".imgsync" / run_memo.FOLDER / name).write_bytes(b"an older layout's")
    with ThreadPoolExecutor(4) as pool:
        assert all(ran.code == 0 for ran in pool.map(lambda root: imgsync(root, "sync", "."), made))
    time.sleep(RACY_SECONDS + 0.3)
    yield made.pop


def memos(root: Path) -> list[Path]:
    runs = root / ".imgsync" / run_memo.FOLDER
    return sorted(runs.iterdir()) if runs.is_dir() else []


@pytest.mark.parametrize("command", [["sync", "."], ["check", "."], ["check", "--json", "docs"]])
def test_the_same_run_again_is_answered_by_its_memo(
    aged_trees: Callable[[], Path], command: list[str]
) -> None:
    root = aged_trees()
    full = imgsync(root, *command)
    assert full.code == 0 and not full.answered
    assert len(memos(root)) == 1
    again = imgsync(root, *command)
    assert again.answered
    assert (again.code, again.out, again.err) == (full.code, full.out, full.err)
    assert full.out + full.err


def _append_local_image(root: Path) -> None:
    with (root / "docs" / "intro.md").open("a") as page:
        page.write("\n![new](new.png)\n")


def _new_page_in_new_folder(root: Path) -> None:
    (root / "docs" / "new").mkdir()
    (root / "docs" / "new" / "page.md").write_text("![new](new.png)\n")


def _same_size_and_mtime_other_bytes(root: Path) -> None:
    page = root / "docs" / "guide" / "setup.md"
    before = page.stat()
    text = page.read_text()
    page.write_text(text.replace("[a link](other.md)", "![a ln](other.png)"))
    assert page.stat().st_size == before.st_size
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))  # only ctime tells


def _renamed_over_by_other_bytes(root: Path) -> None:
    page = root / "docs" / "guide" / "setup.md"
    other = page.with_name("setup.tmp")
    other.write_text(page.read_text().replace("[a link](other.md)", "![a ln](other.png)"))
    os.replace(other, page)


def _config_excludes_docs(root: Path) -> None:
    (root / "imgsync.toml").write_text(CONFIG.replace("[hosts", 'exclude = ["docs/**"]\n\n[hosts'))


def _stamps_damaged(root: Path) -> None:
    (root / ".imgsync" / "stamps.json").write_text("{not json")


def _memo_cut_short(root: Path) -> None:
    (memo,) = memos(root)
    memo.write_bytes(memo.read_bytes()[:-40])


def _touched(root: Path) -> None:
    os.utime(root / "README.md")


def _made_unreadable_then_readable(root: Path) -> None:
    page = root / "README.md"
    page.chmod(0o200)
    page.chmod(0o644)  # the mode is as before; the inode's ctime is not


def _pyproject_appears(root: Path) -> None:
    (root / "pyproject.toml").write_text('[tool.imgsync]\ninclude = ["README.md"]\n')


def _linked_folder_becomes_a_file(root: Path) -> None:
    (root / ".hidden" / "folder").rmdir()
    (root / ".hidden" / "folder").write_text("![a](local.png)\n")


def _output_edited_in_the_memo(root: Path) -> None:
    (memo,) = memos(root)
    memo.write_bytes(memo.read_bytes().replace(b"in 3 file(s)", b"in 7 file(s)"))


def _state_file_appears(root: Path) -> None:
    (root / ".imgsync" / "albums.json").write_text("{}")


def _linked_folder_of_the_config_moved(root: Path) -> None:
    os.replace(root / ".cfg", root / ".cfg-moved")
    (root / ".cfg").symlink_to(".cfg-moved")


# (change, exit status of the full run after it, text its output must hold)
CHANGES = [
    (_append_local_image, 1, "new.png"),
    (_new_page_in_new_folder, 1, "docs/new/page.md:1"),
    (_same_size_and_mtime_other_bytes, 1, "other.png"),
    (_renamed_over_by_other_bytes, 1, "other.png"),
    (_config_excludes_docs, 0, "in 1 file(s)"),
    (_stamps_damaged, 0, "in 3 file(s)"),
    (_memo_cut_short, 0, "in 3 file(s)"),
    (_touched, 0, "in 3 file(s)"),
    (_made_unreadable_then_readable, 0, "in 3 file(s)"),
    (_pyproject_appears, 0, "in 3 file(s)"),
    (_linked_folder_becomes_a_file, 1, "docs/notes.md:1"),
    (_output_edited_in_the_memo, 0, "in 3 file(s)"),
    (_state_file_appears, 0, "in 3 file(s)"),
    (_linked_folder_of_the_config_moved, 0, "in 3 file(s)"),
]


@pytest.mark.parametrize(
    ("change", "status", "said"), CHANGES, ids=[c[0].__name__ for c in CHANGES]
)
def test_a_change_it_rests_on_sends_the_run_the_whole_way(
    aged_trees: Callable[[], Path], change: Callable[[Path], None], status: int, said: str
) -> None:
    root = aged_trees()
    assert not imgsync(root, "check", ".").answered
    assert imgsync(root, "check", ".").answered
    change(root)
    after = imgsync(root, "check", ".")
    assert not after.answered
    assert after.code == status, after
    assert said in after.out + after.err


def test_a_run_that_finds_work_removes_the_memo_and_a_racy_one_writes_none(
    aged_trees: Callable[[], Path],
) -> None:
    root = aged_trees()
    imgsync(root, "check", ".")
    assert len(memos(root)) == 1
    _append_local_image(root)
    assert imgsync(root, "check", ".").code == 1
    assert memos(root) == []
    page = root / "docs" / "intro.md"
    page.write_text(page.read_text().replace("![new](new.png)", "no image"))
    for _ in range(2):  # the page changed within RACY_SECONDS of these runs: never a memo
        ran = imgsync(root, "check", ".")
        assert ran.code == 0 and not ran.answered
    assert memos(root) == []


def test_the_environment_is_part_of_the_memo_but_the_shells_bookkeeping_is_not(
    aged_trees: Callable[[], Path],
) -> None:
    root = aged_trees()
    imgsync(root, "check", ".")
    assert imgsync(root, "check", ".", env={**ENV, "OLDPWD": "/elsewhere", "SHLVL": "7"}).answered
    other = imgsync(root, "check", ".", env={**ENV, "NO_COLOR": "1"})
    assert not other.answered and other.code == 0
    assert imgsync(root, "check", ".", env={**ENV, "NO_COLOR": "1"}).answered


def test_each_command_line_and_folder_has_its_own_memo(aged_trees: Callable[[], Path]) -> None:
    root = aged_trees()
    for _ in range(2):
        imgsync(root, "check", ".")
        imgsync(root, "sync", ".")
        imgsync(root / "docs", "check", ".")
    assert len(memos(root)) == 3
    below = imgsync(root / "docs", "check", ".")
    assert below.answered and "in 2 file(s)" in below.out + below.err


def test_the_memo_holds_no_secret_and_no_setting(aged_trees: Callable[[], Path]) -> None:
    root = aged_trees()
    imgsync(root, "check", ".")
    (memo,) = memos(root)
    held = memo.read_bytes()
    assert held.startswith(run_memo.FORMAT + b"\0")
    assert TOKEN.encode() not in held and b"127.0.0.1:9" not in held
    assert b"LSKY" not in held


def test_a_project_keeps_a_few_memos(
    aged_trees: Callable[[], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = aged_trees()
    monkeypatch.chdir(root)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    for n in range(run_memo_write.KEEP + 4):  # a pre-commit hook: a list of files each time
        assert main(["check", "README.md", *(["docs/intro.md"] * n)]) == 0
    assert len(memos(root)) == run_memo_write.KEEP


def test_a_damaged_memo_is_a_full_run(aged_trees: Callable[[], Path]) -> None:
    root = aged_trees()
    full = imgsync(root, "check", ".")
    (memo,) = memos(root)
    held = memo.read_bytes()
    for damaged in (b"", held.replace(b"\0s 0\0", b"\0s x\0"), held + b"x\0"):
        memo.write_bytes(damaged)
        ran = imgsync(root, "check", ".")
        assert (ran.code, ran.out, ran.err) == (full.code, full.out, full.err)
        assert not ran.answered


def test_a_changed_imgsync_answers_anew(
    aged_trees: Callable[[], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = Path(run_memo.__file__).parent
    monkeypatch.setattr(run_memo, "__file__", str(tmp_path / "imgsync" / "run_memo.py"))
    shutil.copytree(package, tmp_path / "imgsync", ignore=shutil.ignore_patterns("__pycache__"))
    before = run_memo.identity("/p", ["check"], {})
    assert before == run_memo.identity("/p", ["check"], {})
    (tmp_path / "imgsync" / "render.py").write_text("# changed\n")
    assert run_memo.identity("/p", ["check"], {}) != before


def test_records_are_read_across_chunks() -> None:
    records = [b"x" * n for n in (0, 1, 70_000, 5, 65_535, 3)]
    data = b"".join(record + b"\0" for record in records)
    assert list(run_memo._records(io.BytesIO(data))) == records


def test_a_config_named_through_a_link_that_is_moved(aged_trees: Callable[[], Path]) -> None:
    root = aged_trees()
    command = ["check", "--config", ".cfg/link.toml", "."]
    imgsync(root, *command)
    assert imgsync(root, *command).answered
    (root / ".cfg" / "link.toml").unlink()
    (root / ".cfg" / "link.toml").symlink_to("../other.toml")  # docs/** excluded
    after = imgsync(root, *command)
    assert not after.answered and "in 1 file(s)" in after.out + after.err


def test_a_closed_stream_is_answered_as_a_full_run_answers(aged_trees: Callable[[], Path]) -> None:
    root = aged_trees()
    imgsync(root, "check", ".")

    def closed_stderr(memo: bool) -> tuple[int, str]:
        if not memo:
            shutil.rmtree(root / ".imgsync" / run_memo.FOLDER, ignore_errors=True)
        done = subprocess.run(
            [sys.executable, IMGSYNC, "check", "."],
            cwd=root,
            env=ENV,
            stdout=subprocess.PIPE,
            preexec_fn=lambda: os.close(2),  # the child's stderr closed
            text=True,
        )
        return done.returncode, done.stdout

    full = closed_stderr(memo=False)
    closed_stderr(memo=False)  # leaves a memo, stderr closed
    assert closed_stderr(memo=True) == full


def test_a_stale_memo_in_a_folder_below_is_removed(aged_trees: Callable[[], Path]) -> None:
    root = aged_trees()
    docs = root / "docs"
    (stale,) = (docs / ".imgsync" / run_memo.FOLDER).iterdir()
    assert not imgsync(docs, "check", ".").answered
    assert not stale.exists()
    assert [memo.name for memo in memos(root)] == [stale.name]
    assert imgsync(docs, "check", ".").answered


def test_a_linked_memo_folder_is_never_written_through(
    aged_trees: Callable[[], Path], tmp_path: Path
) -> None:
    root = aged_trees()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    kept = [elsewhere / f"{n:024x}" for n in range(run_memo_write.KEEP + 4)]
    for file in kept:
        file.write_text("not imgsync's")
    shutil.rmtree(root / ".imgsync" / run_memo.FOLDER, ignore_errors=True)
    (root / ".imgsync" / run_memo.FOLDER).symlink_to(elsewhere)
    for _ in range(2):
        ran = imgsync(root, "check", ".")
        assert ran.code == 0 and not ran.answered
    assert sorted(elsewhere.iterdir()) == kept


def test_a_link_planted_as_a_memo_is_neither_read_nor_written_through(
    aged_trees: Callable[[], Path], tmp_path: Path
) -> None:
    root = aged_trees()
    imgsync(root, "check", ".")
    (memo,) = memos(root)
    target = tmp_path / "target"
    target.write_bytes(memo.read_bytes())
    target.chmod(0o600)
    memo.unlink()
    memo.symlink_to(target)
    before = target.stat()
    ran = imgsync(root, "check", ".")
    assert not ran.answered and ran.code == 0
    assert not memo.is_symlink()  # replaced by the memo written: the link's target untouched
    assert (target.stat().st_mtime_ns, target.stat().st_ino) == (before.st_mtime_ns, before.st_ino)


def test_a_memo_is_read_only_if_this_user_alone_may_read_it(
    aged_trees: Callable[[], Path],
) -> None:
    root = aged_trees()
    imgsync(root, "check", ".")
    (memo,) = memos(root)
    assert memo.stat().st_mode & 0o777 == 0o600
    assert (root / ".imgsync" / run_memo.FOLDER).stat().st_mode & 0o777 == 0o700
    memo.chmod(0o644)  # as git checks a file out: a pull request's memo
    ran = imgsync(root, "check", ".")
    assert not ran.answered and ran.code == 0


def test_a_fifo_in_place_of_a_memo_stalls_nothing(aged_trees: Callable[[], Path]) -> None:
    root = aged_trees()
    imgsync(root, "check", ".")
    (memo,) = memos(root)
    memo.unlink()
    os.mkfifo(memo)
    ran = imgsync(root, "check", ".")  # a blocking open would never return
    assert not ran.answered and ran.code == 0


def test_a_record_longer_than_any_memo_holds_is_not_read_on() -> None:
    with pytest.raises(ValueError, match="too long"):
        list(run_memo._records(io.BytesIO(b"x" * (run_memo.MAX_RECORD + 2 * (1 << 16)))))


def test_the_home_folder_is_recorded_by_its_state_alone(aged_trees: Callable[[], Path]) -> None:
    root = aged_trees()
    home = root / ".hidden"  # a folder as old as the tree
    env = {**ENV, "HOME": str(home)}
    imgsync(root, "check", ".", env=env)
    assert imgsync(root, "check", ".", env=env).answered
    (memo,) = memos(root)
    assert str(home).encode() not in memo.read_bytes()
    (home / "new").mkdir()  # its state changed
    assert not imgsync(root, "check", ".", env=env).answered


def test_a_link_the_config_names_on_the_way_is_followed_again(
    aged_trees: Callable[[], Path],
) -> None:
    root = aged_trees()
    command = ["check", "--config", "paths.toml"]
    assert imgsync(root, *command).code == 0
    assert imgsync(root, *command).answered
    (root / "content" / "docs").unlink()
    (root / "content" / "docs").symlink_to("../.alt/src2")
    after = imgsync(root, *command)
    assert not after.answered and after.code == 1 and "local.png" in after.out + after.err


def test_an_installed_or_removed_package_answers_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    before = run_memo.identity("/p", ["check"], {})
    (tmp_path / "PIL").mkdir()
    assert run_memo.identity("/p", ["check"], {}) != before
