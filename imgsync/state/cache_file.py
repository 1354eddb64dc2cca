"""The cache file's format: its entries, read with advice on every fault.

    {"uploads": {HOST IDENTITY: {MD5: ENTRY}}, "version": 1}

Keys sorted, two-space indents and a final newline keep the git diff of an upload
to the lines of its entry (cache_writer.py). Keys written by a newer imgsync are
kept as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import CacheError
from ..hosted_url import identity_allows_http, quoted, rooted_base, url_problem

VERSION = 1
LEGACY_NAME = ".lsky_upload_cache.json"
MD5_RE = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FIELDS: dict[str, type] = {
    "url": str,
    "handle": dict,
    "size": int,
    "sha256": str,
    "uploaded_at": str,
    "source": str,
}


def utc_now() -> str:
    """The current time as the cache writes it: "2026-11-23T11:30:05Z"."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class CacheEntry:
    """One upload: where the image went and what is needed to find or delete it later."""

    url: str
    handle: Mapping[str, str]  # the host's id for deleting, e.g. {"key": "..."}; {} if none
    size: int  # bytes; 0 when unknown (taken over from the legacy Lsky cache)
    sha256: str  # lowercase hex, guards against MD5 collisions
    uploaded_at: str  # UTC, "2026-11-23T11:30:05Z"; "" when unknown (legacy)
    source: str  # the image's path when it was uploaded, relative to the project
    # The SHA-256 of the bytes sent, when they were not the file's (metadata stripped: see
    # docs/privacy.md); written only then, so entries stay readable by older versions.
    sent_sha256: str | None = None
    # The processing settings the image was sent with (processing.py's `label`), when any.
    processing: str | None = None

    @classmethod
    def from_legacy_cache(cls, url: str, sha256: str, source: str) -> CacheEntry:
        """An upload the legacy Lsky cache knows, which knows neither its size nor its time."""
        return cls(url, {}, 0, sha256, "", source)

    @property
    def taken_from_legacy_cache(self) -> bool:
        """Whether this entry comes from the legacy Lsky cache, not from this one (yet).

        The cache file has no field for it: such an entry, once recorded, gets its time.
        """
        return self.uploaded_at == ""

    def to_json(self) -> dict[str, Any]:
        """The entry as the cache file holds it."""
        return (
            {
                "url": self.url,
                "handle": dict(self.handle),
                "size": self.size,
                "sha256": self.sha256,
                "uploaded_at": self.uploaded_at,
                "source": self.source,
            }
            | (
                {"sent_sha256": self.sent_sha256}
                if self.sent_sha256 and self.sent_sha256 != self.sha256
                else {}
            )
            | ({"processing": self.processing} if self.processing else {})
        )

    @classmethod
    def from_json(cls, data: object) -> CacheEntry:
        """Read an entry back; ValueError says which field is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"is {_kind(data)}, not an object")
        for name, kind in _FIELDS.items():
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f'"{name}" is {_kind(value)}, not {_kind(kind())}')
        handle, size, sha256 = data["handle"], data["size"], data["sha256"]
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in handle.items()):
            raise ValueError('"handle" must map names to strings')
        if size < 0:
            raise ValueError(f'"size" is {size}, not a number of bytes')
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f'"sha256" is {sha256!r}, not 64 lowercase hex digits')
        if not data["url"]:
            raise ValueError('"url" is empty')
        sent = data.get("sent_sha256")
        if sent is not None and not (isinstance(sent, str) and _SHA256.fullmatch(sent)):
            raise ValueError(f'"sent_sha256" is {_kind(sent)}, not 64 lowercase hex digits')
        processing = data.get("processing")
        if processing is not None and not (isinstance(processing, str) and processing):
            raise ValueError(f'"processing" is {_kind(processing)}, not a non-empty string')
        kept = {name: value for name, value in handle.items() if name not in SECRET_HANDLE_KEYS}
        return cls(
            data["url"], kept, size, sha256, data["uploaded_at"], data["source"], sent, processing
        )


# Handle fields that are secrets, never kept: Chevereto V4's delete_url deletes the image for
# anyone who opens it, and the cache is committed. imgsync 0.2 kept it: read, it is dropped,
# and `scrub_secrets` takes it out of the file at its next write.
SECRET_HANDLE_KEYS = frozenset({"delete_url"})


def scrub_secrets(document: dict[str, Any]) -> None:
    """Take the SECRET_HANDLE_KEYS out of every entry of a cache document, in place."""
    for by_md5 in document.get("uploads", {}).values():
        for entry in by_md5.values() if isinstance(by_md5, dict) else ():
            handle = entry.get("handle") if isinstance(entry, dict) else None
            if isinstance(handle, dict):
                for name in SECRET_HANDLE_KEYS & handle.keys():
                    del handle[name]


def journal_record(record: object, *, allow_http: bool) -> tuple[str, str, CacheEntry]:
    """(host identity, MD5, entry) of a journal line's record; ValueError says what is wrong.

    The journal lives outside git, but it is a file on disk like the cache: its entries
    pass the same checks, URL included (http:// only as for the cache).
    """
    if not isinstance(record, dict):
        raise ValueError(f"is {_kind(record)}, not an object")
    host, md5 = record.get("host"), record.get("md5")
    if not isinstance(host, str) or not host:
        raise ValueError(f'"host" is {_kind(host)}, not a host identity')
    if not isinstance(md5, str) or not MD5_RE.fullmatch(md5):
        raise ValueError('"md5" is not 32 lowercase hex digits')
    entry = CacheEntry.from_json(record.get("entry"))
    http = allow_http or identity_allows_http(host)
    problem = url_problem(entry.url, allow_http=http, rooted_under=rooted_base(host))
    if problem is not None:
        raise ValueError(f'"url" {quoted(entry.url)} can\'t be used ({problem})')
    return host, md5, entry


# For a journal record, the (host identity, MD5, entry) it repeats, already checked; or None.
Repeats = Callable[[object], "tuple[str, str, CacheEntry] | None"]


def file_entry_repeated(
    raw_uploads: dict[str, Any], uploads: dict[str, dict[str, CacheEntry]]
) -> Repeats:
    """For a journal record, the cache file's entry it repeats word for word, already
    checked: (host identity, MD5, entry); else None, and `journal_record` checks it.

    `raw_uploads` and `uploads` are what `read_document` returned for one file: every
    entry there passed the checks a journal record passes (its URL with the same
    `allow_http`), so a record equal to one of them, each value of the same JSON type,
    would pass them with the same result. A journal holds every upload ever made from the
    checkout, nearly all of them in the file too: this spares re-checking them all.
    """

    def repeated(record: object) -> tuple[str, str, CacheEntry] | None:
        if not isinstance(record, dict):
            return None
        host, md5 = record.get("host"), record.get("md5")
        if not isinstance(host, str) or not host or not isinstance(md5, str):
            return None
        entry = uploads.get(host, {}).get(md5)
        if entry is None:
            return None
        written, raw = record.get("entry"), raw_uploads.get(host, {}).get(md5)
        # Equal JSON values are of equal types but for numbers (1 == 1.0 == true), and
        # "size" is the only number: an entry's other values are strings and a handle.
        if written != raw or type(written.get("size")) is not int:
            return None
        return host, md5, entry

    return repeated


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's pairs as a dict; _DuplicateKey if a key comes twice.

    JSON keeps the last of two equal keys while a person reading the diff sees the
    first: a pull request could hide an entry that way.
    """
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _load_json(path: Path) -> object:
    """The parsed file, None if it doesn't exist; CacheError if it isn't JSON (with each
    key once, and nested no deeper than Python's parser goes)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise CacheError(path, f"can't be read: {err.strerror or err}") from None
    try:
        return json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_unique_keys)
    except _DuplicateKey as err:
        raise _corrupt(
            path,
            f"has the key {quoted(err.key)} twice in one object (JSON keeps the last one,"
            " a reader of the diff sees the first), so it can't be trusted",
        ) from None
    except RecursionError:
        # 200,000 nested brackets: no cache is like that, only an attack on the parser.
        raise _corrupt(path, "is nested too deeply to be a cache file") from None
    except UnicodeDecodeError as err:
        raise _corrupt(path, f"is not UTF-8 text (byte {err.start})") from None
    except json.JSONDecodeError as err:
        if re.search(rb"^<<<<<<< ", raw, re.MULTILINE):
            raise CacheError(
                path,
                "has unresolved git merge conflict markers. Resolve the conflict by keeping"
                " the entries of both sides (they don't overlap unless they are identical),"
                " then run imgsync again.",
            ) from None
        where = f"line {err.lineno}, column {err.colno}"
        raise _corrupt(path, f"is not valid JSON ({where}: {err.msg})") from None
    except ValueError:
        # Past JSONDecodeError: what json.loads raises beyond it is a number it can't hold,
        # an integer of thousands of digits (Python's limit on converting them).
        raise _corrupt(path, "holds a number with too many digits to read") from None


def read_document(
    path: Path, *, allow_http: bool = False
) -> tuple[dict[str, Any], dict[str, dict[str, CacheEntry]]]:
    """The raw document and its entries; an empty cache if the file doesn't exist.

    Every entry's URL must pass `url_problem`, http:// only with `allow_http` or under a
    host identity that is itself http on loopback: the file is committed, so a pull
    request may have written it.
    """
    document = _load_json(path)
    if document is None:
        return {"version": VERSION, "uploads": {}}, {}
    if not isinstance(document, dict):
        raise _corrupt(path, f"holds {_kind(document)}, not a JSON object")
    _check_version(path, document)
    raw_uploads = document.get("uploads")
    if not isinstance(raw_uploads, dict):
        raise _corrupt(path, f'has {_kind(raw_uploads)} for "uploads", not an object')
    uploads: dict[str, dict[str, CacheEntry]] = {}
    for host, by_md5 in raw_uploads.items():
        if not isinstance(by_md5, dict):
            raise _corrupt(path, f"uploads[{host!r}] is {_kind(by_md5)}, not an object")
        http = allow_http or identity_allows_http(host)
        for md5, raw in by_md5.items():
            where = f"uploads[{host!r}][{md5!r}]"
            if not MD5_RE.fullmatch(md5):
                raise _corrupt(path, f"{where}: the key is not 32 lowercase hex digits (MD5)")
            try:
                entry = CacheEntry.from_json(raw)
            except ValueError as err:
                raise _corrupt(path, f"{where}: {err}") from None
            _check_url(path, where, entry.url, http, rooted_base(host))
            uploads.setdefault(host, {})[md5] = entry
    return document, uploads


def read_legacy(path: Path, *, allow_http: bool = False) -> dict[str, CacheEntry]:
    """The entries of an old Lsky upload script's cache, by SHA-256; {} if there is none.

    Its URLs pass the same check as the cache's (it names no host, so http:// only with
    `allow_http`).
    """
    document = _load_json(path)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise _corrupt(path, f"holds {_kind(document)}, not a JSON object")
    _check_version(path, document)
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, dict):
        raise _corrupt(path, f'has {_kind(raw_entries)} for "entries", not an object')
    legacy: dict[str, CacheEntry] = {}
    for sha256, raw in raw_entries.items():
        # Only "url" matters for reuse; "links" (other URL formats) is not needed.
        url = raw.get("url") if isinstance(raw, dict) else None
        source = raw.get("path", "") if isinstance(raw, dict) else None
        if not isinstance(url, str) or not url or not isinstance(source, str):
            where = f"entries[{sha256!r}]"
            raise _corrupt(path, f'{where} needs a "url" string (and "path", if any, a string)')
        if not _SHA256.fullmatch(sha256.lower()):
            raise _corrupt(path, f"entries[{sha256!r}]: the key is not a SHA-256 hex digest")
        _check_url(path, f"entries[{sha256!r}]", url, allow_http)
        legacy[sha256.lower()] = CacheEntry.from_legacy_cache(url, sha256.lower(), source)
    return legacy


def _check_url(
    path: Path, where: str, url: str, allow_http: bool, rooted_under: str | None = None
) -> None:
    problem = url_problem(url, allow_http=allow_http, rooted_under=rooted_under)
    if problem is not None:
        raise CacheError(
            path,
            f'{where}: "url" {quoted(url)} can\'t be used ({problem}). The cache is input: a'
            " pull request may have written this entry. Check the file's history (`git log -p --"
            f" {path.name}`), then remove the entry or restore the file from git.",
        )


def _check_version(path: Path, document: dict[str, Any]) -> None:
    if "version" not in document:
        raise _corrupt(path, 'has no "version"')
    version = document["version"]
    if type(version) is not int or version != VERSION:
        raise CacheError(
            path,
            f"has version {version!r}; this imgsync reads version {VERSION} only."
            " If a newer imgsync wrote it, upgrade imgsync; otherwise restore it from git"
            f" with `git checkout -- {path.name}`.",
        )


def _corrupt(path: Path, what: str) -> CacheError:
    return CacheError(
        path,
        f"{what}. Restore it from git with `git checkout -- {path.name}` (run in its folder),"
        " or fix it by hand. Moving it aside starts a cache holding only this checkout's"
        " uploads (from imgsync's journal in .imgsync/): every other image is uploaded again.",
    )


def _kind(value: object) -> str:
    """How JSON would name the type of `value`, for messages."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if value is None:
        return "missing or null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
