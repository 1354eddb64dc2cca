"""Finding 9: a file is uploaded as an image only with its type's real header, and an SVG that
could run script on the host's domain, or declare or load entities, is refused, not uploaded,
and its references are left as they are (exit 3)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.state.stamps import RACY_SECONDS
from imgsync.testing.fake_lsky import FakeLsky
from tests.hostile.conftest import SECRETS, run_imgsync
from tests.images import bmp_bytes

NS = 'xmlns="http://www.w3.org/2000/svg"'
TOKEN = SECRETS["LSKY_TOKEN"]  # the CI's own token for the host it pins
PLAIN_SVG = f'<?xml version="1.0"?>\n<!-- a drawing -->\n<svg {NS} width="1" height="1"/>\n'


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN, rate_limit=None) as fake:
        yield fake


def sync(project: Path, host: FakeLsky, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_imgsync(project, *args, ".", env={"LSKY_BASE_URL": host.url, **env})


def refused(project: Path, host: FakeLsky, name: str, data: bytes, reason: str) -> None:
    """`name` holding `data`, referenced from a post: refused with `reason`, nothing sent."""
    (project / name).write_bytes(data)
    post = f"# post\n\n![picture]({name})\n"
    (project / "post.md").write_text(post)

    done = sync(project, host)

    assert done.returncode == 3, done.stderr
    assert f"error: post.md:3: {name}: {reason}" in done.stderr, done.stderr
    assert host.uploads == []
    assert (project / "post.md").read_text() == post


def test_two_bytes_bm_are_not_a_bmp(project: Path, host: FakeLsky) -> None:
    refused(project, host, "a.bmp", b"BM<html><script>alert(1)</script>", "is not an image")


def test_a_bmp_with_its_header_uploads(project: Path, host: FakeLsky) -> None:
    (project / "a.bmp").write_bytes(bmp_bytes(2, 2))
    (project / "post.md").write_text("![x](a.bmp)\n")

    done = sync(project, host)

    assert done.returncode == 0, done.stderr
    assert [upload.filename for upload in host.uploads] == ["a.bmp"]


def test_svg_after_a_comment_trick_is_not_an_svg(project: Path, host: FakeLsky) -> None:
    trick = b"<!-- <svg -->\n<html><body><script>alert(document.cookie)</script></body></html>"
    refused(project, host, "trick.svg", trick, "is not an image")


@pytest.mark.parametrize(
    ("svg", "reason"),
    [
        (f"<svg {NS}><script>alert(1)</script></svg>", "refused: the SVG has a <script> element"),
        (
            f'<svg {NS} onload="alert(1)"><rect width="1"/></svg>',
            "refused: the SVG has an event-handler attribute (onload= on <svg>)",
        ),
        (
            f'<svg {NS} xmlns:xlink="http://www.w3.org/1999/xlink">'
            '<a xlink:href="jav&#x09;ascript:alert(1)"><text>x</text></a></svg>',
            "refused: the SVG has a javascript: link (href= on <a>)",
        ),
    ],
    ids=["script", "onload", "javascript-href"],
)
def test_a_scriptable_svg_is_refused_and_not_uploaded(
    project: Path, host: FakeLsky, svg: str, reason: str
) -> None:
    refused(project, host, "evil.svg", svg.encode(), reason)


def test_an_svg_with_an_external_entity_is_refused(project: Path, host: FakeLsky) -> None:
    xxe = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        f"<svg {NS}><text>&xxe;</text></svg>"
    )
    reason = "refused: the SVG has a DOCTYPE with an internal subset (entity declarations)"
    refused(project, host, "xxe.svg", xxe.encode(), reason)


def test_a_normal_svg_still_uploads(project: Path, host: FakeLsky) -> None:
    (project / "plain.svg").write_text(PLAIN_SVG)
    (project / "post.md").write_text("![x](plain.svg)\n")

    done = sync(project, host)

    assert done.returncode == 0, done.stderr
    assert [upload.filename for upload in host.uploads] == ["plain.svg"]
    assert "plain.svg" not in (project / "post.md").read_text()


def test_only_the_environment_allows_scriptable_svgs(project: Path, host: FakeLsky) -> None:
    (project / "anim.svg").write_text(f"<svg {NS}><script>start()</script></svg>")
    (project / "post.md").write_text("![x](anim.svg)\n")
    # A pull request can't switch it on: there is no such key in the repository's config.
    (project / "imgsync.toml").write_text("allow_svg_scripts = true\n")

    done = sync(project, host)

    assert done.returncode == 2 and "unknown key `allow_svg_scripts`" in done.stderr
    (project / "imgsync.toml").unlink()
    # A run that allowed it leaves a stamp of the file's facts; the next run reads it again.
    time.sleep(RACY_SECONDS + 0.2)  # a stamp taken right after a change is never trusted
    assert sync(project, host, "--dry-run", IMGSYNC_ALLOW_SVG_SCRIPTS="1").returncode == 1
    assert sync(project, host).returncode == 3 and host.uploads == []

    done = sync(project, host, IMGSYNC_ALLOW_SVG_SCRIPTS="1")

    assert done.returncode == 0, done.stderr
    assert [upload.filename for upload in host.uploads] == ["anim.svg"]


def test_the_upload_command_refuses_a_scriptable_svg(project: Path, host: FakeLsky) -> None:
    (project / "evil.svg").write_text(f'<svg {NS}><a href="javascript:alert(1)">x</a></svg>')
    (project / "plain.svg").write_text(PLAIN_SVG)

    done = run_imgsync(project, "upload", "evil.svg", "plain.svg", env={"LSKY_BASE_URL": host.url})

    assert done.returncode == 3 and done.stdout == ""
    assert "error: evil.svg: refused: the SVG has a javascript: link (href= on <a>)" in done.stderr
    assert [upload.filename for upload in host.uploads] == ["plain.svg"]
