"""The CommonMark spec examples, read from the npm package `commonmark-spec` (never copied here).

.ci/run unpacks the package and sets IMGSYNC_COMMONMARK_SPEC to its folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

_FENCE = "`" * 32
_EXAMPLE = re.compile(
    rf"^{_FENCE} example[^\n]*\n(.*?)^\.\n(.*?)^{_FENCE}$", re.MULTILINE | re.DOTALL
)


@dataclass(frozen=True)
class SpecExample:
    number: int
    markdown: str
    html: str


def spec_examples() -> list[SpecExample]:
    """Every example of spec.txt ("→" stands for a tab); skips, or fails in CI, without it."""
    folder = os.environ.get("IMGSYNC_COMMONMARK_SPEC")
    if not folder:
        if os.environ.get("CI"):
            pytest.fail("CI must set IMGSYNC_COMMONMARK_SPEC (see .ci/run)")
        pytest.skip("set IMGSYNC_COMMONMARK_SPEC to an unpacked npm `commonmark-spec` package")
    text = (Path(folder) / "spec.txt").read_text(encoding="utf-8")
    text = text.split("<!-- END TESTS -->")[0]
    return [
        SpecExample(number, md.replace("→", "\t"), html.replace("→", "\t"))
        for number, (md, html) in enumerate(_EXAMPLE.findall(text), start=1)
    ]
