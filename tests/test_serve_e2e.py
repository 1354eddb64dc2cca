"""End to end: the real `imgsync serve` process, the fake Lsky behind it, and the requests that
editors send, written from their source (docs/editors.md names the files):

- Obsidian's "Image auto upload" plugin (renmu123/obsidian-image-auto-upload-plugin, f9a9cbf):
  src/uploader/picgo.ts posts `{"list": [paths]}` as JSON, or in "remote server mode" a form
  built by src/payloadGenerator.ts (field `list`, each file named by its path, boundary
  `----Boundary` + 16 characters), or nothing at all for the clipboard; src/deleter.ts posts
  `{"list": [the fullResult item]}` to /delete.
- PicList's API (Kuingsmile/PicList src/main/server/routerManager.ts): `?key=`, form files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "7|serveTokenThatMustNeverBePrintedAnywhere00"
KEY = "editorKey-never-logged"


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    root: Path

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        with httpx.Client(trust_env=False, timeout=30) as http:
            return http.post(self.url + path, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> str:
        """Ctrl-C, as a user stops it; its whole log."""
        self.process.send_signal(signal.SIGINT)
        _, log = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, log
        assert TOKEN not in log and KEY not in log
        return log


def start(root: Path, lsky: FakeLsky, *, path: str | None = None) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "CI"))}
    env.update(LSKY_TOKEN=TOKEN, NO_PROXY="127.0.0.1", IMGSYNC_ALLOW_HTTP="1")
    env.update(IMGSYNC_SERVE_KEY=KEY, PATH=path if path is not None else env.get("PATH", ""))
    process = subprocess.Popen(
        [IMGSYNC, "serve", "--port", "0"],
        cwd=root,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    found = re.search(r"listening on (http://127\.0\.0\.1:\d+)/upload", first)
    assert found, first
    return Server(process, found.group(1), root)


@pytest.fixture
def lsky() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


@pytest.fixture
def vault(tmp_path: Path, lsky: FakeLsky) -> Path:
    root = tmp_path / "vault"
    (root / "att").mkdir(parents=True)
    (root / "att" / "shot.png").write_bytes(png_bytes(3, 2, (9, 99, 199)))
    (root / "att" / "other.png").write_bytes(png_bytes(2, 2, (1, 1, 1)))
    (root / "att" / "notes.txt").write_text("not an image\n")
    (root / "imgsync.toml").write_text(
        f'[hosts.blog]\ntype = "lsky"\nurl = "{lsky.url}"\ntoken = "${{LSKY_TOKEN}}"\n'
    )
    return root


def obsidian_form(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """payloadGenerator.ts's body and content type for `files` (name, bytes)."""
    boundary_string = "BoundaryabCDef0123456789"
    boundary = f"------{boundary_string}"
    chunks = []
    for name, data in files:
        chunks.append(f"{boundary}\r\n".encode())
        chunks.append(
            f'Content-Disposition: form-data; name="list"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        chunks += [data, b"\r\n"]
    chunks.append(f"{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary=----{boundary_string}"


def test_editor_requests_upload_once_each_image_and_delete_what_the_project_uploaded(
    vault: Path, lsky: FakeLsky
) -> None:
    server = start(vault, lsky)
    shot = str(vault / "att" / "shot.png")
    # Obsidian, local server mode: the note's images by their vault paths, as JSON.
    by_path = server.post(
        f"/upload?key={KEY}",
        content=json.dumps({"list": [shot]}, separators=(",", ":")),
        headers={"Content-Type": "application/json"},
    )
    body = by_path.json()
    assert by_path.status_code == 200 and body["success"] is True, body
    assert len(body["result"]) == 1 and body["result"][0].startswith("http://127.0.0.1:")
    assert body["fullResult"] == [
        {"imgUrl": body["result"][0], "fileName": shot, "type": "imgsync"}
    ]
    assert len(lsky.uploads) == 1

    # Obsidian, remote server mode: the same screenshot pasted again, as a form: no upload.
    form, kind = obsidian_form([("1733140000000.png", (vault / "att" / "shot.png").read_bytes())])
    pasted = server.post(f"/upload?key={KEY}", content=form, headers={"Content-Type": kind})
    assert pasted.json()["result"] == body["result"] and len(lsky.uploads) == 1

    # PicList's API: form files, the key in the query; two files, URLs in their order.
    other = (vault / "att" / "other.png").read_bytes()
    piclist = server.post(
        f"/upload?key={KEY}",
        files=[
            ("files", ("other.png", other)),
            ("files", ("s.png", png_bytes(3, 2, (9, 99, 199)))),
        ],
    )
    assert piclist.json()["success"] is True and len(piclist.json()["result"]) == 2
    assert piclist.json()["result"][1] == body["result"][0] and len(lsky.uploads) == 2
    assert not list((vault / ".imgsync" / "serve").iterdir())  # the form's files are gone

    wrong = server.post("/upload?key=guess", json={"list": [shot]})
    assert wrong.status_code == 401 and wrong.json()["success"] is False
    assert server.post("/upload", json={"list": [shot]}).status_code == 401  # no key at all
    assert len(lsky.uploads) == 2

    # Obsidian's deleter: the fullResult item it kept, back to /delete.
    stored = len(lsky.stored())
    gone = server.post(
        f"/delete?key={KEY}",
        content=json.dumps({"list": [piclist.json()["fullResult"][0]]}),
        headers={"Content-Type": "application/json"},
    )
    assert gone.json() == {"success": True, "message": "deleted"}
    assert len(lsky.stored()) == stored - 1
    cache = json.loads((vault / ".imgsync-cache.json").read_text())
    assert piclist.json()["result"][0] not in json.dumps(cache)  # forgotten too
    stranger = server.post(
        f"/delete?key={KEY}", json={"list": [{"imgUrl": "https://x.example/a.png"}]}
    )
    assert (
        stranger.json()["success"] is False
        and "no upload of this project" in stranger.json()["message"]
    )

    log = server.stop()
    assert "POST /upload 200 1 file(s): 1 uploaded, 0 already on the host" in log
    assert "POST /upload 200 1 file(s): 0 uploaded, 1 already on the host" in log
    assert "POST /upload 401 refused: wrong or missing key" in log
    assert "POST /delete 200 1 deleted" in log
    assert log.rstrip().endswith("imgsync serve: stopped")


def test_what_sync_refuses_the_server_refuses(vault: Path, lsky: FakeLsky, tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(png_bytes(1, 1, (5, 5, 5)))
    (vault / "att" / "link.png").symlink_to(outside)
    server = start(vault, lsky)
    for path, words in [
        (str(outside), "outside the project"),
        (str(vault / "att" / "link.png"), "outside the project"),
        ("att/shot.png", "not an absolute path"),
        (str(vault / "att" / "notes.txt"), "is not an image"),
    ]:
        reply = server.post(f"/upload?key={KEY}", json={"list": [path]}).json()
        assert reply["success"] is False and words in reply["message"], reply
    page = server.post(
        f"/upload?key={KEY}",
        json={"list": [str(vault / "att" / "shot.png")]},
        headers={"Origin": "https://a-web-page.example"},
    )
    assert page.status_code == 403 and "from a web page" in page.json()["message"]
    rebinding = server.post(
        f"/upload?key={KEY}", json={"list": []}, headers={"Host": "evil.example"}
    )
    assert rebinding.status_code == 403
    assert not lsky.uploads
    server.stop()


def test_the_clipboard_form_uploads_the_clipboards_image_or_says_why_not(
    vault: Path, lsky: FakeLsky, tmp_path: Path
) -> None:
    empty = tmp_path / "no-tools"
    empty.mkdir()
    server = start(vault, lsky, path=str(empty))  # no clipboard tool on PATH
    reply = server.post(f"/upload?key={KEY}").json()  # Obsidian's clipboard upload: no body
    assert reply["success"] is False
    assert "no clipboard is reachable" in reply["message"] and "send the file" in reply["message"]
    server.stop()

    tools = tmp_path / "tools"  # an xclip that has an image on its clipboard
    tools.mkdir()
    image = tmp_path / "clip.png"
    image.write_bytes(png_bytes(4, 4, (250, 0, 0)))
    xclip = tools / "xclip"
    printing = f"sys.stdout.buffer.write(open({str(image)!r}, 'rb').read())"
    xclip.write_text(f"#!{sys.executable}\nimport sys\n{printing}\n")
    xclip.chmod(0o755)
    server = start(vault, lsky, path=str(tools))
    reply = server.post(f"/upload?key={KEY}", json={"list": []}).json()
    assert reply["success"] is True and len(lsky.uploads) == 1, reply
    assert lsky.uploads[0].md5 == hashlib.md5(image.read_bytes()).hexdigest()
    server.stop()


def test_a_host_that_cant_be_used_stops_the_server_before_it_listens(vault: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "CI"))}
    done = subprocess.run(
        [IMGSYNC, "serve", "--port", "0"],
        cwd=vault,
        env=env | {"IMGSYNC_ALLOW_HTTP": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "listening" not in done.stderr
    assert "the environment variable LSKY_TOKEN is not set" in done.stderr
