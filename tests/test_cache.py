"""UploadCache and the FileLock that guards it: real files, real threads, real processes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgsync.cache import CacheEntry, UploadCache, utc_now
from imgsync.errors import CacheError
from imgsync.state.cache_file import read_document
from imgsync.state.cache_writer import RenderedEntries, dump_document
from imgsync.state.lock import FileLock

LSKY = "lsky https://img.example.com/api/v1"
CHEV = "chevereto https://img.example.org/api/1"


def hashes(seed: str) -> tuple[str, str]:
    data = seed.encode()
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()


def entry_for(seed: str, **changes: object) -> CacheEntry:
    fields: dict[str, object] = {
        "url": f"https://img.example.com/{seed}.png",
        "handle": {"key": f"k-{seed}"},
        "size": 1234,
        "sha256": hashes(seed)[1],
        "uploaded_at": "2026-11-23T11:30:05Z",
        "source": f"posts/{seed}.png",
    }
    fields.update(changes)
    return CacheEntry(**fields)  # type: ignore[arg-type]


def record(cache: UploadCache, host: str, seed: str) -> CacheEntry:
    entry = entry_for(seed)
    cache.record(host, hashes(seed)[0], entry)
    return entry


# --- reading and writing ---------------------------------------------------------------


def test_a_missing_file_is_an_empty_cache_and_opening_creates_nothing(tmp_path: Path) -> None:
    cache = UploadCache.open(tmp_path / ".imgsync-cache.json")
    assert cache.path == tmp_path / ".imgsync-cache.json"
    assert cache.lookup(LSKY, *hashes("a")) is None
    assert dict(cache.entries_for(LSKY)) == {}
    assert os.listdir(tmp_path) == []


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / ".imgsync-cache.json"
    cache = UploadCache.open(path)
    a = record(cache, LSKY, "a")
    b = record(cache, CHEV, "b")
    assert cache.lookup(LSKY, *hashes("a")) == a

    reopened = UploadCache.open(path)
    assert reopened.lookup(LSKY, *hashes("a")) == a
    assert reopened.lookup(CHEV, *hashes("b")) == b
    assert reopened.lookup(CHEV, *hashes("a")) is None  # another host: upload again
    assert dict(reopened.entries_for(LSKY)) == {hashes("a")[0]: a}


def test_the_file_format(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    cache = UploadCache.open(path)
    entry = entry_for("a", source="posts/图 1.png")
    cache.record(LSKY, hashes("a")[0], entry)
    md5, sha256 = hashes("a")
    assert path.read_text("utf-8") == (
        "{\n"
        '  "uploads": {\n'
        f'    "{LSKY}": {{\n'
        f'      "{md5}": {{\n'
        '        "handle": {\n'
        '          "key": "k-a"\n'
        "        },\n"
        f'        "sha256": "{sha256}",\n'
        '        "size": 1234,\n'
        '        "source": "posts/图 1.png",\n'
        '        "uploaded_at": "2026-11-23T11:30:05Z",\n'
        '        "url": "https://img.example.com/a.png"\n'
        "      }\n"
        "    }\n"
        "  },\n"
        '  "version": 1\n'
        "}\n"
    )


def test_output_does_not_depend_on_the_order_of_uploads(tmp_path: Path) -> None:
    seeds = ["a", "b", "c", "d"]
    first, second = UploadCache.open(tmp_path / "1.json"), UploadCache.open(tmp_path / "2.json")
    for seed in seeds:
        record(first, LSKY if seed < "c" else CHEV, seed)
    for seed in reversed(seeds):
        record(second, LSKY if seed < "c" else CHEV, seed)
    assert (tmp_path / "1.json").read_bytes() == (tmp_path / "2.json").read_bytes()


def test_the_file_holds_nothing_about_a_host_but_its_identity(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    record(UploadCache.open(path), LSKY, "a")
    document = json.loads(path.read_text("utf-8"))
    assert set(document) == {"version", "uploads"}
    assert list(document["uploads"]) == [LSKY]
    (stored,) = document["uploads"][LSKY].values()
    assert set(stored) == {"url", "handle", "size", "sha256", "uploaded_at", "source"}


def test_an_md5_collision_is_a_miss(tmp_path: Path) -> None:
    cache = UploadCache.open(tmp_path / "cache.json")
    record(cache, LSKY, "a")
    md5, _ = hashes("a")
    assert cache.lookup(LSKY, md5, hashes("other bytes")[1]) is None


def test_entries_for_is_a_read_only_snapshot(tmp_path: Path) -> None:
    cache = UploadCache.open(tmp_path / "cache.json")
    record(cache, LSKY, "a")
    snapshot = cache.entries_for(LSKY)
    record(cache, LSKY, "b")
    assert list(snapshot) == [hashes("a")[0]]
    with pytest.raises(TypeError):
        snapshot["x"] = entry_for("x")  # type: ignore[index]


def test_record_refuses_what_open_would_refuse(tmp_path: Path) -> None:
    cache = UploadCache.open(tmp_path / "cache.json")
    with pytest.raises(ValueError, match="MD5"):
        cache.record(LSKY, "not-an-md5", entry_for("a"))
    with pytest.raises(ValueError, match="sha256"):
        cache.record(LSKY, hashes("a")[0], entry_for("a", sha256="ABC"))
    assert not (tmp_path / "cache.json").exists()


def test_record_creates_the_folder_of_the_cache(tmp_path: Path) -> None:
    path = tmp_path / ".cache" / "imgsync.json"
    record(UploadCache.open(path), LSKY, "a")
    assert UploadCache.open(path).lookup(LSKY, *hashes("a")) is not None


def test_keys_written_by_a_newer_imgsync_survive_a_record(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    record(UploadCache.open(path), LSKY, "a")
    document = json.loads(path.read_text("utf-8"))
    document["uploads"][LSKY][hashes("a")[0]]["width"] = 640
    path.write_text(json.dumps(document), "utf-8")
    record(UploadCache.open(path), LSKY, "b")
    document = json.loads(path.read_text("utf-8"))
    assert document["uploads"][LSKY][hashes("a")[0]]["width"] == 640


def test_utc_now_is_the_format_the_cache_uses() -> None:
    assert len(utc_now()) == len("2026-11-23T11:30:05Z")
    assert utc_now().endswith("Z")


# --- corrupt files: an error that says what to do, and the file left alone -------------


VALID_ENTRY = entry_for("a").to_json()
MD5_A = hashes("a")[0]
CORRUPT = [
    pytest.param("", "not valid JSON", id="empty"),
    pytest.param('{"version": 1, "uploads": {', "not valid JSON (line 1", id="truncated"),
    pytest.param("[]", "holds a list", id="a-list"),
    pytest.param('{"uploads": {}}', 'no "version"', id="no-version"),
    pytest.param('{"version": 1, "uploads": []}', '"uploads", not an object', id="uploads-list"),
    pytest.param('{"version": 1}', '"uploads"', id="no-uploads"),
    pytest.param(
        json.dumps({"version": 1, "uploads": {LSKY: {MD5_A: {**VALID_ENTRY, "size": "1 KB"}}}}),
        '"size" is a string, not a number',
        id="size-string",
    ),
    pytest.param(
        json.dumps({"version": 1, "uploads": {LSKY: {MD5_A: {**VALID_ENTRY, "url": None}}}}),
        '"url" is missing or null',
        id="url-null",
    ),
    pytest.param(
        json.dumps({"version": 1, "uploads": {LSKY: {"xyz": VALID_ENTRY}}}),
        "32 lowercase hex digits",
        id="bad-md5-key",
    ),
    pytest.param(
        json.dumps({"version": 1, "uploads": {LSKY: {MD5_A: {**VALID_ENTRY, "sha256": "0"}}}}),
        "64 lowercase hex digits",
        id="bad-sha256",
    ),
    pytest.param(
        json.dumps({"version": 1, "uploads": {LSKY: {MD5_A: {**VALID_ENTRY, "handle": {"a": 1}}}}}),
        '"handle" must map names to strings',
        id="bad-handle",
    ),
]


@pytest.mark.parametrize(("text", "what"), CORRUPT)
def test_a_corrupt_file_is_an_error_with_advice_and_stays_as_it_was(
    tmp_path: Path, text: str, what: str
) -> None:
    path = tmp_path / ".imgsync-cache.json"
    path.write_text(text, "utf-8")
    before = path.read_bytes()
    with pytest.raises(CacheError) as caught:
        UploadCache.open(path)
    message = str(caught.value)
    assert what in message
    assert caught.value.path == path
    assert "git checkout -- .imgsync-cache.json" in message
    assert "uploaded again" in message
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        pytest.param(b'{"version": 1, "uploads": {}}\xff', "not UTF-8", id="not-utf8"),
        pytest.param(b'{"version": 2, "uploads": {}}', "upgrade imgsync", id="newer-version"),
        pytest.param(b'{"version": true, "uploads": {}}', "version True", id="version-bool"),
        pytest.param(
            b'{"version": 1, "uploads": {\n<<<<<<< HEAD\n"a": {}\n=======\n"b": {}\n'
            b">>>>>>> other\n}}\n",
            "merge conflict",
            id="merge-conflict",
        ),
    ],
)
def test_other_unreadable_files(tmp_path: Path, raw: bytes, what: str) -> None:
    path = tmp_path / "cache.json"
    path.write_bytes(raw)
    with pytest.raises(CacheError, match=what):
        UploadCache.open(path)
    assert path.read_bytes() == raw


def test_a_file_corrupted_after_open_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    path.write_text('{"version": 1, "uploads": {"half', "utf-8")
    before = path.read_bytes()
    with pytest.raises(CacheError, match="not valid JSON"):
        record(cache, LSKY, "b")
    assert path.read_bytes() == before
    assert cache.lookup(LSKY, *hashes("b")) is None


# --- merging: nobody's entries are lost -------------------------------------------------


def test_record_keeps_entries_another_writer_added_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    watch, hook = UploadCache.open(path), UploadCache.open(path)
    record(watch, LSKY, "a")
    record(hook, LSKY, "b")  # opened before "a" was written
    reopened = UploadCache.open(path)
    assert set(reopened.entries_for(LSKY)) == {hashes("a")[0], hashes("b")[0]}
    assert hook.lookup(LSKY, *hashes("a")) is not None  # its view was refreshed too


def test_entries_learnt_by_reload_are_kept_by_the_next_record(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    watch, hook = UploadCache.open(path), UploadCache.open(path)
    record(watch, LSKY, "a")  # watch keeps the document it wrote
    record(hook, LSKY, "b")
    watch.reload()
    assert watch.lookup(LSKY, *hashes("b")) is not None
    record(watch, LSKY, "c")  # must not write its old document with only "a" and "c"
    names = {hashes(name)[0] for name in "abc"}
    assert set(UploadCache.open(path).entries_for(LSKY)) == names


def test_a_repeated_record_of_an_unchanged_file_writes_the_same_bytes_as_a_fresh_read(
    tmp_path: Path,
) -> None:
    kept, fresh = tmp_path / "kept.json", tmp_path / "fresh.json"
    cache = UploadCache.open(kept)
    for name in "abc":
        record(cache, LSKY, name)
        record(UploadCache.open(fresh), LSKY, name)
    assert kept.read_bytes() == fresh.read_bytes()


def test_record_puts_back_entries_the_file_lost(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    cache = UploadCache.open(path)
    record(cache, LSKY, "a")
    path.unlink()
    record(cache, LSKY, "b")
    assert set(UploadCache.open(path).entries_for(LSKY)) == {hashes("a")[0], hashes("b")[0]}


def test_threads_recording_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    cache = UploadCache.open(path)
    seeds = [f"{worker}-{n}" for worker in range(8) for n in range(25)]

    def work(worker: int) -> None:
        for n in range(25):
            record(cache, LSKY, f"{worker}-{n}")

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = {hashes(seed)[0] for seed in seeds}
    assert set(cache.entries_for(LSKY)) == expected
    assert set(UploadCache.open(path).entries_for(LSKY)) == expected


CHILD = """
import hashlib, sys, time
from pathlib import Path
from imgsync.cache import CacheEntry, UploadCache
path, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
cache = UploadCache.open(path)
while not go.exists():
    time.sleep(0.005)
