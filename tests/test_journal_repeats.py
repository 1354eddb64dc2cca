"""A cache opened with its journal: lines that repeat the file's own entries reuse them.

The shortcut (`file_entry_repeated`) must change nothing but the time taken: the same
uploads, the same forgotten ones and the same warnings as checking every line.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from imgsync.cache import UploadCache
from imgsync.state.cache_file import file_entry_repeated, read_document
from imgsync.state.journal import UploadJournal, journal_path

HOST = "lsky https://img.example.com/api/v1"
LOOPBACK = "lsky http://127.0.0.1:8080/api/v1"  # http:// allowed under it
FOLDER = "folder /images/"  # root-relative URLs under its prefix
OTHER_HOST = "chevereto https://pics.example.org/api/1"
BASES = {
    HOST: "https://img.example.com/i/",
    LOOPBACK: "http://127.0.0.1:8080/i/",
    FOLDER: "/images/",
}


def entry(host: str, n: int) -> dict[str, Any]:
    """Entry `n` of `host`; its size is `n`, so that 0 and 1 meet false and true."""
    made: dict[str, Any] = {
        "handle": {"key": f"k{n}"},
        "sha256": hashlib.sha256(str(n).encode()).hexdigest(),
        "size": n,
        "source": f"img/figure-{n}.png",
        "uploaded_at": "2026-12-01T10:00:00Z",
        "url": f"{BASES[host]}{n}.png",
    }
    if n == 1:
        made["handle"]["delete_url"] = "https://img.example.com/delete/secret"  # never kept
    if n == 2:
        made["processing"] = "strip-location"
    if n == 3:
        made["sent_sha256"] = hashlib.sha256(b"sent").hexdigest()
    return made


def md5_of(n: int) -> str:
    return hashlib.md5(str(n).encode()).hexdigest()


def write_cache(root: Path, in_file: dict[str, dict[str, dict[str, Any]]]) -> Path:
    path = root / ".imgsync-cache.json"
    path.write_text(json.dumps({"version": 1, "uploads": in_file}, indent=2, sort_keys=True))
    return path


def write_journal(cache: Path, records: list[object]) -> UploadJournal:
    journal = UploadJournal(journal_path(cache), cache.parent)
    journal.path.parent.mkdir(exist_ok=True)
    journal.path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    return journal


CHANGES: dict[str, Any] = {
    "float size": lambda e: e.update(size=float(e["size"])),
    "bool size": lambda e: e.update(size=bool(e["size"])),
    "text size": lambda e: e.update(size=str(e["size"])),
    "other url": lambda e: e.update(url=e["url"].replace(".png", "-again.png")),
    "bad url": lambda e: e.update(url="javascript:alert(1)"),
    "no source": lambda e: e.pop("source"),
    "extra field": lambda e: e.update(extra=1.0),
    "other handle": lambda e: e.update(handle={"key": "other"}),
    "handle not text": lambda e: e.update(handle={"key": 1}),
    "secret added": lambda e: e["handle"].update(delete_url="https://x.test/d"),
    "secret dropped": lambda e: e["handle"].pop("delete_url", None),
    "sent null": lambda e: e.update(sent_sha256=None),
    "processing empty": lambda e: e.update(processing=""),
    "processing other": lambda e: e.update(processing="other"),
}


# What a journal line can be, against a file holding entries 0-3 of each of BASES' hosts.
def varied(host: str, n: int, how: str) -> object:
    e = entry(host, n)
    record: dict[str, Any] = {"entry": e, "host": host, "md5": md5_of(n)}
    if how in CHANGES:
        CHANGES[how](e)
    elif how == "other host":
        record["host"] = OTHER_HOST
    elif how == "empty host":
        record["host"] = ""
    elif how == "forget":
        return {"forget": e["url"], "host": host, "md5": md5_of(n)}
    elif how == "not an object":
        return [n]
    return record


HOWS = ["copy", *CHANGES, "other host", "empty host", "forget", "not an object"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(BASES)), st.integers(0, 5), st.sampled_from(HOWS)),
        max_size=25,
    ),
    st.booleans(),
)
def test_the_shortcut_reads_a_journal_as_the_full_checks_do(
    tmp_path_factory: Any, lines: list[tuple[str, int, str]], allow_http: bool
) -> None:
    root = tmp_path_factory.mktemp("cache")
    in_file = {host: {md5_of(n): entry(host, n) for n in range(4)} for host in BASES}
    in_file[""] = {md5_of(0): entry(HOST, 0)}  # read_document takes an empty host; lines don't
    cache = write_cache(root, in_file)
    journal = write_journal(cache, [varied(host, n, how) for host, n, how in lines])
    raw, uploads = read_document(cache, allow_http=allow_http)
    checked = journal.uploads(allow_http=allow_http)
    shortcut = journal.uploads(
        allow_http=allow_http, repeats=file_entry_repeated(raw["uploads"], uploads)
    )
    assert shortcut.uploads == checked.uploads
    assert shortcut.problems == checked.problems
    assert shortcut.forgotten == checked.forgotten
    at, at_checked = shortcut.position, checked.position
    assert (at.inode, at.size, at.lines) == (at_checked.inode, at_checked.size, at_checked.lines)


def test_a_copy_reuses_the_file_entry_and_a_near_copy_is_checked(tmp_path: Path) -> None:
    cache = write_cache(tmp_path, {HOST: {md5_of(1): entry(HOST, 1)}})
    raw, uploads = read_document(cache)
    repeated = file_entry_repeated(raw["uploads"], uploads)
    assert repeated(varied(HOST, 1, "copy")) == (HOST, md5_of(1), uploads[HOST][md5_of(1)])
    for how in ("bool size", "other handle", "secret dropped", "extra field", "other host"):
        assert repeated(varied(HOST, 1, how)) is None, how
    assert repeated(varied(HOST, 2, "copy")) is None  # not in the file


def test_a_near_copy_in_the_journal_is_still_warned_about_at_open(tmp_path: Path) -> None:
    cache = write_cache(tmp_path, {HOST: {md5_of(n): entry(HOST, n) for n in range(3)}})
    write_journal(
        cache, [varied(HOST, 0, "copy"), varied(HOST, 1, "bool size"), varied(HOST, 2, "copy")]
    )
    opened = UploadCache.open(cache, project=tmp_path)
    assert list(opened.warnings) == [(journal_path(cache), 2)]
    assert '"size" is' in opened.warnings[(journal_path(cache), 2)]
    assert opened.from_journal == 0
