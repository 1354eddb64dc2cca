"""Bad input, end to end: the real `imgsync` console script on real temp trees, fake Lsky host.

Each case has the outcome the "Bad input" table of docs/input.md documents: never a traceback;
each failure names the file (and the line where there is one) and the reason; the exit
status of the "Exit status" table; files that can be rewritten are, byte for byte, and
the others are left byte-identical.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from imgsync.testing.fake_lsky import DEFAULT_TOKEN, FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
CONFIG = '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
PNG = png_bytes(2, 2)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def make_project(tmp_path: Path, images: dict[str, bytes] | None = None) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "imgsync.toml").write_text(CONFIG)
    for name, data in (images or {"img/a.png": PNG}).items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(data)
    return project


def run(
    project: Path, host: FakeLsky, *args: str, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=DEFAULT_TOKEN, NO_PROXY="127.0.0.1")
    done = subprocess.run(
        [*prefix, IMGSYNC, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert DEFAULT_TOKEN not in done.stdout + done.stderr
    return done


def failures(stderr: str) -> list[str]:
    """Each failure on stderr as "place: reason", whether it was printed alone
    (`error: post.md:3: a.png: reason`) or under a reason several share."""
    found, shared = [], None
    for line in stderr.splitlines():
        group = re.fullmatch(r"error: \d+ references failed: (.*)", line)
        if group:
            shared = group[1]
        elif shared is not None and line.startswith("  "):
            found.append(f"{line.strip()}: {shared}")
        else:
            shared = None
            if line.startswith("error: "):
                found.append(line.removeprefix("error: "))
    return sorted(found)


def hosted_url(project: Path, data: bytes) -> str:
    """The URL the cache file recorded for these image bytes."""
    cache = json.loads((project / ".imgsync-cache.json").read_text())
    (entries,) = cache["uploads"].values()
    url: str = entries[hashlib.md5(data).hexdigest()]["url"]
    return url


def received(host: FakeLsky) -> list[tuple[str | None, str]]:
    """(file name, MD5 of the bytes) of each upload the host received, sorted."""
    return sorted((upload.filename, upload.md5) for upload in host.uploads)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- Markdown that is not UTF-8 ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "failure"),
    [
        pytest.param(
            "# Café\n\n![a](img/a.png)\n".encode("latin-1"),
            "bad.md:1: is not valid UTF-8 (byte 0xe9 at offset 5); convert it to UTF-8, "
            "e.g. `iconv -f latin1 -t utf-8`, or exclude it",
            id="latin-1",
        ),
        pytest.param(
            "# Title\n\nna\u00efve ![a](img/a.png)\n".encode("latin-1"),
            "bad.md:3: is not valid UTF-8 (byte 0xef at offset 11); convert it to UTF-8, "
            "e.g. `iconv -f latin1 -t utf-8`, or exclude it",
            id="latin-1-line-3",
        ),
        pytest.param(
            "# Title\n![a](img/a.png)\n".encode("utf-16"),
            "bad.md:1: is UTF-16; imgsync reads UTF-8 Markdown only",
            id="utf-16-with-bom",
        ),
        pytest.param(
            "# Title\n![a](img/a.png)\n".encode("utf-16-le"),
            "bad.md:1: looks like UTF-16 without a byte order mark; imgsync reads UTF-8 "
            "Markdown only: convert it, e.g. `iconv -f utf-16le -t utf-8`",
            id="utf-16-le-no-bom",
        ),
        pytest.param(
            "# Title\n![a](img/a.png)\n".encode("utf-16-be"),
            "bad.md:1: looks like UTF-16 without a byte order mark; imgsync reads UTF-8 "
            "Markdown only: convert it, e.g. `iconv -f utf-16le -t utf-8`",
            id="utf-16-be-no-bom",
        ),
        pytest.param(
            png_bytes(16, 16),
            "bad.md:1: looks like a binary file, not Markdown; exclude it in imgsync.toml",
            id="binary-named-md",
        ),
    ],
)
def test_markdown_that_is_not_utf8_is_named_and_left_alone(
    tmp_path: Path, fake_lsky: FakeLsky, data: bytes, failure: str
) -> None:
    project = make_project(tmp_path)
    (project / "bad.md").write_bytes(data)
    (project / "good.md").write_bytes(b"![a](img/a.png)\n")

    checked = run(project, fake_lsky, "check", ".")
    done = run(project, fake_lsky, ".")

    assert checked.returncode == 3
    assert failures(checked.stderr) == [failure]
    assert checked.stdout == "good.md:1: img/a.png\n"
    assert done.returncode == 3
    assert failures(done.stderr) == [failure]
    assert (project / "bad.md").read_bytes() == data
    url = hosted_url(project, PNG)
    assert (project / "good.md").read_bytes() == f"![a]({url})\n".encode()
    assert received(fake_lsky) == [("a.png", md5(PNG))]


def test_a_utf8_bom_is_kept_byte_exact(tmp_path: Path, fake_lsky: FakeLsky) -> None:
    project = make_project(tmp_path)
    post = project / "post.md"
    post.write_bytes(b'\xef\xbb\xbf# T\xc3\xaftle\r\n\r\n![a](img/a.png "t")\r\nend')

    done = run(project, fake_lsky, ".")

    assert done.returncode == 0, done.stderr
    url = hosted_url(project, PNG)
    expected = f'\ufeff# T\u00eftle\r\n\r\n![a]({url} "t")\r\nend'.encode()
    assert post.read_bytes() == expected
    assert run(project, fake_lsky, "check", ".").returncode == 0


# --- large files, long lines, deep nesting --------------------------------------------------

_PROSE = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor\n"
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud\n"
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute\n"
    "irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla.\n\n"
)
_LOG = "```text\n" + "2025-01-01 12:00:00 INFO ![not an image](in-code.png) ok\n" * 20 + "```\n\n"
_SECTION = "## Day\n\n" + _PROSE * 6 + _LOG + "See [the docs](https://example.com/docs).\n\n"


@pytest.mark.slow
def test_a_20_mb_markdown_file_is_rewritten_exactly(tmp_path: Path, fake_lsky: FakeLsky) -> None:
    # About 25 s here (sync parses the file five times: scan, then the rewrite's re-check).
    images = {f"img/{i}.png": png_bytes(2, 2, (i, 0, 0)) for i in range(5)}
    project = make_project(tmp_path, images)
    filler = _SECTION * (4 * 2**20 // len(_SECTION))  # 4 MB between two images
    pieces = [filler + f"![figure {i}]({{{i}}})\n\n" for i in range(5)]
    post = project / "big.md"
    post.write_text("".join(pieces).format(*(f"img/{i}.png" for i in range(5))))
    assert post.stat().st_size > 20_000_000

    done = run(project, fake_lsky, ".")

    assert done.returncode == 0, done.stderr
    urls = [hosted_url(project, images[f"img/{i}.png"]) for i in range(5)]
    assert post.read_text() == "".join(pieces).format(*urls)
    assert received(fake_lsky) == sorted(
        (f"{i}.png", md5(images[f"img/{i}.png"])) for i in range(5)
    )


def test_a_5_mb_line_with_an_image_in_the_middle(tmp_path: Path, fake_lsky: FakeLsky) -> None:
    project = make_project(tmp_path)
    half = "word " * (2**20 // 2)  # 2.5 MB
    post = project / "long.md"
    post.write_text(f"# Long\n{half}![mid](img/a.png){half}\n![next](img/a.png)")

    done = run(project, fake_lsky, ".")

    assert done.returncode == 0, done.stderr
    url = hosted_url(project, PNG)
    assert post.read_text() == f"# Long\n{half}![mid]({url}){half}\n![next]({url})"
    assert received(fake_lsky) == [("a.png", md5(PNG))]


def _lists(levels: int, last: str) -> str:
    """`levels` lists, each inside the last item of the one before, `last` the deepest item."""
    return "".join("  " * i + "- level\n" for i in range(levels - 1)) + "  " * (levels - 1) + last


def _quoted(levels: int, text: str) -> str:
    return "".join("> " * levels + line for line in text.splitlines(keepends=True))


# markdown-it (CommonMark preset) reads 20 levels: a block quote counts 1, a list 2.
TOO_DEEP = (
    "nested too deeply to be read (20 levels or more; a block quote counts 1, a list 2): "
    "the images here are left as they are; flatten the nesting or edit them by hand"
)


@pytest.mark.parametrize(
    ("text", "deep_line"),
    [
        pytest.param(">" * 19 + " ![q](img/a.png)\n", None, id="19-block-quotes"),
        pytest.param(">" * 20 + " ![q](img/a.png)\n", 1, id="20-block-quotes"),
        pytest.param(
            "intro\n\n" + ">" * 100 + " ![q](img/a.png)\n\nafter ![ok](img/b.png)\n",
            3,
            id="100-block-quotes",
        ),
        pytest.param(_lists(9, "- ![l](img/a.png)\n"), None, id="9-lists"),
        pytest.param(_lists(10, "- ![l](img/a.png)\n"), 10, id="10-lists"),
        pytest.param(_lists(100, "- ![l](img/a.png)\n"), 100, id="100-lists"),
        pytest.param(_quoted(5, _lists(7, "- ![l](img/a.png)\n")), None, id="5-quotes-7-lists"),
        pytest.param(_quoted(6, _lists(7, "- ![l](img/a.png)\n")), 7, id="6-quotes-7-lists"),
        pytest.param(">" * 20 + " lazy\n![lazy](img/a.png)\n", 2, id="lazy-continuation"),
        pytest.param(">" * 30 + ' <img src="img/a.png">\n', 1, id="html-img"),
        pytest.param("![x][r]\n\n" + ">" * 25 + " [r]: img/a.png\n", 3, id="definition"),
    ],
)
def test_an_image_nested_too_deeply_is_reported_never_skipped(
    tmp_path: Path, fake_lsky: FakeLsky, text: str, deep_line: int | None
) -> None:
    project = make_project(tmp_path, {"img/a.png": PNG, "img/b.png": png_bytes(3, 3)})
    post = project / "deep.md"
    post.write_text(text)

    checked = run(project, fake_lsky, "check", ".")
    done = run(project, fake_lsky, ".")

    if deep_line is None:  # within the limit: read and rewritten like any other
        assert (checked.returncode, done.returncode) == (1, 0), done.stderr
        assert post.read_text() == text.replace("img/a.png", hosted_url(project, PNG))
        return
    expected = [f"deep.md:{deep_line}: {TOO_DEEP}"]
    assert (checked.returncode, failures(checked.stderr)) == (3, expected)
    assert (done.returncode, failures(done.stderr)) == (3, expected)
    if "img/b.png" in text:  # the rest of the file is still done
        assert post.read_text() == text.replace("img/b.png", hosted_url(project, png_bytes(3, 3)))
        assert received(fake_lsky) == [("b.png", md5(png_bytes(3, 3)))]
    else:
        assert post.read_text() == text
        assert received(fake_lsky) == []


# --- symlinks, permissions --------------------------------------------------------------------


def test_symlink_loops_in_the_tree_end_and_each_file_is_done_once(
    tmp_path: Path, fake_lsky: FakeLsky
) -> None:
    project = make_project(tmp_path)
    docs = project / "docs"
    docs.mkdir()
    (docs / "up").symlink_to("..")  # a folder linked to its parent: a loop to walk into
    (docs / "post.md").write_text("![a](../img/a.png)\n![through the loop](up/img/a.png)\n")
    (docs / "alias.md").symlink_to("post.md")  # the same file under a second name
    (docs / "self.md").symlink_to("self.md")
    (project / "img" / "loop.png").symlink_to("loop.png")
    (docs / "loops.md").write_text("![l](../img/loop.png)\n")

    done = run(project, fake_lsky, ".")

    assert done.returncode == 3
    assert failures(done.stderr) == [
        "docs/loops.md:1: ../img/loop.png: cannot be opened "
        "(img/loop.png: a symbolic link loop)",  # normalised: no docs/../
        "docs/self.md: cannot be read: Too many levels of symbolic links",
    ]
    assert "3 file(s) scanned" in done.stderr  # alias.md and post.md are one file
    url = hosted_url(project, PNG)
    assert (docs / "post.md").read_text() == f"![a]({url})\n![through the loop]({url})\n"
    assert (docs / "alias.md").is_symlink()
    assert received(fake_lsky) == [("a.png", md5(PNG))]


@functools.cache
def _modes_binding_prefix() -> tuple[str, ...] | None:
    """A command prefix under which file modes bind: none for a normal user; as root,
    setpriv without the two capabilities that bypass them; None if neither can be had."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_text("x")
        probe.chmod(0)
        tried = subprocess.run(
            [*prefix, sys.executable, "-c", f"open({str(probe)!r})"], capture_output=True
        )
    return prefix if b"PermissionError" in tried.stderr else None


