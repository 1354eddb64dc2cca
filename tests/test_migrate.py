"""migrate's pure parts: what of an old URL's ?query#fragment moves with the reference, and
where an image's bytes come from (the cache is input: its `source` never leads outside)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from imgsync.cache import CacheEntry, UploadCache
from imgsync.config import Settings, load_settings
from imgsync.migrate import own_suffix
from imgsync.migrate_bytes import plan_bytes
from imgsync.remote import HostedBy, RemoteRef
from imgsync.scan import scan_markdown
from tests.images import png_bytes

LINKED = "https://cdn.pichub.app/abc.webp?w=800&fit=cover"


@pytest.mark.parametrize(
    ("url", "linked", "suffix"),
    [
        ("https://img.example.com/i/a.png", "", ""),
        ("https://img.example.com/i/a.png?v=2#top", "", "?v=2#top"),
        ("https://img.example.com/i/a.png#", "", "#"),
        ("https://img.example.com/i/a.png?a=1&b", "", "?a=1&b"),  # untouched: as written
        (LINKED, LINKED, ""),  # the old host's transform: left behind
        (LINKED + "#left", LINKED, "#left"),
        ("https://cdn.pichub.app/abc.webp?w=800&fit=cover&v=3", LINKED, "?v=3"),
        ("https://cdn.pichub.app/abc.webp?w=400", LINKED, "?w=400"),  # the writer's own width
    ],
)
def test_own_suffix(url: str, linked: str, suffix: str) -> None:
    assert own_suffix(url, linked) == suffix


def _setup(tmp_path: Path, source: str) -> tuple[Settings, UploadCache, RemoteRef]:
    root = tmp_path / "site"
    root.mkdir()
    (root / "imgsync.toml").write_text(
        'host = "old"\n[hosts.old]\ntype = "lsky"\nurl = "https://img.example.com/api/v1"\n'
        '[hosts.new]\ntype = "lsky"\nurl = "https://new.example.com/api/v1"\n'
    )
    data = png_bytes(rgb=(5, 6, 7))
    md5, sha256 = hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()
    (root / "img").mkdir()
    (root / "img" / "a.png").write_bytes(data)
    (tmp_path / "outside.png").write_bytes(data)
    settings = load_settings(cwd=root, env={})
    cache = UploadCache.open(settings.cache_path, project=settings.root)
    url = "https://img.example.com/i/a.png"
    entry = CacheEntry(url, {}, len(data), sha256, "2026-12-01T00:00:00Z", source)
    cache.record(OLD, md5, entry)
    [ref] = scan_markdown(f"![a]({url})\n").refs
    return settings, cache, RemoteRef(ref, url, HostedBy("old", "lsky", OLD, md5, entry))


OLD, NEW = "lsky https://img.example.com/api/v1", "lsky https://new.example.com/api/v1"


def test_the_local_file_is_used_while_it_matches_the_cache(tmp_path: Path) -> None:
    settings, cache, item = _setup(tmp_path, "img/a.png")
    plan = plan_bytes(item, NEW, cache, settings)
    assert plan.origin == "local" and plan.local is not None
    assert plan.local.path == (settings.root / "img" / "a.png").resolve()
    (settings.root / "img" / "a.png").write_bytes(png_bytes(rgb=(9, 9, 9)))
    assert plan_bytes(item, NEW, cache, settings).origin == "download"


@pytest.mark.parametrize("source", ["../outside.png", "img/a.png"])
def test_a_source_outside_the_project_is_never_read(tmp_path: Path, source: str) -> None:
    """The same bytes outside the project (named by `..`, or reached by a link) are not read."""
    settings, cache, item = _setup(tmp_path, source)
    (settings.root / "img" / "a.png").unlink()
    if source == "img/a.png":
        (settings.root / "img" / "a.png").symlink_to(tmp_path / "outside.png")
    assert plan_bytes(item, NEW, cache, settings).origin == "download"


def test_an_image_already_on_the_target_needs_no_bytes(tmp_path: Path) -> None:
    settings, cache, item = _setup(tmp_path, "img/a.png")
    assert item.hosted is not None and item.hosted.entry is not None and item.hosted.md5
    moved = replace(item.hosted.entry, url="https://new.example.com/i/b.png")
    cache.record(NEW, item.hosted.md5, moved)
    (settings.root / "img" / "a.png").unlink()
    assert plan_bytes(item, NEW, cache, settings).origin == "target"
