"""Watch mode: the real `imgsync watch` against the fake Lsky host, and its parts on their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imgsync.cli import main
from imgsync.config import load_settings
from imgsync.discover import discover_markdown
from imgsync.testing.fake_lsky import DEFAULT_TOKEN, FakeLsky
from imgsync.watch_parts import Awaited, Debouncer, OwnWrites, Scope, awaited_images
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
ACCEPTED = 1.0  # seconds from a save to the rewritten file, as the issue asks
SETTLE = 2.0  # seconds in which nothing more may happen after a round


class WatchProcess:
    """`imgsync watch ...` running in `cwd`; its stderr lines collected as they come."""

    def __init__(self, cwd: Path, host: FakeLsky, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
        env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=DEFAULT_TOKEN, NO_PROXY="127.0.0.1")
        self.process = subprocess.Popen(
            [IMGSYNC, "watch", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._arrived:
                self.lines.append(line.rstrip("\n"))
                self._arrived.notify_all()

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        """The first line containing `text`, waiting for it until `timeout`."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [line for line in self.lines if text in line]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"no line with {text!r}; stderr was:\n{self.output}")
                self._arrived.wait(min(left, 0.1))

    @property
    def output(self) -> str:
        with self._arrived:
            return "\n".join(self.lines)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=15)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=15)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "blog"
    (root / "docs" / "img").mkdir(parents=True)
    return root


@pytest.fixture
def watching(project: Path, fake_lsky: FakeLsky) -> Iterator[Callable[..., WatchProcess]]:
    """Start `imgsync watch ARGS` in the project; it is ready once it says it is watching."""
    started: list[WatchProcess] = []

    def start(*args: str) -> WatchProcess:
        run = WatchProcess(project, fake_lsky, *(args or ("docs",)))
        started.append(run)
        run.wait_for("watching")
        return run

    yield start
    for run in started:
        run.close()


def image(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(size, size))
    return path


def rewritten_within(post: Path, host: FakeLsky, since: float, timeout: float = 10.0) -> float:
    """Seconds from `since` until `post` points at the host; fails after `timeout`."""
    deadline = since + timeout
    while time.monotonic() < deadline:
        if host.site in post.read_text():
            return time.monotonic() - since
        time.sleep(0.005)
    raise AssertionError(f"{post} was not rewritten within {timeout}s: {post.read_text()!r}")


def assert_nothing_more_happens(post: Path, host: FakeLsky, run: WatchProcess) -> None:
    """Over SETTLE seconds: no write to the post, no upload, no line (no second round)."""
    before = (post.stat().st_mtime_ns, post.read_bytes(), len(host.uploads), len(run.lines))
    time.sleep(SETTLE)
    after = (post.stat().st_mtime_ns, post.read_bytes(), len(host.uploads), len(run.lines))
    assert after == before, run.output


def test_a_saved_post_is_rewritten_within_a_second_and_only_once(
    project: Path, fake_lsky: FakeLsky, watching: Callable[..., WatchProcess]
) -> None:
    image(project / "docs/img/old.png", 2)
    old = project / "docs/old.md"
    old.write_text("# Old\n\n![old](img/old.png)\n")
    image(project / "docs/img/new.png", 3)
    run = watching()
    assert "](http://127.0.0.1" in old.read_text()  # the first round syncs what is there

    post = project / "docs/post.md"
    post.write_text("# New\n\n![new](img/new.png)\n\nAnd again: ![again](img/new.png)\n")
    saved = time.monotonic()

    latency = rewritten_within(post, fake_lsky, saved)
    assert latency < ACCEPTED
    run.wait_for("docs/post.md: 1 uploaded, 2 links rewritten")
    assert_nothing_more_happens(post, fake_lsky, run)
    assert [u.filename for u in fake_lsky.uploads] == ["old.png", "new.png"]
    print(f"latency save -> rewritten: {latency:.3f}s")


def test_a_post_saved_through_a_temp_file_and_a_rename_is_followed(
    project: Path, fake_lsky: FakeLsky, watching: Callable[..., WatchProcess]
) -> None:
    post = project / "docs/post.md"
    post.write_text("# Draft\n")
    image(project / "docs/img/plot.png", 4)
    run = watching()

    temp = project / "docs/post.md.tmp"
    temp.write_text("# Draft\n\n![plot](img/plot.png)\n")
    os.replace(temp, post)
    saved = time.monotonic()

    latency = rewritten_within(post, fake_lsky, saved)
    assert latency < ACCEPTED
    run.wait_for("docs/post.md: 1 uploaded, 1 link rewritten")
    assert_nothing_more_happens(post, fake_lsky, run)
    assert [u.filename for u in fake_lsky.uploads] == ["plot.png"]
    assert "post.md.tmp" not in run.output
    print(f"latency rename-save -> rewritten: {latency:.3f}s")


