"""End to end: front matter covers hosted by the real console script against the fake Lsky."""

from __future__ import annotations

import json
from pathlib import Path

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes
from tests.test_sync_e2e import host, run

__all__ = ["host"]  # the fixture, used by name

YAML_POST = """\
---
title: "Biweekly newsletter"
image: /img/biweekly-newsletter.png
cover:
  image: 'cover.png' # PaperMod
  alt: The cover
images:
  - shot.png
tags: [news, rust]
---

# Newsletter

![A shot](shot.png)
"""

TOML_POST = """\
+++
title = "TOML"
images = ["shot.png", 'https://cdn.test/kept.png']
hero_img = "/img/biweekly-newsletter.png"
[cover]
image = 'cover.png'
+++
Body without images, thematic break below.

---
"""


def make_site(root: Path) -> None:
    (root / "static" / "img").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "static" / "img" / "biweekly-newsletter.png").write_bytes(png_bytes(4, 4))
    (root / "posts" / "cover.png").write_bytes(png_bytes(5, 5))
    (root / "posts" / "shot.png").write_bytes(png_bytes(6, 6))
    (root / "posts" / "yaml.md").write_text(YAML_POST)
    (root / "posts" / "toml.md").write_text(TOML_POST)
    (root / "imgsync.toml").write_text(
        'site_root = "static"\n'
        'front_matter_keys = ["image", "images", "cover.image", "hero_img"]\n'
        '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )


def test_front_matter_images_are_hosted_once_and_the_rest_kept(
    tmp_path: Path, host: FakeLsky
) -> None:
    make_site(tmp_path)
    check = run(tmp_path, host, "check", ".")
    assert check.returncode == 1
    assert "posts/yaml.md:3: /img/biweekly-newsletter.png" in check.stdout.splitlines()
    assert "posts/toml.md:6: 'cover.png'" in check.stdout.splitlines()

    first = run(tmp_path, host, "--json", ".")

    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["failures"] == []
    assert len(host.uploads) == 3  # three distinct images, each once
    url = {u.filename: u for u in host.uploads}
    assert set(url) == {"biweekly-newsletter.png", "cover.png", "shot.png"}
    yaml_post = (tmp_path / "posts" / "yaml.md").read_text()
    toml_post = (tmp_path / "posts" / "toml.md").read_text()
    hosted = [line for line in (yaml_post + toml_post).splitlines() if "http://127.0.0.1" in line]
    assert len(hosted) == 7
    # Each value in its own quoting; every other byte as it was.
    assert yaml_post.splitlines()[2].startswith("image: http://127.0.0.1")
    assert yaml_post.splitlines()[4].startswith("  image: 'http://127.0.0.1")
    assert yaml_post.splitlines()[4].endswith(".png' # PaperMod")
    assert toml_post.splitlines()[2].startswith('images = ["http://127.0.0.1')
    assert toml_post.splitlines()[2].endswith("\", 'https://cdn.test/kept.png']")
    assert toml_post.splitlines()[5].startswith("image = 'http://127.0.0.1")
    for old, new in ((YAML_POST, yaml_post), (TOML_POST, toml_post)):
        assert [line for line in old.splitlines() if "png" not in line] == [
            line for line in new.splitlines() if "png" not in line and "127.0.0.1" not in line
        ]
    requests = host.requests

    again = run(tmp_path, host, ".")

    assert again.returncode == 0, again.stderr
    assert host.requests == requests
    assert run(tmp_path, host, "check", ".").returncode == 0


def test_a_field_imgsync_cannot_read_is_reported_with_file_and_line(
    tmp_path: Path, host: FakeLsky
) -> None:
    make_site(tmp_path)
    (tmp_path / "posts" / "yaml.md").write_text("---\nimage: |\n  cover.png\n---\nText.\n")
    (tmp_path / "posts" / "toml.md").write_text("Text.\n")

    done = run(tmp_path, host, "check", ".")

    assert done.returncode != 0
    assert "posts/yaml.md:2" in done.stdout + done.stderr
    assert "front matter field `image`" in done.stdout + done.stderr


def test_a_new_front_matter_key_reads_files_found_clean_before(
    tmp_path: Path, host: FakeLsky
) -> None:
    make_site(tmp_path)
    (tmp_path / "posts" / "toml.md").unlink()
    post = tmp_path / "posts" / "yaml.md"
    post.write_text("---\nbanner_art: cover.png\n---\nText.\n")
    assert run(tmp_path, host, "check", ".").returncode == 0  # stamped clean: no key matched
    config = tmp_path / "imgsync.toml"
    config.write_text(config.read_text().replace('"hero_img"', '"hero_img", "banner_art"'))

    done = run(tmp_path, host, ".")

    assert done.returncode == 0, done.stderr
    assert post.read_text().startswith("---\nbanner_art: http://127.0.0.1")
    assert len(host.uploads) == 1
