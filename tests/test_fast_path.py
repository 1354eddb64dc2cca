"""A synced tree costs little: no file is read again; httpx and markdown-it stay unloaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from imgsync.state.stamps import RACY_SECONDS, STATE_NAME
from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
# Runs a command in this process, then says which modules it loaded and which files it read.
PROBE = """
import builtins, io, json, os, sys
from pathlib import Path
opened = []
real_open, real_os_open = io.open, os.open
def watching_open(file, *args, **kwargs):
    # With an opener, or a descriptor, the file is opened by os.open, watched below.
    if not isinstance(file, int) and "opener" not in kwargs and str(file).endswith(".md"):
        opened.append(str(file))
    return real_open(file, *args, **kwargs)
def watching_os_open(path, *args, **kwargs):
    if str(path).endswith(".md"):
        opened.append(str(path))
    return real_os_open(path, *args, **kwargs)
io.open = builtins.open = watching_open
os.open = watching_os_open
from imgsync.cli import main
status = main(sys.argv[1:])
# A None entry is a module marked absent (cli.py's httpx._main), not one loaded.
heavy = sorted(m for m, module in sys.modules.items() if module is not None
               and (m.split(".")[0] in ("httpx", "markdown_it")
               or m in ("imgsync.progress", "imgsync.upload", "concurrent.futures")))
print(json.dumps({"status": status, "heavy": heavy, "opened": opened}))
"""


def probe(root: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def age_stamps(root: Path) -> None:
    """As if the sync had been a while ago: stamps of files it just wrote are then trusted."""
    path = root / ".imgsync" / STATE_NAME
    state = json.loads(path.read_text())
    later = int((RACY_SECONDS + 1) * 1e9)
    for key, text in state["markdown"].items():  # "size mtime inode ctime seen md5"
        fields = text.split(" ")
        fields[4] = str(int(fields[4]) + later)
        state["markdown"][key] = " ".join(fields)
    for entry in state["images"].values():
        entry[4] += later
    path.write_text(json.dumps(state))


def test_a_synced_tree_is_neither_read_nor_parsed(tmp_path: Path) -> None:
    (tmp_path / "imgsync.toml").write_text(
        '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )
    (tmp_path / "a.png").write_bytes(png_bytes())
    for n in range(5):
        (tmp_path / f"post{n}.md").write_text(f"# {n}\n\n![a](a.png)\n\nPlain text.\n")
    (tmp_path / "plain.md").write_text("# no images\n")
    with FakeLsky(rate_limit=None) as host:
        env = {**os.environ, "LSKY_BASE_URL": host.url, "LSKY_TOKEN": host.token or ""}
        first = subprocess.run([IMGSYNC, "."], cwd=tmp_path, env=env, capture_output=True)
        assert first.returncode == 0
        age_stamps(tmp_path)
        os.environ.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=host.token or "")
        try:
            synced = probe(tmp_path, "sync", ".")
            checked = probe(tmp_path, "check", ".")
            (tmp_path / "post2.md").write_text("# 2\n\n![a](a.png)\n")  # edited: read again
            edited = probe(tmp_path, "check", ".")
        finally:
            del os.environ["LSKY_BASE_URL"], os.environ["LSKY_TOKEN"]

    assert synced == {"status": 0, "heavy": [], "opened": []}
    assert checked == {"status": 0, "heavy": [], "opened": []}
    assert edited["status"] == 1  # the edit put a local image back
    assert edited["opened"] == [str(tmp_path / "post2.md")]


def test_upload_loads_no_markdown_machinery(tmp_path: Path) -> None:
    """`imgsync upload` (Typora's command) names image files: it has no Markdown to read,
    so neither markdown-it nor the pipeline that scans is imported before its request."""
    (tmp_path / "imgsync.toml").write_text(
        '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )
    (tmp_path / "a.png").write_bytes(png_bytes())
    loaded = """
import json, sys
from imgsync.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "loaded": sorted(
    m for m in sys.modules if m.split(".")[0] in ("markdown_it", "mdit_py_plugins", "click")
    or m in ("imgsync.pipeline", "imgsync.scan", "imgsync.markdown.destinations"))}))
"""
    with FakeLsky(rate_limit=None) as host:
        env = {**os.environ, "LSKY_BASE_URL": host.url, "LSKY_TOKEN": host.token or ""}
        done = subprocess.run(
            [sys.executable, "-c", loaded, "upload", "a.png"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"status": 0, "loaded": []}