def test_unreadable_files_and_folders_are_named(tmp_path: Path, fake_lsky: FakeLsky) -> None:
    prefix = _modes_binding_prefix()
    if prefix is None:
        pytest.skip("running as root, which reads any file, and setpriv can't drop that here")
    project = make_project(tmp_path, {"img/a.png": PNG, "img/secret.png": png_bytes(3, 3)})
    (project / "locked").mkdir()
    (project / "locked" / "b.png").write_bytes(png_bytes(4, 4))
    (project / "locked" / "inner.md").write_text("![b](b.png)\n")
    (project / "closed.md").write_bytes(b"![a](img/a.png)\n")
    post = project / "post.md"
    post.write_text("![a](img/a.png)\n![s](img/secret.png)\n![b](locked/b.png)\n")
    closed = [project / "closed.md", project / "img" / "secret.png", project / "locked"]
    for path in closed:
        path.chmod(0)
    try:
        done = run(project, fake_lsky, ".", prefix=prefix)
    finally:
        for path in closed:
            path.chmod(0o755)

    assert done.returncode == 3
    assert failures(done.stderr) == [
        "closed.md: cannot be read: Permission denied",
        "locked: folder cannot be read: Permission denied",
        "post.md:2: img/secret.png: cannot be read: Permission denied",
        "post.md:3: locked/b.png: cannot be opened (locked/b.png: Permission denied)",
    ]
    url = hosted_url(project, PNG)
    assert post.read_text() == f"![a]({url})\n![s](img/secret.png)\n![b](locked/b.png)\n"
    assert (project / "closed.md").read_bytes() == b"![a](img/a.png)\n"
    assert received(fake_lsky) == [("a.png", md5(PNG))]


