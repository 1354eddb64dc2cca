"""Every CommonMark spec example, synced in memory: only image sources may change.

The examples come from the npm package `commonmark-spec` (see tests/commonmark_spec.py).
Without it the tests are skipped, except in CI (CI=true), where they fail.
tests/test_commonmark_sync.py syncs the same examples through the CLI.
"""

from __future__ import annotations

import hashlib
from html.parser import HTMLParser
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from imgsync.markdown.destinations import join_suffix, local_target, looks_like_image_path
from imgsync.rewrite import Replacement, rewrite_markdown
from imgsync.scan import scan_markdown
from tests.commonmark_spec import Example, in_ci, load_examples

MD = MarkdownIt("commonmark").enable("table")
URL_STYLES = {
    "plain": "https://img.test/{h}.png",
    "awkward": "https://img.test/a b/({h})|`x`&amp;<y>.png?q=1&r=2",
}


EXAMPLES, MISSING = load_examples()


def test_spec_examples_are_available() -> None:
    if MISSING and in_ci():
        pytest.fail(MISSING)
    if MISSING:
        pytest.skip(MISSING)
    assert len(EXAMPLES) > 600


def hosted(url: str, style: str) -> str:
    target = local_target(url)
    assert target is not None
    digest = hashlib.md5(target.path.encode()).hexdigest()[:8]
    return join_suffix(URL_STYLES[style].format(h=digest), target.suffix)


class _Events(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[Any] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.events.append(data)


def events(html: str, sources: dict[str, str]) -> list[Any]:
    """Python's reading of `html`, raw <img src> values mapped through `sources`."""
    parser = _Events()
    parser.feed(html)
    parser.close()
    return [
        (event[0], [(k, sources.get(v or "", v) if k == "src" else v) for k, v in event[1]])
        if isinstance(event, tuple) and event[0] == "img"
        else event
        for event in parser.events
    ]


def flatten(tokens: list[Token], in_alt: bool = False) -> list[tuple[Token, bool]]:
    out = []
    for token in tokens:
        out.append((token, in_alt))
        out.extend(flatten(token.children or [], in_alt or token.type == "image"))
    return out


@pytest.mark.parametrize("style", sorted(URL_STYLES))
@pytest.mark.parametrize(
    "example", [pytest.param(e, id=f"{e.number}-{e.section[:20]}") for e in EXAMPLES]
)
def test_sync_changes_only_image_sources(example: Example, style: str) -> None:
    text = example.markdown
    result = scan_markdown(text, every_link=False)  # as a sync scans (pipeline.py)
    assert result.problems == []
    assert all(text[ref.start : ref.end] == ref.raw for ref in result.refs)
    local = result.local_refs
    assert local == scan_markdown(text, every_block=True).local_refs
    replacements = [Replacement(ref, hosted(ref.url, style)) for ref in local]
    new = rewrite_markdown(text, replacements, result)
    if not local:
        assert new == text
        return
    assert scan_markdown(new).local_refs == []
    md_urls = {
        MD.normalizeLink(ref.url): MD.normalizeLink(hosted(ref.url, style))
        for ref in local
        if ref.kind != "html"
    }
    html_urls = {ref.url: hosted(ref.url, style) for ref in local if ref.kind == "html"}
    env: dict[str, Any] = {}
    old_tokens, new_tokens = MD.parse(text, env), MD.parse(new)
    old_flat, new_flat = flatten(old_tokens), flatten(new_tokens)
    assert [t.type for t, _ in old_flat] == [t.type for t, _ in new_flat]
    for (before, in_alt), (after, _) in zip(old_flat, new_flat, strict=True):
        for name in ("src", "href"):
            value = before.attrs.get(name)
            if value is None or in_alt:
                continue
            target = local_target(str(value))
            if name == "src" or (target is not None and looks_like_image_path(target.path)):
                before.attrs[name] = md_urls.get(str(value), value)
        assert before.attrs == after.attrs
    # The edited old tokens render as the new text does, but for raw <img> sources.
    old_html = MD.renderer.render(old_tokens, MD.options, env)
    assert events(old_html, html_urls) == events(MD.render(new), {})
