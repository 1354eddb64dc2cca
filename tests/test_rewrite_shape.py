"""The rewrite's last check compares the inline stage only where the text changed (or where
its raw HTML matters): it must judge every pair of texts as a comparison of the whole parse
does. Pairs are a generated document and the same with one small edit anywhere."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgsync.errors import RewriteRefused
from imgsync.rewrite_shape import _Side, check_same_shape, renderer

from .test_scan_gate import SETTINGS, documents

EDITS = st.sampled_from(
    ["x", "*", "_", "]", "[", "(", ")", "<", ">", "`", "\n", " ", "!", "-", "\v", "'", '"']
)


def reads_the_same_whole(old: str, new: str) -> bool:
    """The oracle: both texts parsed whole, every token and link compared."""
    sides = []
    for text in (old, new):
        env: dict[str, Any] = {}
        side = _Side()
        for token in renderer().parse(text, env):
            side.add(token)
        references = env.get("references", {})
        side.shape.append(sorted((label, ref.get("title")) for label, ref in references.items()))
        side.links += [str(references[label].get("href")) for label in sorted(references)]
        sides.append(side)
    return (sides[0].shape, sides[0].links) == (sides[1].shape, sides[1].links)


def judged_the_same(old: str, new: str) -> bool:
    try:
        check_same_shape(old, new, set())
    except RewriteRefused:
        return False
    return True


@SETTINGS
@given(documents(), st.data())
def test_the_check_judges_as_the_whole_parse_does(text: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(text)))
    if data.draw(st.booleans()) and at < len(text):
        edited = text[:at] + text[at + 1 :]
    else:
        edited = text[:at] + data.draw(EDITS) + text[at:]
    assert judged_the_same(text, text)
    assert judged_the_same(text, edited) == reads_the_same_whole(text, edited)


@pytest.mark.parametrize(
    ("old", "new", "same"),
    [
        ("Some *prose* here.\n\n![a](a.png)\n", "Some *prose* here.\n\n![a](b.png)\n", False),
        ("Some *prose* here.\n\n![a](a.png)\n", "Some *prose* here.\n\n![b](a.png)\n", False),
        ("A <kbd>x</kbd> key.\n", "A <kbd>x</kbd> key.\n", True),
        # Unchanged text whose meaning a definition elsewhere changes: the link's target.
        ("A [r] link.\n\n[r]: a.html\n", "A [r] link.\n\n[r]: b.html\n", False),
        ("A [r] link.\n\n[r]: a.html\n", "A [r] link.\n\n[s]: a.html\n", False),
        # An `<img>` hidden by a `<script>` an unchanged paragraph left open: its change is
        # no image source's, but text's (the paragraph's HTML must be read).
        ("A <script> tag\n\n<img src=a.png>\n", "A <script> tag\n\n<img src=b.png>\n", False),
        ("A <!-- c -->\n\n<img src=a.png>\n", "A <!-- c -->\n\n<img src=a.png>\n", True),
        # A tag HTML reads apart from markdown-it (`\v` is no space to HTML): its quote and
        # `<b` hide the `<img>` after it, whose change is then text's.
        (
            'A <span\vtitle=">" x=\'<b c="\'> tag\n\n<img src="a.png">\n',
            'A <span\vtitle=">" x=\'<b c="\'> tag\n\n<img src="b.png">\n',
            False,
        ),
        # An unchanged `<img>` after a `<script>` left open: hidden, in both.
        ("<script>\n\nA <img src=a.png>\n", "<script>\n\nA <img src=a.png>\n", True),
    ],
)
def test_the_check_on_known_pairs(old: str, new: str, same: bool) -> None:
    assert judged_the_same(old, new) == same == reads_the_same_whole(old, new)


def test_an_allowed_change_of_link_passes() -> None:
    old, new = "![a](a.png) and [b](a.png)\n", "![a](https://h/x.png) and [b](https://h/x.png)\n"
    check_same_shape(old, new, {("a.png", "https://h/x.png")})
    with pytest.raises(RewriteRefused, match="change the link"):
        check_same_shape(old, new, {("a.png", "https://h/y.png")})
