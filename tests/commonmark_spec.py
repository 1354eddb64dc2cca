"""The CommonMark spec examples, read from the npm package `commonmark-spec` (never copied here).

.ci/run unpacks the package and names its folder in IMGSYNC_COMMONMARK_SPEC:

    npm pack commonmark-spec && tar xzf commonmark-spec-*.tgz
    IMGSYNC_COMMONMARK_SPEC=$PWD/package pytest tests/test_commonmark_spec.py
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

FENCE = "`" * 32


@dataclass(frozen=True)
class Example:
    number: int
    section: str
    markdown: str


def parse_spec(text: str) -> list[Example]:
    """The examples of spec.txt: a fence + " example", markdown, ".", HTML, a fence."""
    examples: list[Example] = []
    section, collecting = "", False
    lines: list[str] = []
    for line in text.split("<!-- END TESTS -->")[0].splitlines():
        if line == FENCE + " example":
            collecting, lines = True, []
        elif collecting and line == FENCE:
            collecting = False
            markdown = "".join(f"{piece}\n" for piece in lines[: lines.index(".")])
            examples.append(Example(len(examples) + 1, section, markdown.replace("→", "\t")))
        elif collecting:
            lines.append(line)
        elif line.startswith("#"):
            section = line.lstrip("#").strip()
    return examples


def load_examples() -> tuple[list[Example], str]:
    """(examples, "") or ([], why they are missing)."""
    folder = os.environ.get("IMGSYNC_COMMONMARK_SPEC")
    if not folder:
        return [], "IMGSYNC_COMMONMARK_SPEC is not set (see tests/commonmark_spec.py)"
    return parse_spec((Path(folder) / "spec.txt").read_text(encoding="utf-8")), ""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def spec_examples() -> list[Example]:
    """The examples, for a test that needs them: skipped without them, failed in CI."""
    examples, missing = load_examples()
    if missing and in_ci():
        pytest.fail(missing)
    if missing:
        pytest.skip(missing)
    return examples
