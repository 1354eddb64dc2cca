"""The prune plan (pure), and deleting under the claims with the uses counted again, against
a host object at the network seam that records what it was asked to delete."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from imgsync.cache import CacheEntry, UploadCache
from imgsync.errors import HostError
from imgsync.files import private_folder
from imgsync.hosts.base import DeletingHost, UploadRequest, UploadResult, supports
from imgsync.manage.prune import delete_uploads, plan_prune
from imgsync.manage.references import References, Use
from imgsync.state.claims import UploadClaims
from tests.test_cache import hashes

HOST = "lsky https://img.example.com/api/v1"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def entry(seed: str, *, days: float = 30, handle: bool = True, source: str = "") -> CacheEntry:
    when = (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ") if days >= 0 else ""
    return CacheEntry(
        url=f"https://img.example.com/{seed}.png",
        handle={"key": f"k{seed}"} if handle else {},
        size=100,
        sha256=hashes(seed)[1],
        uploaded_at=when,
        source=source or f"posts/{seed}.png",
    )


def md5(seed: str) -> str:
    return hashes(seed)[0]


def test_the_plan_deletes_only_old_unused_uploads_with_a_handle() -> None:
    entries = {
        md5("used"): entry("used"),
        md5("local"): entry("local"),
        md5("young"): entry("young", days=2),
        md5("undated"): entry("undated", days=-1),
        md5("nohandle"): entry("nohandle", handle=False),
        md5("old"): entry("old"),
    }
    refs = References()
    refs.add_url("https://img.example.com/used.png?w=300", Use("branch draft", "a.md", 3))
    refs.add_md5(md5("local"), Use("", "b.md", 1))

    plan = plan_prune(entries, refs, now=NOW, older_than=timedelta(days=7))

    assert [u.entry.url for u in plan.doomed] == ["https://img.example.com/old.png"]
    why = {u.entry.url.rsplit("/", 1)[1]: u.kept_because for u in plan.kept}
    assert why["used.png"] == "used"
    assert why["local.png"] == "used"
    assert why["young.png"] == "uploaded 2 days ago, younger than 7 days"
    assert "upload time is unknown" in why["undated.png"]
    assert "no handle" in why["nohandle.png"]
    used = next(u for u in plan.kept if u.entry.url.endswith("used.png"))
    assert used.uses == (Use("branch draft", "a.md", 3),)


def test_undated_uploads_go_only_when_asked_and_older_than_zero_keeps_none_for_age() -> None:
    entries = {md5("undated"): entry("undated", days=-1), md5("fresh"): entry("fresh", days=0)}
    plan = plan_prune(entries, References(), now=NOW, older_than=timedelta(0), undated=True)
    assert sorted(u.md5 for u in plan.doomed) == sorted([md5("undated"), md5("fresh")])


def test_paths_keep_the_plan_to_uploads_made_from_there() -> None:
    entries = {
        md5("a"): entry("a", source="posts/2023/a.png"),
        md5("b"): entry("b", source="posts/2024/b.png"),
    }
    plan = plan_prune(
        entries, References(), now=NOW, older_than=timedelta(0), sources=["posts/2023"]
    )
    assert [u.md5 for u in plan.doomed] == [md5("a")]
    assert plan.kept == []


class RecordingHost:
    """A DeletingHost at the network seam: it keeps what it holds and what it was asked."""

    type_name: ClassVar[str] = "lsky"

    def __init__(self, fail: set[str] | None = None) -> None:
        self.deleted: list[str] = []
        self.fail = fail or set()

    @property
    def identity(self) -> str:
        return HOST

    @property
    def max_size(self) -> int | None:
        return None

    def upload(self, request: UploadRequest) -> UploadResult:
        raise AssertionError("prune uploads nothing")

    def delete(self, handle: Mapping[str, str]) -> None:
        if handle["key"] in self.fail:
            raise HostError("the host said no", host="img.example.com")
        self.deleted.append(handle["key"])


def cache_with(tmp_path: Path, *seeds: str) -> UploadCache:
    cache = UploadCache.open(tmp_path / ".imgsync-cache.json")
    for seed in seeds:
        cache.record(HOST, md5(seed), entry(seed))
    return cache


def test_deleting_forgets_each_upload_and_deletes_it_on_the_host(tmp_path: Path) -> None:
    cache = cache_with(tmp_path, "a", "b", "c")
    host = RecordingHost()
    assert isinstance(host, DeletingHost) and supports(host) == {"delete"}
    plan = plan_prune(cache.entries_for(HOST), References(), now=NOW, older_than=timedelta(0))
    doomed = [u for u in plan.doomed if u.md5 != md5("c")]

    done = delete_uploads(doomed, host, cache, tmp_path / ".imgsync", lambda: References())

    assert sorted(host.deleted) == ["ka", "kb"]
    assert [u.md5 for u in done.deleted] == [u.md5 for u in doomed]
    assert set(UploadCache.open(cache.path).entries_for(HOST)) == {md5("c")}


def test_a_use_found_when_counting_again_keeps_the_upload(tmp_path: Path) -> None:
    cache = cache_with(tmp_path, "a", "b")
    host = RecordingHost()
    plan = plan_prune(cache.entries_for(HOST), References(), now=NOW, older_than=timedelta(0))
    now_used = References()
    now_used.add_md5(md5("a"), Use("", "new-post.md", 4))  # written while prune ran

    done = delete_uploads(plan.doomed, host, cache, tmp_path / ".imgsync", lambda: now_used)

    assert host.deleted == ["kb"]
    assert [(u.md5, u.uses) for u in done.used_meanwhile] == [
        (md5("a"), (Use("", "new-post.md", 4),))
    ]
    assert set(UploadCache.open(cache.path).entries_for(HOST)) == {md5("a")}


def test_a_failed_deletion_stays_in_the_cache(tmp_path: Path) -> None:
    cache = cache_with(tmp_path, "a", "b")
    host = RecordingHost(fail={"ka"})
    plan = plan_prune(cache.entries_for(HOST), References(), now=NOW, older_than=timedelta(0))

    done = delete_uploads(plan.doomed, host, cache, tmp_path / ".imgsync", lambda: References())

    assert host.deleted == ["kb"]
    assert [(u.md5, why) for u, why in done.failed] == [(md5("a"), "the host said no")]
    assert set(UploadCache.open(cache.path).entries_for(HOST)) == {md5("a")}


def test_an_image_a_sync_is_uploading_waits_for_its_claim(tmp_path: Path) -> None:
    cache = cache_with(tmp_path, "a")
    host = RecordingHost()
    plan = plan_prune(cache.entries_for(HOST), References(), now=NOW, older_than=timedelta(0))
    claims = UploadClaims(private_folder(tmp_path / ".imgsync") / "uploading.lock")
    held, release = threading.Event(), threading.Event()
    finished: list[float] = []

    def sync_holding_the_claim() -> None:
        with claims.hold([md5("a")]):
            held.set()
            release.wait(5)
            finished.append(time.monotonic())

    syncing = threading.Thread(target=sync_holding_the_claim)
    syncing.start()
    held.wait(5)
    threading.Timer(0.3, release.set).start()
    delete_uploads(plan.doomed, host, cache, tmp_path / ".imgsync", lambda: References())
    deleted_at = time.monotonic()
    syncing.join()

    assert host.deleted == ["ka"]
    assert finished and deleted_at >= finished[0]
