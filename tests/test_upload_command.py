"""`imgsync upload FILE...` as Typora's "Custom Command" runs it: the real console script,
image paths appended; Typora reads the last N lines of stdout as the N URLs, in order."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "4|typoraUploadTokenNeverPrinted00000000000000"


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    (tmp_path / "a.png").write_bytes(png_bytes(2, 2, rgb=(255, 0, 0)))
    (tmp_path / "b.png").write_bytes(png_bytes(3, 3, rgb=(0, 255, 0)))
    return tmp_path


def upload(cwd: Path, host: FakeLsky, *files: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=TOKEN, NO_PROXY="127.0.0.1")
    done = subprocess.run(
        [IMGSYNC, "upload", *files], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert TOKEN not in done.stdout + done.stderr
    return done


def url_of(project: Path, image: Path) -> str:
    """The URL the cache recorded for `image`'s bytes: what its stdout line must say."""
    cache = json.loads((project / ".imgsync-cache.json").read_text())
    (entries,) = cache["uploads"].values()
    url = entries[hashlib.md5(image.read_bytes()).hexdigest()]["url"]
    assert isinstance(url, str)
    return url


def test_stdout_is_one_url_per_file_in_order_and_nothing_else(shots: Path, host: FakeLsky) -> None:
    done = upload(shots, host, "a.png", "b.png")

    assert done.returncode == 0, done.stderr
    url_a, url_b = url_of(shots, shots / "a.png"), url_of(shots, shots / "b.png")
    assert url_a != url_b
    assert done.stdout == f"{url_a}\n{url_b}\n"
    assert len(host.uploads) == 2

    reversed_order = upload(shots, host, str(shots / "b.png"), str(shots / "a.png"))

    assert reversed_order.stdout == f"{url_b}\n{url_a}\n"
    assert len(host.uploads) == 2  # both were in the cache


def test_a_file_named_twice_gets_two_lines_and_spaces_are_fine(shots: Path, host: FakeLsky) -> None:
    spaced = shots / "my shots" / "a copy (1).png"
    spaced.parent.mkdir()
    spaced.write_bytes((shots / "a.png").read_bytes())  # same bytes, another name

    done = upload(shots, host, "a.png", str(spaced), "b.png", "a.png")

    assert done.returncode == 0, done.stderr
    url_a, url_b = url_of(shots, shots / "a.png"), url_of(shots, shots / "b.png")
    assert done.stdout.splitlines() == [url_a, url_a, url_b, url_a]
    assert done.stdout.endswith("\n")
    assert len(host.uploads) == 2  # one upload per distinct image


def test_a_failure_fails_the_command_names_the_file_and_prints_no_url(
    shots: Path, host: FakeLsky
) -> None:
    (shots / "notes.png").write_text("not an image")

    done = upload(shots, host, "a.png", "notes.png", "gone.png", "b.png")

    assert done.returncode == 3
    assert done.stdout == ""
    assert "notes.png: is not an image" in done.stderr
    assert "gone.png: not found" in done.stderr
    assert "2 of 4 file(s) failed" in done.stderr
    url_a = url_of(shots, shots / "a.png")  # what did go up is recorded...
    assert f"a.png -> {url_a}" in done.stderr  # ...and named on stderr
    uploads = len(host.uploads)

    again = upload(shots, host, "a.png", "b.png")

    assert again.stdout == f"{url_a}\n{url_of(shots, shots / 'b.png')}\n"
    assert len(host.uploads) == uploads  # from the cache, not uploaded twice


def test_a_host_refusal_names_the_file_and_prints_no_url(shots: Path, host: FakeLsky) -> None:
    host.max_size_kb = 0.01  # everything is too large for this server

    done = upload(shots, host, "a.png")

    assert done.returncode == 3
    assert done.stdout == ""
    assert "a.png" in done.stderr and "图片大小超出限制" in done.stderr


# --- each URL said once on stderr, whether a bar or plain lines showed the progress ------------


@pytest.mark.parametrize("bar", [False, True], ids=["plain-lines", "bar"])
def test_a_failure_names_each_url_once_in_either_progress_mode(
    shots: Path, host: FakeLsky, bar: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a bar (stderr not a terminal) the progress display prints each upload's line, so
    the list of URLs after a failure must leave it out; a bar prints none, so the list says it."""
    from imgsync.config import load_settings
    from imgsync.progress import Progress
    from imgsync.render import upload_output
    from imgsync.upload_command import upload_files

    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    monkeypatch.chdir(shots)
    (shots / "notimage.png").write_text("not an image")
    settings = load_settings(cwd=shots, env={"LSKY_BASE_URL": host.url, "LSKY_TOKEN": TOKEN})
    stream = io.StringIO()

    outcome = upload_files(
        [Path("a.png"), Path("notimage.png")],
        settings,
        host_name=None,
        progress=Progress(stream, bar=bar),
    )
    rendered = upload_output(outcome)

    url = url_of(shots, shots / "a.png")
    shown = stream.getvalue().replace("\r\x1b[K", "\n").splitlines() + list(rendered.stderr)
    assert shown.count(f"uploaded a.png -> {url}") == 1
    assert rendered.stdout == ()
    assert (f"uploaded a.png -> {url}" in rendered.stderr) is bar


def test_the_console_script_piped_says_each_uploaded_and_each_found_file_once(
    shots: Path, host: FakeLsky
) -> None:
    (shots / "notimage.png").write_text("not an image")

    first = upload(shots, host, "a.png", "notimage.png")  # stderr is a pipe: no bar
    url_a = url_of(shots, shots / "a.png")
    verbose = upload(shots, host, "-v", "a.png", "b.png", "notimage.png")
    url_b = url_of(shots, shots / "b.png")

    assert first.returncode == verbose.returncode == 3
    assert first.stderr.splitlines().count(f"uploaded a.png -> {url_a}") == 1
    lines = verbose.stderr.splitlines()
    assert lines.count(f"already on the host (found in the cache): a.png -> {url_a}") == 1
    assert lines.count(f"uploaded b.png -> {url_b}") == 1
