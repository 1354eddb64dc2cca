"""`album = "name"` in a profile: found on the host by name, made where the API can, its id
remembered in .imgsync/albums.json; by the real console script against the fake Lsky, and
through a tiny in-test host that can create albums."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from imgsync.errors import ConfigError
from imgsync.hosts import BUILTIN_HOSTS, create_host
from imgsync.hosts.albums import create_upload_host
from imgsync.hosts.base import Album, HostProfile, UploadRequest, UploadResult, supports
from imgsync.hosts.options import ProfileOptions
from imgsync.state.album_ids import STATE_NAME, AlbumIds
from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "4|albumTestTokenXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
CONFIG = """
[hosts.blog]
type = "lsky"
url = "${{LSKY_URL}}"
token = "${{SECRET}}"
{more}
"""


@pytest.fixture
def fake() -> Iterator[FakeLsky]:
    # Lsky Pro+, which reads album_id: the uploads' album is then seen on the fake.
    with FakeLsky(token=TOKEN, plus=True, albums=["notes", "blog"]) as server:
        yield server


def project(tmp_path: Path, more: str, images: int = 1) -> Path:
    root = tmp_path / "site"
    (root / "img").mkdir(parents=True)
    (root / "imgsync.toml").write_text(CONFIG.format(more=more))
    note = root / "post.md"
    note.write_text("# Post\n")
    add_images(root, range(images))
    return root


def add_images(root: Path, numbers: range) -> None:
    note = root / "post.md"
    for n in numbers:
        (root / "img" / f"{n}.png").write_bytes(png_bytes(2, 2, (n, 9, 9)))
        note.write_text(note.read_text() + f"\n![{n}](img/{n}.png)\n")


def sync(root: Path, fake: FakeLsky) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSKY_")}
    env.update(SECRET=TOKEN, LSKY_URL=fake.url, NO_PROXY="127.0.0.1")
    done = subprocess.run(
        [IMGSYNC, "."], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert TOKEN.partition("|")[2] not in done.stdout + done.stderr
    return done


def memory(root: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((root / ".imgsync" / STATE_NAME).read_text())
    return loaded


def test_an_existing_album_is_used_remembered_and_not_asked_for_again(
    fake: FakeLsky, tmp_path: Path
) -> None:
    blog = next(i for i, name in fake.album_names().items() if name == "blog")
    root = project(tmp_path, 'album = "blog"', images=2)

    first = sync(root, fake)

    assert first.returncode == 0, first.stderr
    assert fake.album_listings == 1
    assert [u.fields.get("album_id") for u in fake.uploads] == [str(blog)] * 2
    assert set(fake.stored().values()) == {blog}  # Lsky Pro+ put them in the album
    [(identity, names)] = memory(root)["albums"].items()
    assert identity == f"lsky {fake.url}" and names["blog"]["id"] == str(blog)

    add_images(root, range(2, 3))
    second = sync(root, fake)

    assert second.returncode == 0, second.stderr
    assert fake.album_listings == 1  # the id came from .imgsync/albums.json
    assert len(fake.stored()) == 3 and set(fake.stored().values()) == {blog}


def test_a_run_with_nothing_to_upload_asks_for_no_album(fake: FakeLsky, tmp_path: Path) -> None:
    root = project(tmp_path, 'album = "blog"', images=0)

    done = sync(root, fake)

    assert done.returncode == 0, done.stderr
    assert fake.requests == 0 and not (root / ".imgsync" / STATE_NAME).exists()


def test_an_album_missing_on_lsky_is_one_clear_error_and_exit_2(
    fake: FakeLsky, tmp_path: Path
) -> None:
    root = project(tmp_path, 'album = "travel"')

    done = sync(root, fake)

    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"imgsync: error: {root / 'imgsync.toml'}: host profile 'blog': ")
    assert "album 'travel' is not among the host's albums ('notes', 'blog')" in line
    assert "the lsky API can't create albums: create it on the host's web page" in line
    assert "album_id" in line and "Traceback" not in done.stderr
    assert fake.uploads == [] and fake.album_names() == {1: "notes", 2: "blog"}


def test_album_and_album_id_together_are_a_configuration_error(
    fake: FakeLsky, tmp_path: Path
) -> None:
    root = project(tmp_path, 'album = "blog"\nalbum_id = 2')

    done = sync(root, fake)

    assert done.returncode == 2
    assert "'album' and 'album_id' both name an album" in done.stderr
    assert fake.requests == 0


def test_a_remembered_album_deleted_on_the_host_is_found_again_by_name(
    fake: FakeLsky, tmp_path: Path
) -> None:
    root = project(tmp_path, 'album = "blog"')
    assert sync(root, fake).returncode == 0
    old = int(memory(root)["albums"][f"lsky {fake.url}"]["blog"]["id"])
    auth = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    httpx.delete(f"{fake.url}/albums/{old}", headers=auth)
    new = fake.add_album("blog")  # made again on the web page: a new id
    state = root / ".imgsync" / STATE_NAME
    aged = memory(root)
    aged["albums"][f"lsky {fake.url}"]["blog"]["found"] -= 25 * 3600  # a day has gone by
    state.write_text(json.dumps(aged))
    add_images(root, range(1, 2))

    done = sync(root, fake)

    assert done.returncode == 0, done.stderr
    assert fake.album_listings == 2
    assert memory(root)["albums"][f"lsky {fake.url}"]["blog"]["id"] == str(new)
    assert fake.uploads[-1].fields["album_id"] == str(new)


def test_a_run_whose_uploads_failed_forgets_the_remembered_album(
    fake: FakeLsky, tmp_path: Path
) -> None:
    root = project(tmp_path, 'album = "blog"')
    assert sync(root, fake).returncode == 0
    add_images(root, range(1, 2))
    fake.capacity_kb = 0.001  # storage full: every upload refused from now on

    assert sync(root, fake).returncode == 3

    assert memory(root)["albums"] == {}  # the next run looks the album up again


def test_a_damaged_memory_is_started_afresh(tmp_path: Path) -> None:
    state = tmp_path / ".imgsync"
    state.mkdir()
    (state / STATE_NAME).write_text('{"version": 1, "albums": ["not", "a", "map"]}')
    ids = AlbumIds(state, tmp_path)

    assert ids.get("lsky https://x", "blog") is None
    ids.remember("lsky https://x", "blog", "7")
    assert ids.get("lsky https://x", "blog") == "7"
    assert ids.get("lsky https://x", "blog", now=time.time() + 2 * 86400) is None


# ---- the path of a host that creates albums: a tiny host of this test, in memory ----------


class AlbumMaker:
    """A host whose API lists and creates albums; it talks to nothing."""

    type_name: ClassVar[str] = "albummaker"
    can_create_albums: ClassVar[bool] = True
    albums_on_host: ClassVar[dict[str, str]] = {}
    calls: ClassVar[list[str]] = []

    def __init__(self, profile: HostProfile, http: httpx.Client) -> None:
        options = ProfileOptions(profile, ("album_id", "url"))
        self.url = options.url(example="https://albums.example.com/api")
        self.album_id = options.text("album_id") if "album_id" in options else None

    @property
    def identity(self) -> str:
        return f"{self.type_name} {self.url}"

    @property
    def max_size(self) -> int | None:
        return None

    def upload(self, request: UploadRequest) -> UploadResult:
        return UploadResult(f"{self.url}/{request.filename}", {"album": self.album_id or ""})

    def albums(self) -> list[Album]:
        self.calls.append("albums")
        return [Album(i, name) for i, name in self.albums_on_host.items()]

    def create_album(self, name: str) -> Album:
        self.calls.append(f"create {name}")
        album_id = str(100 + len(self.albums_on_host))
        self.albums_on_host[album_id] = name
        return Album(album_id, name)


@pytest.fixture
def maker(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[AlbumMaker]]:
    monkeypatch.setitem(BUILTIN_HOSTS, "albummaker", f"{__name__}:AlbumMaker")
    AlbumMaker.albums_on_host, AlbumMaker.calls = {"7": "notes"}, []
    yield AlbumMaker


def made(profile: Mapping[str, Any]) -> HostProfile:
    return HostProfile("pics", "albummaker", profile, Path("imgsync.toml"))


def test_an_album_missing_where_the_api_can_create_is_created_once(
    maker: type[AlbumMaker], tmp_path: Path
) -> None:
    ids = AlbumIds(tmp_path / ".imgsync", tmp_path)
    profile = made({"url": "https://albums.example.com/api", "album": "blog"})
    with httpx.Client() as http:
        assert supports(create_host(profile, http)) == {"albums", "create_album"}

        host, choice = create_upload_host(profile, http, ids)
        again, second = create_upload_host(profile, http, ids)

    assert maker.calls == ["albums", "create blog"]  # the second run asked nothing
    assert maker.albums_on_host == {"7": "notes", "101": "blog"}
    assert choice is not None and (choice.id, choice.remembered) == ("101", False)
    assert second is not None and (second.id, second.remembered) == ("101", True)
    request = UploadRequest(tmp_path / "a.png", "a.png", "image/png", 1)
    assert host.upload(request).handle == again.upload(request).handle == {"album": "101"}


def test_an_album_a_host_cant_list_is_refused_naming_album_id(tmp_path: Path) -> None:
    profile = HostProfile(
        "chev",
        "chevereto",
        {"url": "https://c.example/api/1", "key": "k", "album": "blog"},
        Path("imgsync.toml"),
    )
    with httpx.Client() as http, pytest.raises(ConfigError) as refused:
        create_upload_host(profile, http, AlbumIds(tmp_path / ".imgsync", tmp_path))

    assert "the chevereto API lists none: set album_id" in str(refused.value)
    assert str(refused.value).startswith("imgsync.toml: host profile 'chev': ")


def doctor_checks(root: Path, fake: FakeLsky) -> tuple[int, dict[str, tuple[str, str, str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
    env.update(SECRET=TOKEN, LSKY_URL=fake.url)
    done = subprocess.run(
        [IMGSYNC, "doctor", "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    checks = json.loads(done.stdout)["checks"]
    return done.returncode, {c["name"]: (c["verdict"], c["found"], c["advice"]) for c in checks}


@pytest.mark.parametrize(
    ("more", "verdict", "words"),
    [
        ('album = "blog"', "note", "album 'blog' is id 2 on the host, 0 image(s); only Lsky Pro+"),
        ("album_id = 2", "note", "uploads go to album_id 2; only Lsky Pro+ reads album_id"),
        ('album = "travel"', "fail", "album 'travel' is not among the host's 2 album(s)"),
    ],
)
def test_doctor_finds_the_album_and_says_who_reads_album_id(
    fake: FakeLsky, tmp_path: Path, more: str, verdict: str, words: str
) -> None:
    root = project(tmp_path, more, images=0)

    status, checks = doctor_checks(root, fake)

    assert list(checks)[-2:] == ["album", "sync"]
    assert checks["album"][0] == verdict and words in checks["album"][1]
    assert status == (1 if verdict == "fail" else 0)
    assert fake.album_names() == {1: "notes", 2: "blog"} and fake.uploads == []
