"""`imgsync check --format text|json|github`, run as the real console script.

The github lines are parsed the way the Actions runner reads a workflow command
(actions/runner src/Runner.Common/ActionCommand.cs, TryParseV2): `::name`, a space,
comma-separated key=value properties, `::`, the message; then each property value
and the message are unescaped. The regex admits `%` only as a known escape, and no
bare `:` or `,` inside a property value, so unescaped output cannot pass.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from imgsync.cache import CacheEntry, UploadCache, utc_now
from imgsync.render import escape_data, escape_property
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))

_PROPERTY_VALUE = r"(?:[^%,:\r\n]|%25|%0D|%0A|%3A|%2C)*"
_MESSAGE = r"(?:[^%\r\n]|%25|%0D|%0A)*"
ANNOTATION = re.compile(
    rf"::(?P<command>error|warning|notice)"
    rf" (?P<properties>[A-Za-z]+={_PROPERTY_VALUE}(?:,[A-Za-z]+={_PROPERTY_VALUE})*)"
    rf"::(?P<message>{_MESSAGE})"
)
# The runner's unescaping, in its order: %25 last, so "%253A" stays "%3A".
_DATA_ESCAPES = [("%0D", "\r"), ("%0A", "\n"), ("%25", "%")]
_PROPERTY_ESCAPES = [("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")]


def unescape(text: str, escapes: list[tuple[str, str]]) -> str:
    for escaped, char in escapes:
        text = text.replace(escaped, char)
    return text


def parse_annotation(line: str) -> tuple[str, dict[str, str], str]:
    match = ANNOTATION.fullmatch(line)
    assert match, f"not a workflow command: {line!r}"
    properties = {}
    for pair in match["properties"].split(","):
        key, value = pair.split("=", 1)
        properties[key] = unescape(value, _PROPERTY_ESCAPES)
    return match["command"], properties, unescape(match["message"], _DATA_ESCAPES)


NAME = "notes, part 1: draft.md"  # a comma and a colon, both special in properties
POST = "# Draft\n\n![g](<img/growth 100%.png>)\n\n![p](img/50%25off.png)\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / NAME).write_text(POST)
    (tmp_path / "img").mkdir()
    # An image a sync would send (check looks at it as a sync would). 50%off.png: none.
    (tmp_path / "img" / "growth 100%.png").write_bytes(png_bytes())
    (tmp_path / "done.md").write_text("![x](https://img.example.com/x.png)\n")
    (tmp_path / "blob.md").write_bytes(b"![a](b.png)\n\xff\xfe\x00binary\n")
    return tmp_path


def check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    return subprocess.run(
        [IMGSYNC, "check", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_github_format_is_one_escaped_error_annotation_per_finding(tree: Path) -> None:
    done = check(tree, "--format", "github", ".")

    assert done.returncode == 3  # blob.md cannot be read as Markdown
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    parsed = [parse_annotation(line) for line in lines]
    assert [command for command, _, _ in parsed] == ["error"] * 3
    (_, first, growth), (_, second, percent), (_, third, blob) = parsed
    assert first == {"file": NAME, "line": "3", "title": "imgsync: local image"}
    assert "<img/growth 100%.png> is not uploaded yet: run `imgsync` to upload it" in growth
    # The file is missing: fix the reference; never "upload" a file that doesn't exist.
    assert second == {"file": NAME, "line": "5", "title": "imgsync: missing image"}
    assert percent == (
        "local image img/50%25off.png is missing: not found (looked for img/50%off.png); "
        "fix the reference, or put the file there"
    )
    assert "upload" not in percent
    assert third == {"file": "blob.md", "line": "2", "title": "imgsync"}
    assert "binary" in blob
    assert "%2C" in lines[0] and "%3A" in lines[0] and "%25" in lines[0]
    assert done.stderr == (  # the summary stays off stdout
        "2 local image reference(s) left in 1 file(s): 1 not uploaded yet: run `imgsync` to "
        "upload them; 1 missing: no such file, fix the reference\n"
    )


def test_github_format_prints_nothing_when_all_is_done(tree: Path) -> None:
    done = check(tree, "--format", "github", "done.md")

    assert (done.returncode, done.stdout) == (0, "")


def test_format_json_is_the_json_document(tree: Path) -> None:
    by_format = check(tree, "--format", "json", NAME)
    by_flag = check(tree, "--json", NAME)

    assert by_format.returncode == by_flag.returncode == 1
    assert json.loads(by_format.stdout) == json.loads(by_flag.stdout)
    assert json.loads(by_format.stdout)["pending"] == [
        {
            "file": NAME,
            "line": 3,
            "reference": "<img/growth 100%.png>",
            "status": "not_uploaded",
            "reason": None,
        },
        {
            "file": NAME,
            "line": 5,
            "reference": "img/50%25off.png",
            "status": "missing",
            "reason": "not found (looked for img/50%off.png); fix the reference, or put the "
            "file there",
        },
    ]


def test_an_image_under_a_new_name_whose_bytes_are_in_the_cache_is_already_on_the_host(
    tree: Path,
) -> None:
    """Uploaded to a host no profile names (check needs none) as `img/old.png`; the post
    points at a copy named `img/growth 100%.png`, whose bytes are the same."""
    data = png_bytes(rgb=(5, 6, 7))
    (tree / "img" / "growth 100%.png").write_bytes(data)
    entry = CacheEntry(
        "https://img.example.org/i/abc.png",
        {},
        len(data),
        hashlib.sha256(data).hexdigest(),
        utc_now(),
        "img/old.png",
    )
    UploadCache.open(tree / ".imgsync-cache.json").record(
        "chevereto https://img.example.org/api/1", hashlib.md5(data).hexdigest(), entry
    )

    document = json.loads(check(tree, "--format", "json", NAME).stdout)
    github = check(tree, "--format", "github", NAME).stdout.splitlines()
    text = check(tree, NAME)

    assert [(p["reference"], p["status"], p["reason"]) for p in document["pending"]] == [
        ("<img/growth 100%.png>", "uploaded", None),
        ("img/50%25off.png", "missing", document["pending"][1]["reason"]),
    ]
    _, props, message = parse_annotation(github[0])
    assert props["title"] == "imgsync: local image already on the host"
    assert message == (
        "local image <img/growth 100%.png> is already on the host: run `imgsync` to point the "
        "reference at its URL"
    )
    assert text.stdout.splitlines()[0] == (
        f"{NAME}:3: <img/growth 100%.png>: already on the host: run `imgsync` to point the "
        "reference at its URL"
    )
    assert "1 already on the host: run `imgsync` to point them at their URLs" in text.stderr


def test_format_text_is_the_default(tree: Path) -> None:
    text = check(tree, "--format", "text", NAME)

    assert text.stdout == check(tree, NAME).stdout
    assert text.stdout.splitlines() == [
        f"{NAME}:3: <img/growth 100%.png>",
        f"{NAME}:5: img/50%25off.png: not found (looked for img/50%off.png); fix the reference, "
        "or put the file there",
    ]


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("plain", "plain", "plain"),
        ("100%", "100%25", "100%25"),
        ("%0A", "%250A", "%250A"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("x: y, z", "x: y, z", "x%3A y%2C z"),
        ("::error::", "::error::", "%3A%3Aerror%3A%3A"),
    ],
)
def test_escaping_round_trips_through_the_runner_rules(text: str, data: str, prop: str) -> None:
    assert escape_data(text) == data
    assert escape_property(text) == prop
    assert unescape(data, _DATA_ESCAPES) == text
    assert unescape(prop, _PROPERTY_ESCAPES) == text


def test_format_may_come_before_the_command(tree: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    before = subprocess.run(
        [IMGSYNC, "--format", "github", "check", NAME],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert before.stdout == check(tree, "--format", "github", NAME).stdout != ""
