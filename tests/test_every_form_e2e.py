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