for n in range(50):
    data = f"{name}-{n}".encode()
    sha = hashlib.sha256(data).hexdigest()
    entry = CacheEntry(f"https://x/{name}/{n}.png", {}, n, sha, "2026-11-23T11:30:05Z", "a.png")
    cache.record("lsky https://x", hashlib.md5(data).hexdigest(), entry)
"""


def test_two_processes_recording_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / ".imgsync-cache.json"
    go = tmp_path / "go"
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(path), name, str(go)])
        for name in ("watch", "hook")
    ]
    time.sleep(0.3)  # both have opened the (absent) cache: each starts from a stale view
    go.touch()
    assert [child.wait(timeout=60) for child in children] == [0, 0]
    expected = {f"{name}-{n}" for name in ("watch", "hook") for n in range(50)}
    md5s = {hashlib.md5(seed.encode()).hexdigest() for seed in expected}
    # The file itself, not what the journal would add back on opening it.
    assert set(read_document(path)[1]["lsky https://x"]) == md5s
    assert sorted(os.listdir(tmp_path)) == [".imgsync", ".imgsync-cache.json", "go"]
    # The lock and the journal live in imgsync's own folder, which keeps itself out of git.
    assert sorted(os.listdir(tmp_path / ".imgsync")) == [
        ".gitignore",
        ".imgsync-cache.json.journal",
        ".imgsync-cache.json.lock",
    ]
    # Appends from both processes, whole lines each: one JSON record per upload.
    lines = (tmp_path / ".imgsync" / ".imgsync-cache.json.journal").read_text().splitlines()
    assert {json.loads(line)["md5"] for line in lines} == md5s and len(lines) == 100
    assert (tmp_path / ".imgsync" / ".gitignore").read_text().splitlines()[-1] == "*"


# --- the legacy Lsky cache ----------------------------------------------------------------


def write_legacy(folder: Path, seed: str) -> Path:
    legacy = folder / ".lsky_upload_cache.json"
    sha256 = hashes(seed)[1]
    entry = {"url": f"https://old.example.com/{seed}.png", "path": f"img/{seed}.png", "links": {}}
    legacy.write_text(json.dumps({"version": 1, "entries": {sha256: entry}}), "utf-8")
    return legacy


def test_a_legacy_entry_counts_for_lsky_hosts_only(tmp_path: Path) -> None:
    write_legacy(tmp_path, "a")
    cache = UploadCache.open(tmp_path / ".imgsync-cache.json")
    hit = cache.lookup(LSKY, *hashes("a"))
    assert hit == CacheEntry(
        url="https://old.example.com/a.png",
        handle={},
        size=0,
        sha256=hashes("a")[1],
        uploaded_at="",
        source="img/a.png",
    )
    assert cache.lookup("lsky https://other.example.com/api/v1", *hashes("a")) == hit
    assert cache.lookup(CHEV, *hashes("a")) is None
    assert cache.lookup(LSKY, *hashes("b")) is None


def test_taking_over_a_legacy_entry(tmp_path: Path) -> None:
    legacy = write_legacy(tmp_path, "a")
    legacy_bytes = legacy.read_bytes()
    path = tmp_path / ".imgsync-cache.json"
    cache = UploadCache.open(path)
    md5, sha256 = hashes("a")
    hit = cache.lookup(LSKY, md5, sha256)
    assert hit is not None
    assert md5 not in cache.entries_for(LSKY)  # how the caller tells a legacy hit
    cache.record(LSKY, md5, hit)

    legacy.unlink()
    reopened = UploadCache.open(path)
    assert reopened.lookup(LSKY, md5, sha256) == hit
    legacy.write_bytes(legacy_bytes)
    assert md5 in UploadCache.open(path).entries_for(LSKY)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        pytest.param("{", "not valid JSON", id="bad-json"),
        pytest.param('{"version": 1, "entries": []}', '"entries", not an object', id="list"),
        pytest.param('{"version": 1, "entries": {"ab": {"path": "x"}}}', '"url"', id="no-url"),
        pytest.param('{"version": 1, "entries": {"ab": {"url": "u"}}}', "SHA-256", id="bad-key"),
        pytest.param('{"version": 3, "entries": {}}', "version 3", id="version"),
    ],
)
def test_a_corrupt_legacy_file_is_an_error(tmp_path: Path, text: str, what: str) -> None:
    legacy = tmp_path / ".lsky_upload_cache.json"
    legacy.write_text(text, "utf-8")
    with pytest.raises(CacheError, match=what) as caught:
        UploadCache.open(tmp_path / ".imgsync-cache.json")
    assert caught.value.path == legacy
    assert legacy.read_text("utf-8") == text


# --- FileLock ---------------------------------------------------------------------------


HOLDER = """
import sys
from pathlib import Path
from imgsync.state.lock import FileLock
with FileLock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_a_lock_held_by_another_process_times_out_with_a_clear_error(tmp_path: Path) -> None:
    lock_path = tmp_path / "cache.json.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"still locked after 0\.2 seconds"):
            FileLock(lock_path, timeout=0.2).acquire()
        assert time.monotonic() - started < 5
    finally:
        holder.communicate("", timeout=30)
    with FileLock(lock_path, timeout=5):  # released when the holder exited
        pass


