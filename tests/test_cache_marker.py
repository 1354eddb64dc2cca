"""The journal's merged marker and the document a cache keeps, against reverts and races.

The marker (`<journal>.merged`) may only ever name a version of the cache file that holds
every line of the journal up to its size: a run with nothing to look up skips the journal
by it. A run that looks images up reads the whole journal whatever the marker says. Found
by a review of the marker as an attacker would; git's checkouts are played by a real
process replacing the file while the cache writes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from imgsync.cache import UploadCache
from imgsync.errors import CacheNotWritten
from imgsync.state.cache_writer import dump_document
from imgsync.state.journal import UploadJournal, journal_path
from tests.test_cache import LSKY, entry_for, hashes, record

CACHE = ".imgsync-cache.json"

# A checkout as git makes it: a new file renamed over the cache, after a busy wait of the
# number of seconds read from each line (so it lands anywhere in the write it races).
CHECKOUT = r"""
import os, sys, time
path, staged = sys.argv[1], sys.argv[2]
for line in sys.stdin:
    end = time.perf_counter() + float(line)
    while time.perf_counter() < end:
        pass
    os.replace(staged, path)
    print("done", flush=True)
"""


def md5(seed: str) -> str:
    return hashes(seed)[0]


def in_file(path: Path) -> set[str]:
    return set(json.loads(path.read_text())["uploads"].get(LSKY, {}))


def start_checkout(path: Path, staged: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHECKOUT, str(path), str(staged)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def race(checkout: subprocess.Popen[str]) -> None:
    """Let the checkout land within the next 4 ms."""
    assert checkout.stdin is not None
    checkout.stdin.write(f"{random.uniform(0, 0.004)}\n")
    checkout.stdin.flush()


def landed(checkout: subprocess.Popen[str]) -> None:
    assert checkout.stdout is not None
    assert checkout.stdout.readline() == "done\n"


def stop(checkout: subprocess.Popen[str]) -> None:
    assert checkout.stdin is not None
    checkout.stdin.close()
    checkout.wait(timeout=10)


def test_a_pruned_upload_a_revert_brought_back_stays_deleted(tmp_path: Path) -> None:
    path = tmp_path / CACHE
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    committed = path.read_bytes()
    record(cache, LSKY, "b")
    cache.forget(LSKY, [md5("a")])  # `imgsync prune`: deleted from the host
    path.write_bytes(committed)  # the revert: "a" back in the file, "b" gone from it
    first = UploadCache.open(path)
    assert first.lookup(LSKY, *hashes("a")) is None
    first.settle_journal()  # "b" written back; the file still names the dead "a"

    second = UploadCache.open(path)

    assert second.lookup(LSKY, *hashes("b")) is not None
    assert second.lookup(LSKY, *hashes("a")) is None  # the journal's forget line, read again


def test_an_upload_only_another_reader_accepts_is_found_by_it(tmp_path: Path) -> None:
    path = tmp_path / CACHE
    lan = UploadCache.open(path, allow_http=True)  # a project with `allow_http = true`
    record(lan, LSKY, "a")
    lan.record(LSKY, md5("h"), entry_for("h", url="http://img.example.com/h.png"))
    path.write_bytes(dump_document({"uploads": {}, "version": 1}))  # a revert drops both
    strict = UploadCache.open(path)  # a run without allow_http: "h" skipped, with a warning
    assert strict.lookup(LSKY, *hashes("h")) is None
    strict.settle_journal()  # writes "a" back, and leaves the marker

    again = UploadCache.open(path, allow_http=True)

    assert again.lookup(LSKY, *hashes("a")) is not None
    assert again.lookup(LSKY, *hashes("h")) is not None


def test_a_bad_journal_line_is_told_by_every_run_that_reads_the_cache(tmp_path: Path) -> None:
    path = tmp_path / CACHE
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    journal = UploadJournal(journal_path(path), tmp_path)
    with journal.path.open("ab") as file:
        file.write(b"garbage\n")
    first = UploadCache.open(path)
    assert list(first.warnings) == [(journal.path, 2)]
    first.settle_journal()

    second = UploadCache.open(path)

    assert list(second.warnings) == [(journal.path, 2)]  # until the line is deleted


def test_a_read_only_cache_is_not_marked_over_what_a_reload_took_in(tmp_path: Path) -> None:
    path = tmp_path / CACHE
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    cache.settle_journal()
    path.chmod(0o444)  # frozen by its user: never replaced
    watch = UploadCache.open(path)
    other = UploadCache.open(path)
    with contextlib.suppress(CacheNotWritten):
        record(other, LSKY, "b")  # kept in the journal only
    watch.reload()
    assert watch.lookup(LSKY, *hashes("b")) is not None

    watch.settle_journal()

    journal = UploadJournal(journal_path(path), tmp_path)
    assert not journal.is_merged(path)  # the file lacks "b": a run with nothing to do says so
    assert UploadCache.open(path).lookup(LSKY, *hashes("b")) is not None


def test_an_identical_marker_is_not_written_again(tmp_path: Path) -> None:
    path = tmp_path / CACHE
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    cache.settle_journal()
    journal = UploadJournal(journal_path(path), tmp_path)
    assert journal.is_merged(path)
    before = journal.marker.stat()

    UploadCache.open(path).settle_journal()

    after = journal.marker.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_checkout_racing_the_write_back_is_never_marked_as_merged(tmp_path: Path) -> None:
    path = tmp_path / CACHE
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    committed = path.read_bytes()  # git's version: "a" only
    record(cache, LSKY, "b")  # in the journal
    staged = tmp_path / "committed.json"
    journal = UploadJournal(journal_path(path), tmp_path)
    checkout = start_checkout(path, staged)
    try:
        for attempt in range(300):
            staged.write_bytes(committed)
            os.replace(staged, path)  # the file lost "b": the settle writes it back...
            staged.write_bytes(committed)
            race(checkout)  # ...while git puts its version back
            UploadCache.open(path).settle_journal()
            landed(checkout)
            if journal.is_merged(path):
                assert md5("b") in in_file(path), f"marked without 'b' at attempt {attempt}"
    finally:
        stop(checkout)


def test_a_checkout_racing_a_record_is_never_written_over(tmp_path: Path) -> None:
    path = tmp_path / CACHE
    watch = UploadCache.open(path)  # watch mode: one cache for hours
    record(watch, LSKY, "a")
    staged = tmp_path / "pulled.json"
    checkout = start_checkout(path, staged)
    try:
        for attempt in range(300):
            # `git pull` brings a teammate's upload, in no journal of this checkout.
            pulled = json.loads(path.read_text())
            teammate = f"t{attempt}"
            pulled["uploads"][LSKY][md5(teammate)] = entry_for(teammate).to_json()
            staged.write_bytes(dump_document(pulled))
            race(checkout)
            record(watch, LSKY, f"x{attempt}")  # raced by the pull
            landed(checkout)
            if md5(teammate) not in in_file(path):
                continue  # the pull landed before the write, which replaced it: as ever
            record(watch, LSKY, f"y{attempt}")  # no race now: it must keep the pulled file's
            assert md5(teammate) in in_file(path), f"dropped at attempt {attempt}"
    finally:
        stop(checkout)