def test_an_image_pasted_a_second_after_its_post_brings_the_post_round_again(
    project: Path, fake_lsky: FakeLsky, watching: Callable[..., WatchProcess]
) -> None:
    run = watching()
    post = project / "docs/post.md"
    post.write_text("# Paste\n\n![shot](assets/shot.png)\n")
    saved = time.monotonic()
    run.wait_for("docs/post.md:3: assets/shot.png: not found")
    run.wait_for("docs/post.md: 0 uploaded, 0 links rewritten, 1 failed")

    time.sleep(max(0.0, saved + 1.0 - time.monotonic()))
    image(project / "docs/assets/shot.png", 5)  # its folder is new too, as an editor's paste makes
    pasted = time.monotonic()

    latency = rewritten_within(post, fake_lsky, pasted)
    assert latency < ACCEPTED
    run.wait_for("docs/post.md: 1 uploaded, 1 link rewritten")
    assert_nothing_more_happens(post, fake_lsky, run)
    assert [u.filename for u in fake_lsky.uploads] == ["shot.png"]
    print(f"latency image pasted -> post rewritten: {latency:.3f}s")


def test_a_pasted_embed_image_in_the_vaults_attachment_folder_brings_the_note_round(
    project: Path, fake_lsky: FakeLsky, watching: Callable[..., WatchProcess]
) -> None:
    run = watching(".")  # the vault is the project
    note = project / "docs/day.md"
    note.write_text("# Day\n\n![[Pasted image 20261201.png|300]]\n")
    run.wait_for("docs/day.md:3: ![[Pasted image 20261201.png|300]]: not found")

    # Obsidian saves the paste where its settings say: here a folder of its own, elsewhere.
    image(project / "attachments/Pasted image 20261201.png", 6)
    pasted = time.monotonic()

    latency = rewritten_within(note, fake_lsky, pasted)
    assert latency < ACCEPTED
    run.wait_for("docs/day.md: 1 uploaded, 1 link rewritten")
    assert note.read_text().startswith("# Day\n\n![|300](http")
    assert [u.filename for u in fake_lsky.uploads] == ["Pasted image 20261201.png"]


def test_a_failed_round_says_why_and_the_next_save_is_handled(
    project: Path, fake_lsky: FakeLsky, watching: Callable[..., WatchProcess]
) -> None:
    image(project / "docs/img/big.png", 6)
    run = watching()
    fake_lsky.max_size_kb = 0.01  # the host refuses everything
    post = project / "docs/post.md"
    text = "# Big\n\n![big](img/big.png)\n"
    post.write_text(text)

    run.wait_for("docs/post.md:3: img/big.png: ")
    assert "图片大小超出限制" in run.wait_for("docs/post.md:3: img/big.png: ")
    run.wait_for("docs/post.md: 0 uploaded, 0 links rewritten, 1 failed")
    assert post.read_text() == text
    assert run.process.poll() is None

    fake_lsky.max_size_kb = 5120
    post.write_text(text)  # the same text, saved again: a retry
    rewritten_within(post, fake_lsky, time.monotonic())
    run.wait_for("docs/post.md: 1 uploaded, 1 link rewritten")


def test_a_post_linked_outside_the_project_is_refused_not_read(
    project: Path, fake_lsky: FakeLsky, watching: Callable[..., WatchProcess]
) -> None:
    outside = project.parent / "outside.md"
    outside.write_text("![a](img/a.png)\n")
    before = outside.stat().st_mtime_ns
    image(project / "docs/img/a.png", 5)
    run = watching()

    (project / "docs" / "linked.md").symlink_to(outside)

    line = run.wait_for("docs/linked.md: refused: it is a symbolic link that leads outside")
    assert line.endswith(f"outside {project}, where imgsync never reads or writes")
    assert outside.read_text() == "![a](img/a.png)\n" and outside.stat().st_mtime_ns == before
    assert fake_lsky.uploads == []
    assert run.process.poll() is None


def test_a_save_made_during_an_upload_is_kept_and_synced_in_its_own_round(
    project: Path, fake_lsky: FakeLsky, watching: Callable[..., WatchProcess]
) -> None:
    run = watching()
    post = save_a_post_whose_upload_is_slow(project, fake_lsky, seed=6)

    post.write_text("![slow](img/slow.png)\n\nTyped while it went up.\n")

    rewritten_within(post, fake_lsky, time.monotonic())
    assert post.read_text().endswith(")\n\nTyped while it went up.\n")
    run.wait_for("docs/post.md: 0 uploaded, 1 link rewritten")
    assert_nothing_more_happens(post, fake_lsky, run)
    assert len(fake_lsky.uploads) == 1