def test_a_lock_keeps_threads_apart(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "x.lock")
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(20):
            with lock:
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.0005)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


def test_a_thread_waiting_for_the_lock_times_out(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "x.lock", timeout=0.1)
    errors: list[BaseException] = []
    with lock:
        waiter = threading.Thread(target=lambda: _capture(lock.acquire, errors))
        waiter.start()
        waiter.join()
    assert len(errors) == 1 and isinstance(errors[0], TimeoutError)
    with lock:  # still usable afterwards
        pass


def test_releasing_a_lock_not_held_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not held"):
        FileLock(tmp_path / "x.lock").release()


def _capture(action: Callable[[], None], errors: list[BaseException]) -> None:
    try:
        action()
    except BaseException as err:
        errors.append(err)


# --- the fast writer matches json.dumps ------------------------------------------------

_texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_entries = st.fixed_dictionaries(
    {
        "url": _texts,
        "handle": st.dictionaries(_texts, _texts, max_size=2),
        "size": st.integers(min_value=0, max_value=10**9),
        "sha256": _texts,
        "uploaded_at": _texts,
        "source": _texts,
    },
    optional={"newer_field": st.lists(st.integers(), max_size=2)},
)
_documents = st.fixed_dictionaries(
    {
        "uploads": st.dictionaries(
            _texts, st.dictionaries(_texts, _entries, max_size=3), max_size=3
        ),
        "version": st.just(1),
    }
)


