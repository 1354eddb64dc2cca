"""Globs (imgsync/discover.py): matched without backtracking, exactly as the regex they replace."""

from __future__ import annotations

import re
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from imgsync.discover import Glob, discover_markdown, is_selected

HOSTILE = "**a" * 14 + "**b"
LONG_NAME = "a" * 200 + ".md"


def old_glob(pattern: str) -> re.Pattern[str]:
    """The regex translation globs had before (POSIX flags): the reference for their meaning."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def test_a_pattern_that_makes_a_regex_backtrack_answers_at_once(tmp_path: Path) -> None:
    (tmp_path / LONG_NAME).write_text("# a\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / LONG_NAME).write_text("# a\n")
    started = time.monotonic()
    assert Glob(HOSTILE).fullmatch(LONG_NAME) is False
    assert Glob(HOSTILE).fullmatch("sub/" + "a" * 400) is False
    files, _ = discover_markdown([tmp_path], root=tmp_path, include=[HOSTILE], exclude=[HOSTILE])
    assert files == []
    files, _ = discover_markdown([tmp_path], root=tmp_path, include=["**"], exclude=[HOSTILE])
    assert sorted(f.name for f in files) == [LONG_NAME, LONG_NAME]
    selected = is_selected(
        tmp_path / "sub" / LONG_NAME, tmp_path, root=tmp_path, include=["**"], exclude=[HOSTILE]
    )
    assert selected
    assert time.monotonic() - started < 1.0  # the regex took minutes


# Paths and patterns from a small alphabet, so that they meet often: wildcards, separators,
# brackets (literal in a glob), a newline (which `**` does not cross) and a non-ASCII letter.
PATH_CHARS = st.sampled_from(list("ab./\n[]é"))
PATTERN_PARTS = st.sampled_from(["a", "b", ".", "/", "*", "**", "**/", "?", "[", "]", "\n", "é"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(PATTERN_PARTS, max_size=8).map("".join), st.text(PATH_CHARS, max_size=12))
def test_globs_match_exactly_what_the_old_regex_matched(pattern: str, path: str) -> None:
    assert Glob(pattern).fullmatch(path) == bool(old_glob(pattern).fullmatch(path))


ORDINARY = [
    "**/*.md",
    "*.md",
    "docs/**",
    "docs/*.md",
    "**/node_modules/**",
    "a?c/**/x*.md",
    "**/[draft]*.md",
    "**",
    "*",
    "docs/**/b.md",
    "**.md",
    "a/**b/c.md",
]
PATHS = [
    "a.md",
    "docs/a.md",
    "docs/deep/b.md",
    "x/node_modules/",
    "x/node_modules/y.md",
    "abc/x.md",
    "abc/d/e/x1.md",
    "[draft]a.md",
    "d/[draft]b.md",
    "a/b/c.md",
    "a/xb/c.md",
    "docs/",
    "",
    "a\nb.md",
    "docs/a\n/b.md",
    "é/ü.md",
]


def test_ordinary_globs_agree_with_the_old_regex() -> None:
    for pattern in ORDINARY:
        for path in PATHS:
            expected = bool(old_glob(pattern).fullmatch(path))
            assert Glob(pattern).fullmatch(path) == expected, (pattern, path)