def save_a_post_whose_upload_is_slow(project: Path, host: FakeLsky, seed: int) -> Path:
    """Save docs/post.md with a new image the host takes 1 s to answer; return once it asks."""
    image(project / "docs/img/slow.png", seed)
    host.latency = 1.0
    post = project / "docs/post.md"
    post.write_text("![slow](img/slow.png)\n")
    deadline = time.monotonic() + 10
    while host.requests == 0:
        assert time.monotonic() < deadline, "no request reached the host"
        time.sleep(0.01)
    return post


def test_ctrl_c_stops_watching_with_exit_0_and_no_traceback(
    project: Path, watching: Callable[..., WatchProcess]
) -> None:
    run = watching()

    status = run.interrupt()

    assert status == 0
    assert run.lines[-1] == "stopped watching"
    assert "Traceback" not in run.output


def test_ctrl_c_during_an_upload_records_it_and_stops(
    project: Path, fake_lsky: FakeLsky, watching: Callable[..., WatchProcess]
) -> None:
    run = watching()
    save_a_post_whose_upload_is_slow(project, fake_lsky, seed=7)

    status = run.interrupt()

    assert status == 0
    assert "Traceback" not in run.output
    assert run.lines[-1] == "stopped watching"
    # the upload under way finished and was recorded, so no run will send it again
    assert fake_lsky.uploads[0].md5 in (project / ".imgsync-cache.json").read_text()


def test_poll_mode_sees_saves_without_system_events(
    project: Path, fake_lsky: FakeLsky, watching: Callable[..., WatchProcess]
) -> None:
    image(project / "docs/img/polled.png", 8)
    run = watching("--poll", "docs")
    post = project / "docs/post.md"
    post.write_text("![polled](img/polled.png)\n")
    saved = time.monotonic()

    latency = rewritten_within(post, fake_lsky, saved)
    run.wait_for("docs/post.md: 1 uploaded, 1 link rewritten")
    assert_nothing_more_happens(post, fake_lsky, run)
    print(f"latency save -> rewritten with --poll: {latency:.3f}s")