def test_a_read_only_markdown_file_is_left_alone(tmp_path: Path, fake_lsky: FakeLsky) -> None:
    project = make_project(tmp_path)
    locked = project / "locked.md"
    locked.write_bytes(b"![a](img/a.png)\n")
    remote = project / "remote.md"
    remote.write_bytes(b"![r](https://example.com/r.png)\n")
    for path in (locked, remote):
        path.chmod(0o444)

    first = run(project, fake_lsky, ".")
    second = run(project, fake_lsky, ".")

    for done in (first, second):
        assert done.returncode == 3
        assert failures(done.stderr) == [
            "locked.md: is read-only; left unchanged (chmod u+w to allow)"
        ]
    assert locked.read_bytes() == b"![a](img/a.png)\n"
    assert remote.read_bytes() == b"![r](https://example.com/r.png)\n"
    assert hosted_url(project, PNG)  # recorded: the second run uploaded nothing again
    assert received(fake_lsky) == [("a.png", md5(PNG))]


# --- awkward image names and contents -------------------------------------------------------

_NFC = unicodedata.normalize("NFC", "caf\u00e9.png")
_NFD = unicodedata.normalize("NFD", _NFC)


@dataclass(frozen=True)
class Name:
    """An image file, a reference to it, and what must come of it."""

    disk: str  # the file's path in the project
    dest: str  # the destination as the Markdown writes it
    sent: str | None = None  # the file name the host receives; None: no upload
    written: str | None = None  # the new destination ({url} the hosted URL); None: unchanged
    error: str = ""  # the failure's reason, "" for none
    data: bytes = PNG
    served: str = "image/png"  # the type the host was told (and serves the image as)


