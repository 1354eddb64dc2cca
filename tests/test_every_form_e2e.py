"""End to end: one post holding every form of issue 14 built so far (front matter, a figure
shortcode, a raw-HTML download link, an inline marker, an `ignore` entry for a gone image),
synced by the real console script against the fake Lsky: the forms work together."""

from __future__ import annotations

import json
from pathlib import Path

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes
from tests.test_sync_e2e import host, run

__all__ = ["host"]  # the fixture, used by name

POST = """\
---
title: "Hello"
cover:
  image: '/img/cover.png' # cover
---

Intro ![a](a.png)

> {{< figure src="fig.png" title="x" >}}

- [<a href="a.png" target="_href_">PNG</a>]

<!-- imgsync-ignore -->
![old](old-missing.png)

![gone](gone.png)
"""


def test_every_form_in_one_post_is_hosted_once_and_the_rest_is_left_as_it_was(
    tmp_path: Path, host: FakeLsky
) -> None:
    (tmp_path / "static" / "img").mkdir(parents=True)
    (tmp_path / "posts").mkdir()
    (tmp_path / "static" / "img" / "cover.png").write_bytes(png_bytes(rgb=(1, 2, 3)))
    (tmp_path / "posts" / "fig.png").write_bytes(png_bytes(rgb=(4, 5, 6)))
    (tmp_path / "posts" / "a.png").write_bytes(png_bytes(rgb=(7, 8, 9)))
    (tmp_path / "imgsync.toml").write_text('site_root = "static"\nignore = ["gone.png"]\n')
    post = tmp_path / "posts" / "p.md"
    post.write_text(POST)

    check = run(tmp_path, host, "check", "--json")
    assert check.returncode == 1
    pending = [(p["line"], p["reference"]) for p in json.loads(check.stdout)["pending"]]
    assert pending == [(4, "'/img/cover.png'"), (7, "a.png"), (9, "fig.png"), (11, "a.png")]

    synced = run(tmp_path, host, "--json")
    document = json.loads(synced.stdout)
    assert synced.returncode == 0, synced.stderr
    assert len(host.uploads) == 3 and document["links_rewritten"] == 4
    assert len(document["ignored"]) == 2

    text = post.read_text()
    urls = {
        name: next(u["url"] for u in document["uploaded"] if u["image"].endswith(name))
        for name in ("cover.png", "fig.png", "a.png")
    }
    expected = (
        POST.replace("'/img/cover.png'", f"'{urls['cover.png']}'")
        .replace("![a](a.png)", f"![a]({urls['a.png']})")
        .replace('src="fig.png"', f'src="{urls["fig.png"]}"')
        .replace('href="a.png"', f'href="{urls["a.png"]}"')
    )
    assert text == expected  # every other byte as it was: comment, quotes, marker, gone image

    again = run(tmp_path, host, ".")
    assert again.returncode == 0 and len(host.uploads) == 3
    assert "nothing to do" in again.stderr and "2 ignored" in again.stderr
    assert run(tmp_path, host, "check").returncode == 0


NOTE = """\
+++
title = "Every form"
images = ["shots/cover.png"]
+++

An embed ![[shot.png|300]] and a raw space ![](shots/timg (1).png) in one line.

<picture><source srcset="shots/wide.png 2x"><img src="shots/narrow.png"></picture>

<video poster="shots/poster.png" controls></video>

<img src="shots/jsx.png" style={{ margin: 10 }} />

- {{% figure src="shots/fig.png" %}}

<!-- imgsync-ignore -->
{% asset_img kept-as-is.png %}

<Shot src={require('./shots/bundled.png').default} />
"""


def test_the_forms_of_notes_apps_and_generators_together(tmp_path: Path, host: FakeLsky) -> None:
    shots = tmp_path / "notes" / "shots"
    shots.mkdir(parents=True)
    names = ["cover", "timg (1)", "wide", "narrow", "poster", "jsx", "fig", "bundled"]
    for number, name in enumerate(names):
        (shots / f"{name}.png").write_bytes(png_bytes(rgb=(number, 9, 9)))
    (tmp_path / "attachments").mkdir()
    (tmp_path / "attachments" / "shot.png").write_bytes(png_bytes(rgb=(99, 9, 9)))
    config = 'dialect = "typora"\nignore = ["notes/*.md:./shots/bundled.png"]\n'
    (tmp_path / "imgsync.toml").write_text(config)
    note = tmp_path / "notes" / "all.md"
    note.write_text(NOTE)

    synced = run(tmp_path, host, "--json")

    assert synced.returncode == 0, synced.stderr
    document = json.loads(synced.stdout)
    assert len(host.uploads) == 8 and document["links_rewritten"] == 8
    assert len(document["ignored"]) == 2  # the Hexo tag (marker) and the require (entry)
    urls = {Path(u["image"]).stem: u["url"] for u in document["uploaded"]}
    expected = (
        NOTE.replace('"shots/cover.png"', f'"{urls["cover"]}"')
        .replace("![[shot.png|300]]", f"![|300]({urls['shot']})")
        .replace("![](shots/timg (1).png)", f"![]({urls['timg (1)']})")
        .replace("shots/wide.png 2x", f"{urls['wide']} 2x")
        .replace('"shots/narrow.png"', f'"{urls["narrow"]}"')
        .replace('"shots/poster.png"', f'"{urls["poster"]}"')
        .replace('"shots/jsx.png"', f'"{urls["jsx"]}"')
        .replace('"shots/fig.png"', f'"{urls["fig"]}"')
    )
    assert note.read_text() == expected

    requests = host.requests
    again = run(tmp_path, host)
    assert again.returncode == 0 and "nothing to do" in again.stderr
    assert host.requests == requests  # a second run asks the host nothing
    checked = run(tmp_path, host, "check")
    assert checked.returncode == 0, checked.stderr
    assert "2 ignored" in checked.stderr