def test_files_not_its_business_are_left_alone(
    project: Path, fake_lsky: FakeLsky, watching: Callable[..., WatchProcess]
) -> None:
    (project / "imgsync.toml").write_text(
        'exclude = ["docs/drafts/**"]\n\n[hosts.main]\ntype = "lsky"\n'
        'url = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )
    image(project / "docs/img/a.png", 9)
    run = watching()
    others = [
        project / "docs/drafts/draft.md",  # excluded by the configuration
        project / "elsewhere/other.md",  # outside the watched path
        project / "docs/.hidden.md",
        project / "docs/.obsidian/note.md",
        project / "docs/post.md~",
    ]
    for other in others:
        other.parent.mkdir(parents=True, exist_ok=True)
        other.write_text("![a](../docs/img/a.png) ![a](img/a.png)\n")
    post = project / "docs/post.md"
    post.write_text("![a](img/a.png)\n")

    run.wait_for("docs/post.md: 1 uploaded, 1 link rewritten")  # after the others' events

    assert len(fake_lsky.uploads) == 1
    for other in others:
        assert other.read_text() == "![a](../docs/img/a.png) ![a](img/a.png)\n"
        assert other.name not in run.output


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["watch", "nowhere"], {"LSKY_BASE_URL": "http://127.0.0.1:9/api/v1"}, "nowhere: no such"),
        (["watch", "docs"], {}, "no image host is configured"),
    ],
)
def test_a_watch_that_cannot_work_stops_at_once_with_exit_2(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    env: dict[str, str],
    words: str,
) -> None:
    monkeypatch.chdir(project)
    for name in [n for n in os.environ if n.startswith(("LSKY_", "IMGSYNC_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert main(args) == 2
    assert words in capsys.readouterr().err


# The parts, without a process or a clock.


def test_debouncer_waits_for_a_quiet_spell_per_file() -> None:
    a, b = Path("/d/a.md"), Path("/d/b.md")
    debouncer = Debouncer(1.0)
    assert debouncer.wait(0.0) is None

    debouncer.touch(a, 0.0)
    debouncer.touch(b, 0.5)
    debouncer.touch(a, 0.75)  # a burst: a's quiet spell starts again

    assert debouncer.wait(0.75) == 0.75  # b first, at 1.5
    assert debouncer.pop_due(1.49) == []
    assert debouncer.pop_due(1.5) == [b]
    assert debouncer.wait(1.5) == 0.25
    assert debouncer.pop_due(2.0) == [a]
    assert debouncer.pop_due(9.0) == []
    assert debouncer.wait(9.0) is None


def test_debouncer_gives_due_files_earliest_first_and_each_once() -> None:
    debouncer = Debouncer(0.2)
    for at, name in [(0.0, "z.md"), (0.05, "a.md"), (0.1, "m.md")]:
        debouncer.touch(Path(name), at)

    assert debouncer.wait(1.0) == 0.0
    assert debouncer.pop_due(1.0) == [Path("z.md"), Path("a.md"), Path("m.md")]


def test_own_writes_are_recognised_by_content_only() -> None:
    post, other = Path("/d/post.md"), Path("/d/other.md")
    own = OwnWrites()
    own.remember(post, b"![a](https://h/a.png)\n")

    assert own.is_own(post, b"![a](https://h/a.png)\n")
    assert not own.is_own(post, b"![a](https://h/a.png)\nmore\n")  # someone saved since
    assert not own.is_own(other, b"![a](https://h/a.png)\n")

    own.remember(post, b"second\n")
    assert not own.is_own(post, b"![a](https://h/a.png)\n")
    assert own.is_own(post, b"second\n")
    own.forget(post)
    assert not own.is_own(post, b"second\n")


def test_scope_is_what_a_sync_would_pick_less_hidden_and_temp_files(tmp_path: Path) -> None:
    (tmp_path / "imgsync.toml").write_text(
        'include = ["**/*.md", "**/*.json"]\nexclude = ["docs/drafts/**", "**/skip.md"]\n'
    )
    names = [
        "docs/post.md",
        "docs/sub/deep.md",
        "docs/drafts/draft.md",
        "docs/sub/skip.md",
        "docs/.obsidian/note.md",
        "docs/notes.txt",
        "docs/data.json",
        "elsewhere/other.md",
        "top.md",
    ]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    settings = load_settings(cwd=tmp_path, env={})
    docs, single = tmp_path / "docs", tmp_path / "top.md"
    scope = Scope([docs, single], settings)

    picked = {p for p in (tmp_path / n for n in names) if scope.is_post(p)}

    found, _ = discover_markdown(
        [docs, single], root=tmp_path, include=settings.include, exclude=settings.exclude
    )
    assert picked == set(found)
    assert picked == {docs / "post.md", docs / "sub/deep.md", docs / "data.json", single}
    for temp in [".post.md.x1y2.tmp", "post.md~", "#post.md#", ".#post.md", "post.md.swp"]:
        assert not scope.is_post(docs / temp)
    assert not scope.is_post(docs / ".imgsync-cache.json")
    assert scope.observed() == {docs: True, tmp_path: False}


def test_scope_never_picks_the_cache_file_even_when_included(tmp_path: Path) -> None:
    (tmp_path / "imgsync.toml").write_text('include = ["**/*"]\ncache = "uploads.json"\n')
    settings = load_settings(cwd=tmp_path, env={})
    scope = Scope([tmp_path], settings)

    assert not scope.is_post(tmp_path / "uploads.json")
    assert not scope.is_post(tmp_path / ".imgsync" / "uploads.json.lock")
    assert scope.is_post(tmp_path / "post.md")


def test_awaited_images_are_the_files_the_local_references_left_name(tmp_path: Path) -> None:
    (tmp_path / "imgsync.toml").write_text('site_root = "static"\n')
    (tmp_path / "static").mkdir()
    post = tmp_path / "docs/post.md"
    text = (
        "![a](img/a.png) ![b](/images/b.png) ![c](../shared/c%20d.png)\n"
        "![remote](https://h/x.png) `![code](img/code.png)`\n"
    )
    settings = load_settings(cwd=tmp_path, env={})

    awaited = awaited_images(post, text.encode(), settings)

    assert awaited.names == frozenset()
    assert awaited.files == {
        tmp_path / "docs/img/a.png",
        tmp_path / "static/images/b.png",
        tmp_path / "shared/c d.png",
    }
    assert awaited_images(post, b"\xff\xfe not utf-8", settings) == Awaited()


def test_a_bare_embed_awaits_its_name_anywhere_in_the_vault(tmp_path: Path) -> None:
    (tmp_path / "imgsync.toml").write_text("")
    post = tmp_path / "notes/day.md"
    text = "![[Pasted image 20261201.png|300]] ![[assets/diagram.png]] ![[Some note]]\n"

    awaited = awaited_images(post, text.encode(), load_settings(cwd=tmp_path, env={}))

    # Obsidian saves a pasted image where its settings say: any folder of the vault will do.
    assert awaited.wants(tmp_path / "attachments/deep/Pasted image 20261201.png")
    assert awaited.wants(tmp_path / "notes/pasted IMAGE 20261201.PNG")  # case ignored
    assert awaited.wants(tmp_path / "assets/diagram.png")  # from the vault's root
    assert awaited.wants(tmp_path / "notes/assets/diagram.png")  # then from the note's folder
    assert not awaited.wants(tmp_path / "other/diagram.png")
    assert not awaited.wants(tmp_path / "Some note")
