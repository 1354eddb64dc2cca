"""The cache file is input: its URLs pass the hosted-URL check, its keys come once, its depth
is bounded; what fails is a CacheError naming the file and the entry, the file left alone."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from imgsync.cache import CacheEntry, UploadCache
from imgsync.errors import CacheError

MD5 = hashlib.md5(b"a").hexdigest()
SHA = hashlib.sha256(b"a").hexdigest()
HTTPS_HOST = "lsky https://img.example.com/api/v1"
LOOPBACK_HOST = "lsky http://127.0.0.1:8080/api/v1"


def write_cache(folder: Path, host: str, url: str) -> Path:
    entry = {"url": url, "handle": {}, "size": 1, "sha256": SHA}
    entry |= {"uploaded_at": "2026-11-23T11:30:05Z", "source": "a.png"}
    path = folder / ".imgsync-cache.json"
    path.write_text(json.dumps({"uploads": {host: {MD5: entry}}, "version": 1}, indent=2))
    return path


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "img/a.png", "https://x.test/a b.png", "http://x.test/a.png"]
)
def test_an_entry_with_an_unusable_url_makes_the_cache_invalid(tmp_path: Path, url: str) -> None:
    path = write_cache(tmp_path, HTTPS_HOST, url)
    before = path.read_bytes()

    with pytest.raises(CacheError) as caught:
        UploadCache.open(path)

    message = str(caught.value)
    assert str(path) in message and f"[{MD5!r}]" in message and "can't be used" in message
    assert path.read_bytes() == before


def test_http_urls_pass_under_a_host_on_loopback_or_when_allowed(tmp_path: Path) -> None:
    loopback = write_cache(tmp_path, LOOPBACK_HOST, "http://127.0.0.1:8080/i/a.png")
    assert UploadCache.open(loopback).lookup(LOOPBACK_HOST, MD5, SHA) is not None

    elsewhere = write_cache(tmp_path, HTTPS_HOST, "http://img.example.com/i/a.png")
    with pytest.raises(CacheError):
        UploadCache.open(elsewhere)
    assert UploadCache.open(elsewhere, allow_http=True).lookup(HTTPS_HOST, MD5, SHA) is not None


def test_duplicate_keys_anywhere_make_the_cache_invalid(tmp_path: Path) -> None:
    path = write_cache(tmp_path, HTTPS_HOST, "https://img.example.com/a.png")
    path.write_text(path.read_text().replace('"size": 1,', '"size": 1, "size": 2,'))

    with pytest.raises(CacheError, match="has the key 'size' twice"):
        UploadCache.open(path)


def test_a_deeply_nested_cache_is_a_cache_error(tmp_path: Path) -> None:
    path = tmp_path / ".imgsync-cache.json"
    path.write_bytes(b"{" + b'"a":{' * 100_000 + b"}" * 100_001)

    with pytest.raises(CacheError, match="nested too deeply"):
        UploadCache.open(path)


def test_the_legacy_cache_is_checked_too(tmp_path: Path) -> None:
    legacy = tmp_path / ".lsky_upload_cache.json"
    entries = {SHA: {"url": "data:image/png;base64,AAAA", "path": "a.png"}}
    legacy.write_text(json.dumps({"version": 1, "entries": entries}))

    with pytest.raises(CacheError) as caught:
        UploadCache.open(tmp_path / ".imgsync-cache.json")

    message = str(caught.value)
    assert ".lsky_upload_cache.json" in message and f"entries[{SHA!r}]" in message


def test_an_unusable_url_is_never_recorded(tmp_path: Path) -> None:
    cache = UploadCache.open(tmp_path / ".imgsync-cache.json")
    entry = CacheEntry("javascript:alert(1)", {}, 1, SHA, "2026-11-23T11:30:05Z", "a.png")

    with pytest.raises(ValueError, match="not a URL the cache may hold"):
        cache.record(HTTPS_HOST, MD5, entry)

    assert not (tmp_path / ".imgsync-cache.json").exists()
