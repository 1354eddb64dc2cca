"""Root-relative hosted URLs, the folder host's `/images/…`: taken only under the host's own
prefix (hosted_url.py, the cache, the journal), and such references hosted rather than local
(scan.py's hosted_prefixes, remote.rooted_prefixes)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from imgsync.cache import CacheEntry, UploadCache
from imgsync.errors import CacheError
from imgsync.hosted_url import rooted_base, rooted_prefix, url_problem
from imgsync.hosts.profile import HostProfile
from imgsync.remote import rooted_prefixes
from imgsync.scan import scan_markdown
from imgsync.state.cache_file import journal_record

FOLDER = "folder /images/"
MD5 = hashlib.md5(b"a").hexdigest()


def entry(url: str) -> CacheEntry:
    sha256 = hashlib.sha256(b"a").hexdigest()
    return CacheEntry(url, {"name": "a.png"}, 1, sha256, "2026-12-02T11:00:00Z", "a.png")


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        ("/images/", "/images/"),
        ("/images", "/images/"),
        ("/", "/"),
        ("/assets/img/", "/assets/img/"),
        ("//cdn.example.com/i/", None),
        ("images/", None),
        ("https://blog.example.com/images/", None),
        ("/images/../secret/", None),
        ("/images/./x/", None),
        ("/images//x/", None),
        ("/images?v=1", None),
        ("/im ages/", None),
        ("/images/%2e%2e/", None),
    ],
)
def test_a_rooted_prefix_is_a_plain_path(text: str, prefix: str | None) -> None:
    assert rooted_prefix(text) == prefix


def test_only_an_identity_whose_url_is_a_rooted_path_is_rooted() -> None:
    assert rooted_base(FOLDER) == "/images/"
    assert rooted_base("folder https://blog.example.com/images/") is None
    assert rooted_base("lsky https://img.example.com/api/v1") is None
    assert rooted_base("command rclone copyto {path} r2:b/{md5}") is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("/images/0cc175b9c0f1b6a831c399e269772661.png", None),
        ("/images/0c/0cc175b9.png?v=2", None),
        ("/images/", "it is not a path under /images/"),
        ("/other/a.png", "it is not a path under /images/"),
        ("https://img.example.com/images/a.png", "it is not a path under /images/"),
        ("/images/../index.html", "not a plain root-relative path"),
        ("/images//evil.example/a.png", "not a plain root-relative path"),
        ('/images/a.png" onerror="x', "the character '\"'"),
        ("/images/a\n.png", "U+000A"),
    ],
)
def test_a_rooted_url_passes_only_under_its_hosts_prefix(url: str, problem: str | None) -> None:
    found = url_problem(url, allow_http=False, rooted_under="/images/")
    assert found == problem if problem is None else problem in (found or "")


def test_every_other_host_still_refuses_a_rooted_url() -> None:
    assert url_problem("/images/a.png", allow_http=True) == (
        "it is not an absolute URL (it has no https:// scheme)"
    )


def test_the_cache_takes_rooted_urls_under_a_folder_identity_only(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    cache = UploadCache.open(path)
    cache.record(FOLDER, MD5, entry("/images/a.png"))
    with pytest.raises(ValueError, match="not a URL the cache may hold"):
        cache.record("lsky https://img.example.com/api/v1", MD5, entry("/images/a.png"))
    with pytest.raises(ValueError, match="not a path under /images/"):
        cache.record(FOLDER, MD5, entry("/static/a.png"))

    assert UploadCache.open(path).lookup(FOLDER, MD5, hashlib.sha256(b"a").hexdigest())

    document = json.loads(path.read_text())
    document["uploads"]["lsky https://img.example.com/api/v1"] = document["uploads"][FOLDER]
    path.write_text(json.dumps(document))  # as a pull request could write it
    with pytest.raises(CacheError, match="can't be used"):
        UploadCache.open(path)


def test_the_journal_checks_rooted_urls_the_same_way() -> None:
    line = {"host": FOLDER, "md5": MD5, "entry": entry("/images/a.png").to_json()}
    assert journal_record(line, allow_http=False)[2].url == "/images/a.png"
    line["entry"] = entry("/images/../a.png").to_json()
    with pytest.raises(ValueError, match="plain root-relative"):
        journal_record(line, allow_http=False)


def test_the_rooted_prefixes_are_the_folder_profiles_rooted_urls() -> None:
    profiles = {
        "site": HostProfile("site", "folder", {"path": "static/images", "url": "/images"}),
        "abs": HostProfile("abs", "folder", {"path": "a", "url": "https://b.example.com/i/"}),
        "lsky": HostProfile("lsky", "lsky", {"url": "/not/a/folder/"}),
        "bad": HostProfile("bad", "folder", {"path": "x", "url": "/x/../y/"}),
    }

    assert rooted_prefixes(profiles) == ("/images/",)


def test_a_reference_under_a_hosted_prefix_is_not_a_local_one() -> None:
    text = (
        "![a](/images/0cc175b9c0f1b6a831c399e269772661.png)\n"
        "![b](/images-old/b.png)\n"
        "![c](img/c.png)\n"
        '<img src="/images/logo.png">\n'
    )
    scanned = scan_markdown(text)
    assert [ref.url for ref in scanned.local_refs] == [
        "/images/0cc175b9c0f1b6a831c399e269772661.png",
        "/images-old/b.png",
        "img/c.png",
        "/images/logo.png",
    ]

    scanned.hosted_prefixes = ("/images/",)

    assert [ref.url for ref in scanned.local_refs] == ["/images-old/b.png", "img/c.png"]
    assert len(scanned.refs) == 4  # still references: a rewrite's check sees them all