@settings(max_examples=300, deadline=None)
@given(first=_documents, second=_documents)
def test_the_fast_writer_writes_what_json_dumps_would(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    def expected(document: dict[str, Any]) -> bytes:
        return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()

    rendered = RenderedEntries()
    assert dump_document(first, rendered) == expected(first)
    # The same memo across writes, as a cache object keeps it: entries kept, changed, added.
    for host, by_md5 in second["uploads"].items():
        first["uploads"].setdefault(host, {}).update(by_md5)
    assert dump_document(first, rendered) == expected(first)


# --- links leading out of the project ------------------------------------------------------


def outside_and_project(tmp_path: Path) -> tuple[Path, Path]:
    outside, project = tmp_path / "outside", tmp_path / "repo"
    outside.mkdir()
    project.mkdir()
    (outside / "cache.json").write_text('{"uploads": {}, "version": 1}\n')
    return outside, project


@pytest.mark.parametrize(
    "name", [".imgsync-cache.json", ".lsky_upload_cache.json", ".imgsync/.imgsync-cache.json.lock"]
)
def test_a_cache_file_or_its_lock_linked_outside_is_refused_at_open(
    tmp_path: Path, name: str
) -> None:
    outside, project = outside_and_project(tmp_path)
    (project / ".imgsync").mkdir()
    (project / name).symlink_to(outside / ("cache.json" if "json" in name else "made.lock"))
    before = sorted(os.listdir(outside))

    with pytest.raises(CacheError) as caught:
        UploadCache.open(project / ".imgsync-cache.json", project=project)

    assert caught.value.path == project / name
    assert caught.value.reason.startswith(
        f"refused: it is a symbolic link that leads outside {project}, where imgsync never"
    )
    assert sorted(os.listdir(outside)) == before


def test_a_cache_linked_outside_after_open_is_not_written(tmp_path: Path) -> None:
    outside, project = outside_and_project(tmp_path)
    cache = UploadCache.open(project / ".imgsync-cache.json")  # the project: its folder
    (project / ".imgsync-cache.json").symlink_to(outside / "cache.json")

    with pytest.raises(CacheError, match="refused: it is a symbolic link that leads outside"):
        record(cache, LSKY, "a")

    assert (outside / "cache.json").read_text() == '{"uploads": {}, "version": 1}\n'


def test_a_state_folder_linked_outside_gets_no_lock(tmp_path: Path) -> None:
    outside, project = outside_and_project(tmp_path)
    cache = UploadCache.open(project / ".imgsync-cache.json", project=project)
    (project / ".imgsync").symlink_to(outside)  # after open(), which would refuse it

    with pytest.raises(CacheError, match="linked folder that leads outside"):
        UploadCache.open(project / ".imgsync-cache.json", project=project)
    with pytest.raises(CacheError) as caught:
        record(cache, LSKY, "a")

    assert str(caught.value) == (
        f"{project / '.imgsync-cache.json'}: {project / '.imgsync'}: refused: it is a symbolic"
        f" link that leads outside {project}, where imgsync never reads or writes"
    )
    assert sorted(os.listdir(outside)) == ["cache.json"]
    assert not (project / ".imgsync-cache.json").exists()


def test_a_cache_linked_within_the_project_is_written_through(tmp_path: Path) -> None:
    _, project = outside_and_project(tmp_path)
    (project / "data").mkdir()
    (project / ".imgsync-cache.json").symlink_to("data/cache.json")
    cache = UploadCache.open(project / ".imgsync-cache.json", project=project)

    entry = record(cache, LSKY, "a")

    assert (project / ".imgsync-cache.json").is_symlink()
    written = UploadCache.open(project / "data" / "cache.json")
    assert written.lookup(LSKY, *hashes("a")) == entry


def test_a_journal_upload_taken_in_while_a_write_is_under_way_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process uploaded x and kept it only in the journal (its cache write failed).
    # A worker's reload() takes it in while this thread writes the file: the write must not
    # replace the memory that holds it with its own older view, or x is uploaded again.
    import imgsync.cache
    from imgsync.files import atomic_write
    from imgsync.state.journal import UploadJournal, journal_path

    path = tmp_path / "cache.json"
    cache = UploadCache.open(path)
    UploadJournal(journal_path(path), tmp_path).append(
        LSKY, hashes("x")[0], entry_for("x").to_json()
    )

    def write_while_another_worker_reloads(*args: Any, **kwargs: Any) -> None:
        cache.reload()  # the other worker, in the window between read and replace
        atomic_write(*args, **kwargs)

    monkeypatch.setattr(imgsync.cache, "atomic_write", write_while_another_worker_reloads)
    record(cache, LSKY, "y")

    assert cache.lookup(LSKY, *hashes("x")) == entry_for("x")
    assert cache.lookup(LSKY, *hashes("y")) == entry_for("y")


def test_a_journal_upload_taken_in_by_reload_is_written_with_the_next_entry(
    tmp_path: Path,
) -> None:
    # record() writes the union of the file and what this object knows: an upload that
    # another process kept only in the journal, found by reload(), goes into the file too.
    from imgsync.state.journal import UploadJournal, journal_path

    path = tmp_path / "cache.json"
    cache = UploadCache.open(path)
    record(cache, LSKY, "y")
    UploadJournal(journal_path(path), tmp_path).append(
        LSKY, hashes("x")[0], entry_for("x").to_json()
    )
    cache.reload()

    record(cache, LSKY, "z")

    _, on_disk = read_document(path)
    assert set(on_disk[LSKY]) == {hashes(seed)[0] for seed in "xyz"}


def test_a_delete_url_an_older_imgsync_kept_is_dropped_and_leaves_the_file(
    tmp_path: Path,
) -> None:
    # Chevereto V4's delete_url deletes the image for anyone who opens it; the cache is
    # committed. imgsync 0.2 kept it in the handle.
    md5, sha = hashes("old")
    secret = "https://chv.example/image/abc/delete/0123456789abcdef"
    document = {
        "uploads": {
            "chevereto https://chv.example/api/1": {
                md5: {
                    "url": "https://chv.example/images/a.png",
                    "handle": {"delete_url": secret},
                    "size": 3,
                    "sha256": sha,
                    "uploaded_at": "2026-11-01T00:00:00Z",
                    "source": "a.png",
                }
            }
        },
        "version": 1,
    }
    path = tmp_path / ".imgsync-cache.json"
    path.write_text(json.dumps(document))
    cache = UploadCache.open(path, project=tmp_path)
    entry = cache.lookup("chevereto https://chv.example/api/1", md5, sha)
    assert entry is not None and entry.handle == {}  # never used, never shown

    new_md5, new_sha = hashes("new")
    cache.record(
        "chevereto https://chv.example/api/1",
        new_md5,
        CacheEntry("https://chv.example/images/b.png", {}, 3, new_sha, utc_now(), "b.png"),
    )

    text = path.read_text()
    assert secret not in text and "delete_url" not in text
    assert "https://chv.example/images/a.png" in text  # the entry itself is kept


def test_sent_sha256_is_written_only_when_the_bytes_sent_differ_and_read_back() -> None:
    file_hash, sent_hash = "a" * 64, "b" * 64
    entry = CacheEntry("https://h.example/i/a.png", {}, 10, file_hash, utc_now(), "a.png")
    assert "sent_sha256" not in entry.to_json()
    same = CacheEntry(entry.url, {}, 10, file_hash, entry.uploaded_at, "a.png", file_hash)
    assert "sent_sha256" not in same.to_json()
    stripped = CacheEntry(entry.url, {}, 10, file_hash, entry.uploaded_at, "a.png", sent_hash)
    assert stripped.to_json()["sent_sha256"] == sent_hash
    assert CacheEntry.from_json(stripped.to_json()) == stripped
    assert CacheEntry.from_json(entry.to_json()).sent_sha256 is None
    with pytest.raises(ValueError, match='"sent_sha256"'):
        CacheEntry.from_json({**entry.to_json(), "sent_sha256": "not a hash"})
