"""End to end: a post with every raw-HTML form and Hugo's figure shortcode, synced by the real
console script against the fake Lsky; then nothing left to do, and `check` passes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.scan import scan_markdown
from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes
from tests.test_sync_e2e import TOKEN, run

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>\n'

POST = """\
# Every form

Where do you live?

![where](where-do-you-live.png)

[<a href="where-do-you-live.png" target="_href_">PNG</a>]
[<a href="where-do-you-live.svg" target="_href_">SVG</a>]

<picture>
  <source srcset="img/wide.png 1x, img/wide@2x.png 2x" media="(min-width: 800px)">
  <img src='img/narrow.png' alt="narrow">
</picture>

<video poster=img/poster.png controls src="movie.mp4"></video>

{{< figure src="img/figure.png" title="A figure" link="img/figure-full.png" >}}

{{% figure alt='with percent' src='img/percent.png' %}}

- a list: <a href="img/in-list.png">full size</a>
  > a quote in it: {{<figure src=img/in-quote.png>}}

| form | here |
|------|------|
| link | <a href='img/in-table.png'>x</a> |
| poster | <video poster="img/poster.png"></video> |

Left alone: <a href="post.html">a page</a>, <a href="#top">the top</a>,
`<a href="img/code.png">code</a>`, `{{< figure src="img/code.png" >}}`

```html
<picture><source srcset="img/code.png"></picture>
```
"""

IMAGES = [
    "where-do-you-live.png",
    "img/wide.png",
    "img/wide@2x.png",
    "img/narrow.png",
    "img/poster.png",
    "img/figure.png",
    "img/figure-full.png",
    "img/percent.png",
    "img/in-list.png",
    "img/in-quote.png",
    "img/in-table.png",
]


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


def _site(root: Path) -> Path:
    (root / "img").mkdir(parents=True)
    for shade, name in enumerate(IMAGES):
        (root / name).write_bytes(png_bytes(rgb=(shade * 20, 0, 0)))
    (root / "where-do-you-live.svg").write_bytes(SVG)
    (root / "imgsync.toml").write_text(
        '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )
    (root / "post.md").write_text(POST)
    return root


def test_every_form_is_hosted_once_then_nothing_is_left(tmp_path: Path, host: FakeLsky) -> None:
    site = _site(tmp_path / "site")
    before = run(site, host, "check", ".")
    assert before.returncode == 1
    assert "post.md:7:" in before.stdout + before.stderr  # the download link is listed

    first = run(site, host, "--json", ".")

    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["failures"] == []
    assert len(host.uploads) == len(IMAGES) + 1  # every distinct image once, the SVG too
    text = (site / "post.md").read_text()
    # byte-identical but for the values: the old text with each new value put in its place
    old_refs, new_refs = scan_markdown(POST).refs, scan_markdown(text).refs
    assert [ref.attribute for ref in old_refs] == [ref.attribute for ref in new_refs]
    pieces, cursor = [], 0
    for old, new in zip(old_refs, new_refs, strict=True):
        assert old.is_local == new.url.startswith(host.site)
        pieces += [POST[cursor : old.start], new.raw]
        cursor = old.end
    assert "".join([*pieces, POST[cursor:]]) == text
    assert sum(ref.is_local for ref in old_refs) == 14
    assert not scan_markdown(text).local_refs
    assert 'target="_href_">PNG</a>]' in text and '<a href="post.html">' in text
    assert '`<a href="img/code.png">code</a>`' in text
    assert '`{{< figure src="img/code.png" >}}`' in text
    assert '<picture><source srcset="img/code.png"></picture>\n```' in text
    assert '{{< figure src="http://127.0.0.1' in text and 'title="A figure"' in text
    assert "{{% figure alt='with percent' src='http://127.0.0.1" in text
    assert "{{<figure src=http://127.0.0.1" in text
    assert "<video poster=http://127.0.0.1" in text
    requests = host.requests

    again = run(site, host, ".")

    assert again.returncode == 0, again.stderr
    assert host.requests == requests
    assert (site / "post.md").read_text() == text
    assert run(site, host, "check", ".").returncode == 0


def test_an_unclosed_img_is_listed_by_check_and_sync(tmp_path: Path, host: FakeLsky) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "imgsync.toml").write_text(
        '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )
    (site / "shot.png").write_bytes(png_bytes())
    (site / "note.md").write_text('Intro.\n\n<img src="shot.png" style="zoom:20%;" /\n\nEnd.\n')

    check = run(site, host, "check", ".")
    sync = run(site, host, ".")

    for done in (check, sync):
        assert done.returncode != 0
        said = done.stdout + done.stderr
        assert "note.md:3:" in said and "<img> tag is never closed" in said
    assert host.uploads == []