NAMES = [
    pytest.param(
        Name("img/my image.png", "<img/my image.png>", "my image.png", "<{url}>"), id="space-angle"
    ),
    pytest.param(
        Name("img/my image.png", "img/my%20image.png", "my image.png", "{url}"), id="space-%20"
    ),
    # Not an image for CommonMark (a destination can't hold a bare space): plain text.
    pytest.param(Name("img/a(1).png", "img/a(1).png", "a(1).png", "{url}"), id="parens"),
    pytest.param(
        Name("img/a (1).png", "<img/a (1).png>", "a (1).png", "<{url}>"), id="parens-space"
    ),
    pytest.param(Name("img/a).png", "img/a\\).png", "a).png", "{url}"), id="escaped-paren"),
    pytest.param(
        Name(
            "img/a#b.png",
            "img/a#b.png",
            error="not found (looked for img/a); a `#` begins the URL's fragment: "
            "write it as %23 in a file name",
        ),
        id="hash",
    ),
    pytest.param(Name("img/a#b.png", "img/a%23b.png", "a#b.png", "{url}"), id="hash-%23"),
    pytest.param(Name("img/a.png", "img/a.png#center", "a.png", "{url}#center"), id="fragment"),
    pytest.param(
        Name(
            "img/a?b.png",
            "img/a?b.png",
            error="not found (looked for img/a); a `?` begins the URL's query: "
            "write it as %3F in a file name",
        ),
        id="question-mark",
    ),
    pytest.param(Name("img/a?b.png", "img/a%3Fb.png", "a?b.png", "{url}"), id="question-%3F"),
    pytest.param(Name("img/100%.png", "img/100%.png", "100%.png", "{url}"), id="percent"),
    pytest.param(Name("img/100%.png", "img/100%25.png", "100%.png", "{url}"), id="percent-%25"),
    pytest.param(
        Name(
            "img/a%20b.png",
            "img/a%20b.png",
            error="not found (looked for img/a b.png); did you mean img/a%20b.png (a close name)?",
        ),
        id="percent-20-in-name",
    ),
    pytest.param(Name("img/a%20b.png", "img/a%2520b.png", "a%20b.png", "{url}"), id="percent-2520"),
    pytest.param(Name(f"img/{_NFD}", f"img/{_NFC}", _NFD, "{url}"), id="nfc-text-nfd-disk"),
    pytest.param(Name(f"img/{_NFC}", f"img/{_NFD}", _NFC, "{url}"), id="nfd-text-nfc-disk"),
    pytest.param(Name("img/图 片.png", "<img/图 片.png>", "图 片.png", "<{url}>"), id="cjk"),
    # A backslash before a letter is a backslash (CommonMark); imgsync reads it as a folder
    # separator, as browsers do. Before punctuation it is an escape: `img\_a.png` is `img_a.png`.
    pytest.param(Name("img/a.png", "img\\a.png", "a.png", "{url}"), id="backslash"),
    pytest.param(
        Name(
            "img/_a.png",
            "img\\_a.png",
            error="not found (looked for img_a.png); fix the reference, or put the file there",
        ),
        id="backslash-escape",
    ),
    pytest.param(Name("img/A.PNG", "img/A.PNG", "A.png", "{url}"), id="upper-case-extension"),
    pytest.param(Name("img/photo.jpg", "img/photo.jpg", "photo.png", "{url}"), id="png-named-jpg"),
    pytest.param(
        Name(
            "img/photo.png", "img/photo.png", "photo.jpg", "{url}", data=JPEG, served="image/jpeg"
        ),
        id="jpeg-named-png",
    ),
    pytest.param(
        Name(
            "img/notes.png",
            "img/notes.png",
            error="is not an image (its bytes start b'hello wo')",
            data=b"hello world\n",
        ),
        id="text-named-png",
    ),
    pytest.param(
        Name("img/empty.png", "img/empty.png", error="is an empty file, not an image", data=b""),
        id="zero-bytes",
    ),
]


