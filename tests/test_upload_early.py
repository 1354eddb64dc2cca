"""End to end: a sync's first upload goes up while later Markdown files are still unread.

No timing is assumed: a later file is a named pipe that gives its text only once the fake
host has the first upload. A sync that scanned the whole tree before uploading would wait
on that pipe forever; a fallback gives it its text after a long wait, and the test fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from imgsync.testing.fake_lsky import FakeLsky
from imgsync.testing.http import Request
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "7|earlyUploadTokenNeverPrinted000000000000000"
FALLBACK_SECONDS = 60  # only a sync that never uploads before reading every file waits this


def a_tree_with_a_pipe(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose second file (by name) is a named pipe, and the pipe."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "imgsync.toml").write_text(
        '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )
    (root / "a.png").write_bytes(png_bytes(rgb=(200, 0, 0)))
    (root / "b.png").write_bytes(png_bytes(rgb=(0, 200, 0)))
    # Files are found in name order: the pipe is read after the first file, before the last.
    (root / "1-first.md").write_text("# First\n\n![one](a.png)\n")
    pipe = root / "2-later.md"
    os.mkfifo(pipe)
    # The same image again (uploaded once) and a new one, found after the first upload.
    (root / "3-last.md").write_text("![again](a.png)\n\n![two](b.png)\n")
    return root, pipe


def environment(host: FakeLsky) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=TOKEN)
    return env


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_the_first_upload_arrives_before_a_later_file_is_read(tmp_path: Path) -> None:
    root, pipe = a_tree_with_a_pipe(tmp_path)
    unblocked_by: list[str] = []
    first_post = threading.Event()

    def give_text(by: str) -> None:
        if unblocked_by:
            return
        unblocked_by.append(by)
        with open(pipe, "w") as out:  # waits for the sync to open it for reading
            out.write("# Later\n\nNo image here, and no image syntax.\n")

    def on_post(request: Request) -> None:
        if not first_post.is_set():
            first_post.set()
            threading.Thread(target=give_text, args=("the first upload",), daemon=True).start()

    def fallback() -> None:
        if not first_post.wait(FALLBACK_SECONDS):
            give_text("the fallback, with no upload yet")

    with FakeLsky(token=TOKEN, on_post=on_post) as host:
        threading.Thread(target=fallback, daemon=True).start()
        done = subprocess.run(
            [IMGSYNC, "--json", "."],
            cwd=root,
            env=environment(host),
            capture_output=True,
            text=True,
            timeout=FALLBACK_SECONDS + 60,
        )
        first_post.set()  # ends the fallback's wait
        uploads = host.uploads

    assert unblocked_by == ["the first upload"], done.stderr
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["failures"] == []
    assert sorted(upload.filename or "" for upload in uploads) == ["a.png", "b.png"]
    assert "](a.png)" not in (root / "1-first.md").read_text()
    last = (root / "3-last.md").read_text()
    assert "](a.png)" not in last and "](b.png)" not in last
    assert last.count("](http://127.0.0.1") == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_ctrl_c_while_the_scan_goes_on_keeps_the_uploads_in_flight(tmp_path: Path) -> None:
    """Ctrl-C comes with the first upload, while the scan waits on a later file: that
    upload finishes, is recorded, and the file that names it is rewritten."""
    root, pipe = a_tree_with_a_pipe(tmp_path)
    running: list[subprocess.Popen[str]] = []

    def give_text() -> None:
        with open(pipe, "w") as out:
            out.write("# Later\n")

    def on_post(request: Request) -> None:  # before the reply: the upload is in flight
        if len(running) == 1:
            running[0].send_signal(signal.SIGINT)
            # Only then the pipe's text: a signal that another thread took would not end
            # the main thread's wait on the pipe.
            threading.Thread(target=give_text, daemon=True).start()
            running.append(running[0])

    with FakeLsky(token=TOKEN, on_post=on_post) as host:
        running.append(
            subprocess.Popen(
                [IMGSYNC, "."],
                cwd=root,
                env=environment(host),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        try:
            _, err = running[0].communicate(timeout=FALLBACK_SECONDS)
        finally:
            running[0].kill()
        uploads = host.uploads

    assert running[0].returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert uploads[0].filename == "a.png"
    first = (root / "1-first.md").read_text()
    assert "](a.png)" not in first and "](http://127.0.0.1" in first, err
    cache = json.loads((root / ".imgsync-cache.json").read_text())
    assert len(next(iter(cache["uploads"].values()))) == len(uploads)  # each one recorded
