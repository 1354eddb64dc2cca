"""UploadCache.forget: uploads deleted from the host leave the cache and its journal, under
the lock, and no other process (or a later open) brings them back."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from imgsync.cache import UploadCache, lock_path
from imgsync.errors import CacheError
from imgsync.state.journal import journal_path
from tests.test_cache import LSKY, entry_for, hashes, record


def md5(seed: str) -> str:
    return hashes(seed)[0]


def in_file(path: Path) -> set[str]:
    return set(json.loads(path.read_text())["uploads"].get(LSKY, {}))


def test_forgotten_entries_leave_the_file_the_memory_and_a_fresh_open(tmp_path: Path) -> None:
    path = tmp_path / ".imgsync-cache.json"
    cache = UploadCache.open(path)
    for seed in "abc":
        record(cache, LSKY, seed)

    gone = cache.forget(LSKY, [md5("a"), md5("c"), md5("not-there")])

    assert set(gone) == {md5("a"), md5("c")}
    assert gone[md5("a")].url == "https://img.example.com/a.png"
    assert in_file(path) == {md5("b")}
    assert cache.lookup(LSKY, *hashes("a")) is None
    assert cache.lookup(LSKY, *hashes("b")) is not None
    # The journal still holds the uploads' lines, and a line forgetting each after them:
    lines = [json.loads(line) for line in journal_path(path).read_text().splitlines()]
    assert [line.get("forget") for line in lines[-2:]] == [
        "https://img.example.com/a.png",
        "https://img.example.com/c.png",
    ]
    reopened = UploadCache.open(path)
    assert set(reopened.entries_for(LSKY)) == {md5("b")}
    assert reopened.from_journal == 0


def test_a_revert_of_the_file_does_not_revive_a_deleted_upload(tmp_path: Path) -> None:
    path = tmp_path / ".imgsync-cache.json"
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    before = path.read_bytes()  # as committed: `git checkout` brings this back
    record(cache, LSKY, "b")
    cache.forget(LSKY, [md5("a")])
    path.write_bytes(before)  # the revert puts "a" back into the file and drops "b"

    reopened = UploadCache.open(path)

    # The journal knows "a" was deleted from the host: its URL is dead, so a lookup
    # misses (a sync uploads it afresh) instead of writing a dead URL into Markdown.
    assert reopened.lookup(LSKY, *hashes("a")) is None
    assert reopened.lookup(LSKY, *hashes("b")) is not None  # the journal's, as always


def test_an_upload_recorded_again_after_being_forgotten_is_kept(tmp_path: Path) -> None:
    path = tmp_path / ".imgsync-cache.json"
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    cache.forget(LSKY, [md5("a")])
    record(cache, LSKY, "a")  # uploaded again (Lsky even gives the same URL)

    reopened = UploadCache.open(path)
    assert reopened.lookup(LSKY, *hashes("a")) is not None
    assert md5("a") in in_file(path)


def test_another_process_holding_the_entry_in_memory_does_not_write_it_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".imgsync-cache.json"
    watch = UploadCache.open(path)  # a long-running watch
    record(watch, LSKY, "a")
    prune = UploadCache.open(path)
    prune.forget(LSKY, [md5("a")])

    record(watch, LSKY, "b")  # its next write merges everything it knows...

    assert in_file(path) == {md5("b")}  # ...but what was forgotten
    assert watch.lookup(LSKY, *hashes("a")) is None


def test_forgetting_waits_for_the_lock_a_writer_holds(tmp_path: Path) -> None:
    path = tmp_path / ".imgsync-cache.json"
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from imgsync.state.lock import FileLock\n"
            "with FileLock(Path(sys.argv[1])):\n"
            "    print('held', flush=True); time.sleep(1.0)",
            str(lock_path(path)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        started = time.monotonic()
        cache.forget(LSKY, [md5("a")])
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=10)
    assert waited > 0.5
    assert in_file(path) == set()


def test_threads_recording_while_one_forgets_lose_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / ".imgsync-cache.json"
    cache = UploadCache.open(path)
    for seed in "xyz":
        record(cache, LSKY, seed)
    seeds = [f"s{n}" for n in range(20)]
    other = UploadCache.open(path)

    def record_all() -> None:
        for seed in seeds:
            record(other, LSKY, seed)

    writer = threading.Thread(target=record_all)
    writer.start()
    cache.forget(LSKY, [md5("x"), md5("y")])
    writer.join()

    assert in_file(path) == {md5("z")} | {md5(s) for s in seeds}
    assert set(UploadCache.open(path).entries_for(LSKY)) == {md5("z")} | {md5(s) for s in seeds}


def test_a_read_only_cache_forgets_nothing(tmp_path: Path) -> None:
    path = tmp_path / ".imgsync-cache.json"
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    path.chmod(0o444)
    try:
        with pytest.raises(CacheError, match="read-only"):
            cache.forget(LSKY, [md5("a")])
        assert in_file(path) == {md5("a")}
    finally:
        path.chmod(0o644)


def test_a_journal_line_forgetting_is_checked_like_any_other(tmp_path: Path) -> None:
    path = tmp_path / ".imgsync-cache.json"
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    with journal_path(path).open("a") as journal:
        journal.write('{"forget": 3, "host": "lsky x", "md5": "0"}\n')
    reopened = UploadCache.open(path)
    assert reopened.lookup(LSKY, *hashes("a")) is not None
    assert any("forget" in text for text in reopened.warnings.values())
    assert entry_for("a").url == reopened.entries_for(LSKY)[md5("a")].url
