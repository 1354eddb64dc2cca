"""Acceptance: every CommonMark spec example, synced by the real CLI against the fake Lsky host.

An example with local images renders to the same HTML as before except for the image
sources (and links to local image files); every other example is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from imgsync.cli import main
from imgsync.markdown.destinations import join_suffix, local_target
from imgsync.scan import scan_markdown
from imgsync.testing.fake_lsky import FakeLsky
from tests.commonmark_spec import spec_examples
from tests.images import png_bytes


def target_file(root: Path, markdown: Path, url: str) -> Path:
    target = local_target(url)
    assert target is not None
    base = root if target.path.startswith("/") else markdown.parent
    return base / target.path.lstrip("/")


@pytest.mark.slow
def test_every_spec_example_syncs_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = spec_examples()
    root = tmp_path / "spec"
    (root / "ex").mkdir(parents=True)
    files = {}
    for example in examples:
        path = root / "ex" / f"{example.number:03}.md"
        path.write_bytes(example.markdown.encode())
        files[example.number] = path
        for ref in scan_markdown(example.markdown).local_refs:
            image = target_file(root, path, ref.url)
            if not image.exists():
                image.parent.mkdir(parents=True, exist_ok=True)
                image.write_bytes(png_bytes(1, 1, (len(files) % 256, ref.start % 256, 9)))
    (root / "imgsync.toml").write_text('[hosts.fake]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\n')
    monkeypatch.chdir(root)

    with FakeLsky(rate_limit=None) as host:
        monkeypatch.setenv("LSKY_BASE_URL", host.url)
        status = main(["--quiet", "."])
    capsys.readouterr()

    assert status == 0
    cache = json.loads((root / ".imgsync-cache.json").read_text())
    (hosted,) = cache["uploads"].values()
    md = MarkdownIt("commonmark").enable("table")
    with_images = 0
    for example in examples:
        new = files[example.number].read_bytes().decode()
        local = scan_markdown(example.markdown).local_refs
        if not local:
            assert new == example.markdown, f"example {example.number} changed"
            continue
        with_images += 1
        expected = md.render(example.markdown)
        for ref in local:
            image = target_file(root, files[example.number], ref.url)
            entry = hosted[hashlib.md5(image.read_bytes()).hexdigest()]
            suffix = local_target(ref.url).suffix  # type: ignore[union-attr]
            new_url = join_suffix(entry["url"], suffix)
            for attr in ("src", "href"):
                old_value = escapeHtml(md.normalizeLink(ref.url))
                new_value = escapeHtml(md.normalizeLink(new_url))
                expected = expected.replace(f'{attr}="{old_value}"', f'{attr}="{new_value}"')
        assert md.render(new) == expected, f"example {example.number}"
        assert scan_markdown(new).local_refs == []
    print(f"{len(examples)} examples, {with_images} with local images")
    assert with_images >= 20
