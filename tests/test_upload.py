"""The pipeline's upload stage (upload.py): the cache first, then uploads, each recorded at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imgsync.cache import UploadCache
from imgsync.config import Settings, load_settings
from imgsync.images import LocalImage, inspect_image
from imgsync.progress import Progress
from imgsync.report import Report
from imgsync.state.cache_file import CacheEntry, utc_now
from imgsync.state.claims import UploadClaims
from imgsync.testing.fake_lsky import FakeLsky
from imgsync.upload import Hosted, host_images
from tests.images import png_bytes

TOKEN = "3|uploadStageTokenNeverShownAnywhere000000000"


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLsky]:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    with FakeLsky(token=TOKEN, latency=0.05) as server:
        yield server


def settings_for(root: Path, host: FakeLsky) -> Settings:
    return load_settings(cwd=root, env={"LSKY_BASE_URL": host.url, "LSKY_TOKEN": TOKEN})


def origin(host: FakeLsky) -> str:
    return host.url.rsplit("/api/", 1)[0]  # where the fake serves the images it stores


def identity(host: FakeLsky) -> str:
    return f"lsky {host.url}"  # what LskyHost keys the cache by


def images(root: Path, *names: str) -> dict[str, LocalImage]:
    found = {}
    for number, name in enumerate(names):
        path = root / name
        path.write_bytes(png_bytes(rgb=(number * 40 % 256, 10, 200)))
        image = inspect_image(path, None)
        found[image.md5] = image
    return found


def stage(
    root: Path,
    host: FakeLsky,
    wanted: dict[str, LocalImage],
    heard: Callable[[str, str | None], None] | None = None,
    dry_run: bool = False,
) -> tuple[Report, Hosted]:
    report = Report(dry_run=dry_run)
    hosted = host_images(
        wanted,
        settings_for(root, host),
        host_name=None,
        report=report,
        progress=Progress(quiet=True),
        dry_run=dry_run,
        on_settled=heard,
    )
    return report, hosted


def test_misses_are_uploaded_and_each_is_in_the_cache_when_its_outcome_is_heard(
    tmp_path: Path, host: FakeLsky
) -> None:
    wanted = images(tmp_path, "a.png", "b.png", "c.png")
    cache_path = tmp_path / ".imgsync-cache.json"
    in_cache_when_heard: dict[str, bool] = {}

    def heard(md5: str, url: str | None) -> None:
        cached = UploadCache.open(cache_path).lookup(identity(host), md5, wanted[md5].sha256)
        in_cache_when_heard[md5] = cached is not None and cached.url == url

    report, hosted = stage(tmp_path, host, wanted, heard)
    urls, failed = hosted.urls, hosted.failed

    assert failed == {} and len(host.uploads) == 3
    assert sorted(urls) == sorted(wanted) and all(u.startswith(origin(host)) for u in urls.values())
    # Recorded first, told second: a listener that rewrites a file can trust the cache.
    assert in_cache_when_heard == dict.fromkeys(wanted, True)
    assert [u.image for u in report.uploaded] and report.reused == 0


def test_images_in_the_cache_are_not_sent_again(tmp_path: Path, host: FakeLsky) -> None:
    wanted = images(tmp_path, "a.png", "b.png")
    stage(tmp_path, host, wanted)

    report, hosted = stage(tmp_path, host, wanted)
    urls = hosted.urls

    assert len(host.uploads) == 2  # from the first stage only
    assert report.reused == 2 and report.uploaded == [] and len(urls) == 2


def test_an_image_above_the_hosts_limit_fails_without_a_request(
    tmp_path: Path, host: FakeLsky, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imgsync.hosts.lsky import LskyHost

    monkeypatch.setattr(LskyHost, "max_size", property(lambda self: 10))
    wanted = images(tmp_path, "a.png")

    _, hosted = stage(tmp_path, host, wanted)
    urls, failed = hosted.urls, hosted.failed

    assert urls == {} and len(host.uploads) == 0
    assert list(failed.values()) == [
        f"is {next(iter(wanted.values())).size} bytes, above the host's limit of 10"
    ]


def test_an_image_another_process_uploaded_meanwhile_is_taken_from_the_cache(
    tmp_path: Path, host: FakeLsky
) -> None:
    wanted = images(tmp_path, "a.png", "b.png")
    (md5_a, _), (md5_b, image_b) = wanted.items()
    settings = settings_for(tmp_path, host)
    other = UploadClaims(settings.state_dir / "uploading.lock")
    claimed, release = threading.Event(), threading.Event()

    def other_imgsync() -> None:  # holds b, uploads it elsewhere, records it, lets go
        with other.hold([md5_b]):
            claimed.set()
            release.wait(10)
            url = "https://elsewhere.test/b.png"
            entry = CacheEntry(url, {}, image_b.size, image_b.sha256, utc_now(), "b.png")
            UploadCache.open(settings.cache_path).record(identity(host), md5_b, entry)

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    thread = threading.Thread(target=other_imgsync)
    thread.start()
    assert claimed.wait(10)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()

    report, hosted = stage(tmp_path, host, wanted)
    urls, failed = hosted.urls, hosted.failed
    thread.join(10)

    assert time.monotonic() - started >= 0.25  # b waited for the other claim
    assert failed == {} and len(host.uploads) == 1  # a only
    assert urls[md5_b] == "https://elsewhere.test/b.png" and urls[md5_a].startswith(origin(host))
    assert report.reused == 1


def test_a_dry_run_looks_up_the_cache_and_sends_nothing(tmp_path: Path, host: FakeLsky) -> None:
    wanted = images(tmp_path, "a.png")
    _, hosted = stage(tmp_path, host, wanted, dry_run=True)

    assert hosted.missing == wanted and hosted.urls == {} and len(host.uploads) == 0
    assert not (tmp_path / ".imgsync-cache.json").exists()
