"""remote.py: every form the scanner reads gives its http(s) references with exact spans, each
hosted by a profile (the cache, or a `serves` prefix) or foreign; and `serves` in the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgsync.config import load_settings
from imgsync.errors import ConfigError
from imgsync.hosts.profile import served_prefixes
from imgsync.remote import ProfileView, RemoteClassifier, absolute_url, bare_url
from imgsync.scan import scan_markdown
from imgsync.state.cache_file import CacheEntry

CDN = "https://img.example.com/i"
EVERY_FORM = f"""---
title: every form
cover: {CDN}/cover.png
image: "{CDN}/fm.jpg"
---
![a]({CDN}/a.png "title")
![b][r]

[r]: <{CDN}/b.png>

<img src="{CDN}/c.png" srcset="{CDN}/c1.png 1x, {CDN}/c2.png 2x">

<video poster="{CDN}/p.jpg"></video>

<a href="{CDN}/h.png">x</a>
<picture><source srcset="{CDN}/s.webp"></picture>

[![t]({CDN}/t.png)]({CDN}/full.png)

{{{{< figure src="{CDN}/f.png" >}}}}

<img src="{CDN}/j.png" style={{{{ margin: 10 }}}} />

![[{CDN}/e.png]]

![pr](//img.example.com/i/pr.png) ![q]({CDN}/q.png?w=300#top) ![o](https://other.example/o.png)

![local](img/local.png) ![data](data:image/png;base64,AAAA) `![code]({CDN}/code.png)`
"""
# (line, kind, attribute, url) of every remote reference, in document order
EXPECTED = [
    (3, "front_matter", "cover", f"{CDN}/cover.png"),
    (4, "front_matter", "image", f"{CDN}/fm.jpg"),
    (6, "image", "", f"{CDN}/a.png"),
    (9, "definition", "", f"{CDN}/b.png"),
    (11, "html", "src", f"{CDN}/c.png"),
    (11, "html", "srcset", f"{CDN}/c1.png"),
    (11, "html", "srcset", f"{CDN}/c2.png"),
    (13, "html", "poster", f"{CDN}/p.jpg"),
    (15, "html", "href", f"{CDN}/h.png"),
    (16, "html", "srcset", f"{CDN}/s.webp"),
    (18, "image", "", f"{CDN}/t.png"),
    (18, "link", "", f"{CDN}/full.png"),
    (20, "shortcode", "src", f"{CDN}/f.png"),
    (22, "jsx", "src", f"{CDN}/j.png"),
    (24, "embed", "", f"{CDN}/e.png"),
    (26, "image", "", "//img.example.com/i/pr.png"),
    (26, "image", "", f"{CDN}/q.png?w=300#top"),
    (26, "image", "", "https://other.example/o.png"),
]


def entry(url: str) -> CacheEntry:
    return CacheEntry(url, {"key": "k"}, 10, "0" * 64, "2026-12-01T00:00:00Z", "img/a.png")


def classifier(serves: tuple[str, ...] = ()) -> RemoteClassifier:
    views = [
        ProfileView("blog", "lsky", "lsky https://img.example.com/api/v1", serves),
        ProfileView("pic", "pichub", "pichub https://api.pichub.app/api/v1"),
    ]
    entries = {
        "lsky https://img.example.com/api/v1": {
            "m1": entry(f"{CDN}/a.png"),
            "m2": entry(f"{CDN}/Q.png".replace("Q", "q")),
        },
        "pichub https://api.pichub.app/api/v1": {"m3": entry(f"{CDN}/c.png")},
    }
    return RemoteClassifier(views, entries)


def test_every_form_gives_its_remote_references_with_exact_spans() -> None:
    scanned = scan_markdown(EVERY_FORM)
    found = [item for ref in scanned.refs if (item := classifier().classify(ref)) is not None]

    assert [(r.ref.line, r.ref.kind, r.ref.attribute, r.ref.url) for r in found] == EXPECTED
    for item in found:
        assert EVERY_FORM[item.ref.start : item.ref.end] == item.ref.raw
        if item.ref.kind == "embed":  # an embed's span is the whole `![[...]]`, as for local ones
            assert item.ref.raw == f"![[{item.ref.url}]]"
        else:
            assert item.ref.raw.strip("<>\"'") == item.ref.url
    assert scanned.problems == [] and scanned.unhandled == []


def test_hosted_by_the_cache_or_a_served_prefix_else_foreign() -> None:
    found = {
        r.ref.url: r
        for ref in scan_markdown(EVERY_FORM).refs
        if (r := classifier((f"{CDN}/",)).classify(ref)) is not None
    }
    a, c = found[f"{CDN}/a.png"].hosted, found[f"{CDN}/c.png"].hosted
    assert a is not None and (a.profile, a.md5, a.re_encodes) == ("blog", "m1", False)
    assert c is not None and (c.profile, c.md5, c.re_encodes) == ("pic", "m3", True)
    query = found[f"{CDN}/q.png?w=300#top"].hosted  # the cache's URL, query and fragment aside
    assert query is not None and query.md5 == "m2"
    served = found[f"{CDN}/fm.jpg"].hosted  # unknown to the cache, under the prefix
    assert served is not None and (served.profile, served.entry) == ("blog", None)
    assert found["https://other.example/o.png"].foreign
    assert found["//img.example.com/i/pr.png"].url == "https://img.example.com/i/pr.png"


def test_without_serves_only_the_cache_makes_a_reference_hosted() -> None:
    found = [r for ref in scan_markdown(EVERY_FORM).refs if (r := classifier().classify(ref))]
    hosted = sorted(r.ref.url for r in found if not r.foreign)
    assert hosted == [f"{CDN}/a.png", f"{CDN}/c.png", f"{CDN}/q.png?w=300#top"]


def test_a_prefix_never_covers_a_sibling_folder_or_host() -> None:
    rule = classifier(served_prefixes([f"{CDN}"]))  # normalised to end with "/"
    text = "![x](https://img.example.com/img/x.png) ![y](https://img.example.com.evil/i/y.png)\n"
    assert all(rule.classify(ref).foreign for ref in scan_markdown(text).refs)  # type: ignore[union-attr]


def test_urls_are_compared_without_query_fragment_or_case_of_the_host() -> None:
    assert bare_url("HTTPS://IMG.Example.com/i/A.png?x=1#y") == "https://img.example.com/i/A.png"
    assert absolute_url("//cdn.example/a.png") == "https://cdn.example/a.png"
    assert absolute_url("data:image/png;base64,AA") is None
    assert absolute_url("ftp://x/a.png") is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (3, "must be a URL prefix"),
        (["ftp://x/"], "must start with http"),
        (["https://user:pw@cdn.example/"], "no user name"),
        (["https://cdn.example/i/?a=1"], "no user name, password, query"),
        (["https:///i/"], "must start with http"),
    ],
)
def test_bad_serves_values_are_refused(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        served_prefixes(value)


def test_serves_is_normalised() -> None:
    assert served_prefixes("HTTPS://CDN.Example:8443/I") == ("https://cdn.example:8443/I/",)


def write_config(root: Path, extra: str) -> Path:
    config = root / "imgsync.toml"
    config.write_text(
        '[hosts.blog]\ntype = "lsky"\nurl = "https://img.example.com/api/v1"\n'
        'token = "1|abc"\n' + extra
    )
    return config


def test_serves_is_read_by_the_config_for_every_host_type(tmp_path: Path) -> None:
    write_config(tmp_path, 'serves = ["https://cdn.example.com/i/"]\n')
    settings = load_settings(cwd=tmp_path, env={})
    profile = settings.hosts["blog"]
    assert profile.serves == ("https://cdn.example.com/i/",)
    assert "serves" not in profile.options  # so no host ever sees an unknown key


def test_a_bad_serves_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    write_config(tmp_path, 'serves = ["cdn.example.com/i/"]\n')
    with pytest.raises(ConfigError, match=r"hosts\.blog\.serves` entries must start"):
        load_settings(cwd=tmp_path, env={})