@pytest.mark.parametrize("case", NAMES)
def test_image_names_and_contents(tmp_path: Path, fake_lsky: FakeLsky, case: Name) -> None:
    project = make_project(tmp_path, {case.disk: case.data})
    post = project / "post.md"
    before = f"# Names\n\n![x]({case.dest})\n"
    post.write_text(before)

    done = run(project, fake_lsky, ".")

    if case.error:
        assert done.returncode == 3
        assert failures(done.stderr) == [f"post.md:3: {case.dest}: {case.error}"]
    else:
        assert done.returncode == 0, done.stderr
        assert failures(done.stderr) == []
    if case.written is None:
        assert post.read_text() == before
        assert received(fake_lsky) == []
        return
    url = hosted_url(project, case.data)
    assert post.read_text() == f"# Names\n\n![x]({case.written.format(url=url)})\n"
    assert received(fake_lsky) == [(case.sent, md5(case.data))]
    with httpx.Client(trust_env=False) as client:
        served = client.get(url)
    assert (served.status_code, served.headers["content-type"]) == (200, case.served)
    assert served.content == case.data


def test_a_raw_space_in_a_destination_is_reported_with_its_fix(
    tmp_path: Path, fake_lsky: FakeLsky
) -> None:
    # CommonMark reads `![x](img/my image.png)` as text; Typora shows it as an image. It is
    # neither hosted nor passed over in silence (issue 14): the failure says how to write it.
    project = make_project(tmp_path, {"img/my image.png": png_bytes()})
    post = project / "post.md"
    before = "# Names\n\n![x](img/my image.png)\n"
    post.write_text(before)

    done = run(project, fake_lsky, ".")

    assert done.returncode == 3
    assert "post.md:3: `![x](img/my image.png)` is not an image to CommonMark" in done.stderr
    assert "write it as ![x](<img/my image.png>)" in done.stderr
    assert post.read_text() == before and received(fake_lsky) == []
