"""Review fixes: a host's reply headers, and what a pull request commits, are input too.

Each test runs the real console script: bad input ends with a clear message and a
documented exit status, never a traceback (run_imgsync asserts there is none).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.attacker import Attacker, head
from tests.hostile.conftest import run_imgsync
from tests.images import png_bytes

HOST_TOKEN = "1|theHostsOwnTokenWhichTheAttackerAsHostMayGet00"
PAGE = b"# Post\n\n![plot](img/a.png)\n"
LSKY_OK = {"status": True, "data": {"key": "k", "links": {"url": "https://img.test/a.png"}}}


def as_host(attacker: Attacker) -> dict[str, str]:
    return {"LSKY_BASE_URL": attacker.origin + "/api/v1", "LSKY_TOKEN": HOST_TOKEN}


def a_post(project: Path) -> Path:
    (project / "img").mkdir()
    (project / "img" / "a.png").write_bytes(png_bytes(2, 2))
    (project / "post.md").write_bytes(PAGE)
    return project / "post.md"


def with_headers(status: int, extra: bytes, payload: object) -> object:
    """A JSON reply carrying `extra` header lines, raw bytes as the host sent them."""
    body = json.dumps(payload).encode()

    def answer(request: bytes, stop: threading.Event) -> Iterator[bytes]:
        yield head(status, len(body)).replace(b"\r\n\r\n", b"\r\n" + extra + b"\r\n\r\n") + body

    return answer


def test_non_ascii_reply_headers_on_a_success_still_record_the_upload(
    attacker: Attacker, project: Path
) -> None:
    post = a_post(project)
    extra = b'Content-Disposition: attachment; filename="\xc3\xa9.json"\r\nRetry-After: \xc2\xb2'
    attacker.answer = with_headers(200, extra, LSKY_OK)  # type: ignore[assignment]

    done = run_imgsync(project, ".", env=as_host(attacker))

    assert done.returncode == 0, done.stderr
    assert b"https://img.test/a.png" in post.read_bytes()
    assert "https://img.test/a.png" in (project / ".imgsync-cache.json").read_text("utf-8")


def test_rate_limit_headers_of_thousands_of_digits_are_ignored(
    attacker: Attacker, project: Path
) -> None:
    post = a_post(project)
    huge = b"9" * 5000
    extra = b"X-RateLimit-Limit: %s\r\nX-RateLimit-Remaining: %s\r\nX-RateLimit-Reset: %s" % (
        (huge,) * 3
    )
    attacker.answer = with_headers(200, extra, LSKY_OK)  # type: ignore[assignment]

    done = run_imgsync(project, ".", env=as_host(attacker))

    assert done.returncode == 0, done.stderr
    assert b"https://img.test/a.png" in post.read_bytes()


@pytest.mark.parametrize("name", [".imgsync-cache.json", ".lsky_upload_cache.json"])
def test_a_committed_cache_with_a_number_of_thousands_of_digits_is_a_cache_error(
    attacker: Attacker, project: Path, name: str
) -> None:
    post = a_post(project)
    (project / name).write_text('{"version": ' + "9" * 5000 + ', "uploads": {}}')

    done = run_imgsync(project, ".", env=as_host(attacker))

    assert done.returncode == 2, done.stderr
    assert f"{name}: holds a number with too many digits to read." in done.stderr
    assert post.read_bytes() == PAGE and attacker.received == b""


def test_a_committed_file_named_like_imgsyncs_own_folder_is_a_clear_error(
    attacker: Attacker, project: Path
) -> None:
    post = a_post(project)
    (project / ".imgsync").write_text("x")
    attacker.answer = with_headers(200, b"X-Any: 1", LSKY_OK)  # type: ignore[assignment]

    done = run_imgsync(project, ".", env=as_host(attacker))

    assert done.returncode == 2, done.stderr
    folder = project / ".imgsync"
    message = f"{folder} is a file, not a folder: imgsync keeps its own files there; remove it"
    assert message in done.stderr
    assert post.read_bytes() == PAGE


def test_globs_that_would_make_a_regex_backtrack_do_not_hold_the_run(
    attacker: Attacker, project: Path
) -> None:
    hostile = "**a" * 14 + "**b"
    (project / "imgsync.toml").write_text(f'include = ["{hostile}"]\nexclude = ["{hostile}"]\n')
    (project / ("a" * 200 + ".md")).write_text("# nothing\n")

    done = run_imgsync(project, ".", env=as_host(attacker), timeout=30)  # it took minutes

    assert done.returncode == 0, done.stderr
    assert attacker.received == b""
