"""End to end: Typora notes (typora-root-url, raw-space images) through the real console
script against the fake Lsky, with and without `dialect = "typora"`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes
from tests.test_sync_e2e import host, run

__all__ = ["host"]  # the fixture, used by name

TIMG = "![](images/timg (1).jpeg)"
SCREENSHOT = "![](images/屏幕快照 2020-04-29 上午9.59.05.png)"
NOTES = f"""\
# Notes

- a list: {TIMG}
- ![plain](images/plain.png)

> a quote: {SCREENSHOT}

| shot | where |
|---|---|
| {TIMG} | a table |

`{TIMG}` in code stays.
"""
ROOTED = """\
---
title: Sorting
typora-root-url: ../images
---

![](/algorithm/screenshot-1.png)
"""
WRITTEN_IN_ORDER = [
    "images/timg (1).jpeg",
    "images/plain.png",
    "images/屏幕快照 2020-04-29 上午9.59.05.png",
    "images/timg (1).jpeg",
]
CONFIG = (
    'site_root = "static"\n'
    '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
)


def make_notes(root: Path, dialect: str | None) -> None:
    images = root / "notes" / "images"
    (images / "algorithm").mkdir(parents=True)
    (root / "static").mkdir()  # site_root: the rooted image is not there
    (images / "timg (1).jpeg").write_bytes(png_bytes(2, 2))
    (images / "屏幕快照 2020-04-29 上午9.59.05.png").write_bytes(png_bytes(3, 3))
    (images / "plain.png").write_bytes(png_bytes(4, 4))
    (images / "algorithm" / "screenshot-1.png").write_bytes(png_bytes(5, 5))
    (root / "notes" / "typora.md").write_text(NOTES)
    (root / "notes" / "algorithm").mkdir()
    (root / "notes" / "algorithm" / "sorting.md").write_text(ROOTED)
    setting = f'dialect = "{dialect}"\n' if dialect else ""
    (root / "imgsync.toml").write_text(setting + CONFIG)


def test_by_default_raw_spaces_fail_check_and_sync_with_the_exact_fix(
    tmp_path: Path, host: FakeLsky
) -> None:
    make_notes(tmp_path, None)

    check = run(tmp_path, host, "check", ".")

    assert check.returncode == 3  # as for any reference that can't be handled
    out = check.stdout + check.stderr
    for line, written in ((3, TIMG), (6, SCREENSHOT), (10, TIMG)):
        opening = written.index("](") + 2
        assert f"notes/typora.md:{line}" in out
        assert f"write it as {written[:opening]}<{written[opening:-1]}>)" in out
    # The rooted image is found under typora-root-url: to upload, not missing.
    assert "notes/algorithm/sorting.md:6: /algorithm/screenshot-1.png" in check.stdout
    assert "not found" not in out

    synced = run(tmp_path, host, "--json", ".")

    assert synced.returncode == 3
    failures = json.loads(synced.stdout)["failures"]
    assert sorted((f["file"], f["line"]) for f in failures) == [
        ("notes/typora.md", 3),
        ("notes/typora.md", 6),
        ("notes/typora.md", 10),
    ]
    assert len(host.uploads) == 2  # plain.png and the rooted screenshot
    assert (tmp_path / "notes" / "typora.md").read_text().count("images/timg (1).jpeg") == 3
    sorting = (tmp_path / "notes" / "algorithm" / "sorting.md").read_text()
    assert "typora-root-url: ../images\n" in sorting  # the key itself is never rewritten
    assert "![](http://127.0.0.1" in sorting


def test_the_typora_dialect_hosts_them_and_a_second_run_makes_no_request(
    tmp_path: Path, host: FakeLsky
) -> None:
    make_notes(tmp_path, "typora")
    assert run(tmp_path, host, "check", ".").returncode == 1  # to upload

    first = run(tmp_path, host, "--json", ".")

    assert first.returncode == 0, first.stdout + first.stderr
    assert json.loads(first.stdout)["failures"] == []
    assert len(host.uploads) == 4  # each distinct image once
    notes = (tmp_path / "notes" / "typora.md").read_text()
    assert {u.filename for u in host.uploads} == {
        "timg (1).png",  # its real type's extension
        "屏幕快照 2020-04-29 上午9.59.05.png",
        "plain.png",
        "screenshot-1.png",
    }
    # Only the destinations changed: every other byte is as it was.
    urls = re.findall(r"http://127\.0\.0\.1[^)\s]*", notes)
    expected = NOTES
    for written, url in zip(WRITTEN_IN_ORDER, urls, strict=True):
        expected = expected.replace(written, url, 1)
    assert notes == expected
    assert urls[0] == urls[3]  # the same image, uploaded once
    assert notes.count("![](http://127.0.0.1") == 3
    assert f"`{TIMG}` in code stays." in notes
    requests = host.requests

    again = run(tmp_path, host, ".")

    assert again.returncode == 0, again.stdout + again.stderr
    assert host.requests == requests
    assert run(tmp_path, host, "check", ".").returncode == 0


def test_a_typora_root_url_leaving_the_project_is_refused(tmp_path: Path, host: FakeLsky) -> None:
    make_notes(tmp_path / "blog", "typora")
    post = tmp_path / "blog" / "notes" / "algorithm" / "sorting.md"
    post.write_text(ROOTED.replace("../images", "../../../outside"))
    (tmp_path / "outside" / "algorithm").mkdir(parents=True)
    (tmp_path / "outside" / "algorithm" / "screenshot-1.png").write_bytes(png_bytes(6, 6))

    done = run(tmp_path / "blog", host, "--json", ".")

    assert done.returncode == 3
    (failure,) = json.loads(done.stdout)["failures"]
    assert (failure["file"], failure["line"]) == ("notes/algorithm/sorting.md", 6)
    assert "outside the project" in failure["reason"]
    assert all(u.filename != "screenshot-1.png" for u in host.uploads)
