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
from pathlib import Path
from typing import NamedTuple

import pytest

from imgsync import run_memo
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
TREES = 24  # aged trees made at once: each test takes its own


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


@pytest.fixture(scope="module")
def aged_trees(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Path]]:
    """Trees written, and synced once, more than RACY_SECONDS ago: a run over them may leave
    a memo (one changed closer to the run never does). Made together, to wait once."""
    made = []
    for n in range(TREES):
        root = tmp_path_factory.mktemp(f"memo-{n}")
        write_tree(root)
        assert imgsync(root, "sync", ".").code == 0
        made.append(root)
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
    for n in range(run_memo.KEEP + 4):  # a pre-commit hook: a list of files each time
        assert main(["check", "README.md", *(["docs/intro.md"] * n)]) == 0
    assert len(memos(root)) == run_memo.KEEP


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
    before = run_memo._identity("/p", ["check"], {})
    assert before == run_memo._identity("/p", ["check"], {})
    (tmp_path / "imgsync" / "render.py").write_text("# changed\n")
    assert run_memo._identity("/p", ["check"], {}) != before


def test_records_are_read_across_chunks() -> None:
    records = [b"x" * n for n in (0, 1, 70_000, 5, 65_535, 3)]
    data = b"".join(record + b"\0" for record in records)
    assert list(run_memo._records(io.BytesIO(data))) == records
