"""End to end: a sync's first upload goes up while later Markdown files are still unread.

No timing is assumed: a later file is a named pipe that gives its text only once the fake
host has the first upload. A sync that scanned the whole tree before uploading would wait
on that pipe forever; a fallback gives it its text after a long wait, and the test fails.
"""

from __future__ import annotations

import json
import os
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


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_the_first_upload_arrives_before_a_later_file_is_read(tmp_path: Path) -> None:
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
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
        env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=TOKEN)
        done = subprocess.run(
            [IMGSYNC, "--json", "."],
            cwd=root,
            env=env,
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
