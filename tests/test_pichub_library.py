"""PicHub beyond uploading, against the fake: listing every page once, deleting, albums, and
the processing URLs written by the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.errors import ConfigError, WrongEndpoint
from imgsync.hosts.base import HostedImage, HostProfile, UploadRequest, supports
from imgsync.hosts.pichub import PicHubHost
from imgsync.hosts.pichub_links import processing_url
from imgsync.hosts.pichub_pages import page_info, page_items, utc_stamp
from imgsync.testing.fake_pichub import MAX_PER_PAGE, FakePicHub
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
SECRET = "ph_e2eSecretTokenXXXXXXXXXXXXXXXXXXXXXXXX"


def pichub_host(fake: FakePicHub, http: httpx.Client, **options: Any) -> PicHubHost:
    profile = {"url": fake.url, "token": fake.token, "convert_to_webp": False} | options
    return PicHubHost(HostProfile("pic", "pichub", profile, Path("imgsync.toml")), http)


def stock(host: PicHubHost, folder: Path, count: int, start: int = 0) -> list[str]:
    """Upload `count` distinct PNGs, 20 a request; their ids, in upload order."""
    requests = []
    for number in range(start, start + count):
        path = folder / f"img{number}.png"
        path.write_bytes(png_bytes(rgb=(number % 256, number // 256, 7)))
        requests.append(UploadRequest(path, path.name, "image/png", path.stat().st_size))
    ids = []
    for first in range(0, len(requests), 20):
        for outcome in host.upload_batch(requests[first : first + 20]):
            assert not isinstance(outcome, Exception), outcome
            ids.append(outcome.handle["id"])
    return ids


@pytest.fixture
def roomy() -> Any:
    """A fake PicHub without the upload limit, so a test can stock hundreds of images fast."""
    with FakePicHub(upload_limit=None, request_limits=(1000, 10000, 100000)) as fake:
        yield fake


# Listing


@pytest.mark.parametrize("style", ["meta", "paginator"])
def test_a_listing_of_three_pages_lists_each_image_once_though_one_is_deleted_midway(
    roomy: FakePicHub, http_client: httpx.Client, tmp_path: Path, style: str
) -> None:
    roomy.listing_style = style  # type: ignore[assignment]
    host = pichub_host(roomy, http_client)
    ids = stock(host, tmp_path, 250)
    # Page 1 holds the newest 100; deleting one of them after it is read moves the first
    # image of page 2 onto page 1, which a plain walk of pages 1, 2, 3 would never see.
    roomy.delete_between_pages(after_page=1, ident=ids[-1])
    told: list[tuple[int, int | None]] = []

    listed = list(host.list_images(lambda done, total: told.append((done, total))))

    listed_ids = [image.handle["id"] for image in listed]
    assert len(listed_ids) == len(set(listed_ids)) == 250
    assert set(listed_ids) == set(ids)
    assert ids[-1] not in roomy.image_ids  # it was deleted, after being listed
    pages = [int(query["page"]) for query in roomy.list_requests]
    assert pages == [1, 2, 1, 2, 3]  # the walk stepped back one page when the total fell
    assert {query["per_page"] for query in roomy.list_requests} == {"100"}
    assert told[0] == (100, 250) and told[-1] == (250, 249)


def test_without_a_deletion_the_walk_reads_each_page_once(
    roomy: FakePicHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = pichub_host(roomy, http_client)
    ids = stock(host, tmp_path, 201)
    listed = list(host.list_images())
    assert [int(q["page"]) for q in roomy.list_requests] == [1, 2, 3]
    assert [image.handle["id"] for image in listed] == list(reversed(ids))  # newest first
    first = listed[0]
    assert first.url.startswith(f"{roomy.site}/cdn/") and first.name == "img200.png"
    assert first.size == len(png_bytes(rgb=(200, 0, 7))) and first.album == ""
    assert first.uploaded_at.endswith("Z") and len(first.uploaded_at) == 20


def test_an_empty_account_lists_nothing_in_one_request(
    fake_pichub: FakePicHub, http_client: httpx.Client
) -> None:
    assert list(pichub_host(fake_pichub, http_client).list_images()) == []
    assert len(fake_pichub.list_requests) == 1


def test_the_fake_caps_per_page_and_tells_the_counts(
    roomy: FakePicHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    stock(pichub_host(roomy, http_client), tmp_path, 3)
    headers = {"Authorization": f"Bearer {roomy.token}"}
    body = http_client.get(f"{roomy.url}/images?per_page=5000&page=2", headers=headers).json()
    assert body["data"] == [] and body["meta"]["per_page"] == MAX_PER_PAGE
    assert body["meta"]["total"] == 3 and body["meta"]["last_page"] == 1
    default = http_client.get(f"{roomy.url}/images", headers=headers).json()
    assert default["meta"]["per_page"] == 20 and len(default["data"]) == 3


def test_listing_waits_out_the_api_budget_instead_of_meeting_a_429(
    roomy: FakePicHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = pichub_host(roomy, http_client)
    ids = stock(host, tmp_path, 5)
    roomy.window_seconds, roomy.request_limits = 1.0, (2, 1000, 10000)
    started = time.monotonic()

    for ident in ids:
        host.delete({"id": ident})

    assert roomy.image_ids == [] and roomy.statuses[429] == 0
    assert time.monotonic() - started >= 1.0  # five deletes, two a window: three windows


# Deleting


def test_delete_removes_the_image_and_a_second_delete_is_already_done(
    fake_pichub: FakePicHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = pichub_host(fake_pichub, http_client)
    [ident, other] = stock(host, tmp_path, 2)

    host.delete({"id": ident})
    assert fake_pichub.image_ids == [other]
    requests = fake_pichub.requests
    host.delete({"id": ident})  # PicHub answers 404: gone already, which is what was asked

    # The first 404 is believed once a listing proved 'url' and the token right.
    assert fake_pichub.requests == requests + 2 and len(fake_pichub.list_requests) == 1
    host.delete({"id": ident})
    assert fake_pichub.requests == requests + 3
    assert fake_pichub.image_ids == [other]


def test_a_404_from_a_wrong_url_is_never_taken_for_a_deletion(
    fake_pichub: FakePicHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    [ident] = stock(pichub_host(fake_pichub, http_client), tmp_path, 1)
    wrong = pichub_host(fake_pichub, http_client, url=f"{fake_pichub.site}/api/v2")
    with pytest.raises(WrongEndpoint, match="API base"):
        wrong.delete({"id": ident})
    assert fake_pichub.image_ids == [ident]


def test_delete_needs_the_recorded_id(fake_pichub: FakePicHub, http_client: httpx.Client) -> None:
    host = pichub_host(fake_pichub, http_client)
    for handle in ({}, {"id": ""}, {"key": "abc"}):
        with pytest.raises(ValueError, match="'id'"):
            host.delete(handle)
    assert fake_pichub.requests == 0


@pytest.mark.parametrize("written", ["../{ident}", "{ident}/x", "{ident}?a=1", "{ident}#"])
def test_an_id_that_is_no_id_is_refused_and_nothing_sent(
    fake_pichub: FakePicHub, http_client: httpx.Client, tmp_path: Path, written: str
) -> None:
    # A cache is a file in a repository: a tampered id must not reach another path.
    host = pichub_host(fake_pichub, http_client)
    [ident] = stock(host, tmp_path, 1)
    before = fake_pichub.requests
    with pytest.raises(ValueError, match="is not a PicHub image id"):
        host.delete({"id": written.format(ident=ident)})
    assert fake_pichub.requests == before and fake_pichub.image_ids == [ident]


def network(handler: Any, calls: list[httpx.Request] | None = None, **options: Any) -> PicHubHost:
    """A host whose requests go to `handler` (the network seam) instead of a server."""

    def record(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(request)
        response: httpx.Response = handler(request)
        return response

    client = httpx.Client(transport=httpx.MockTransport(record))
    return PicHubHost(HostProfile("pic", "pichub", {"token": "t"} | options), client)


def test_a_204_with_no_body_is_a_deletion() -> None:
    calls: list[httpx.Request] = []
    network(lambda request: httpx.Response(204), calls).delete({"id": "a1"})
    [call] = calls
    assert (call.method, call.url.path) == ("DELETE", "/api/v1/images/a1")


def test_laravels_plain_404_counts_as_gone_once_the_listing_answers() -> None:
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(404, json={"message": "No query results for model [Image]."})
        return httpx.Response(200, json={"success": True, "data": []})

    network(answer, calls).delete({"id": "a1"})
    assert [(c.method, c.url.path) for c in calls] == [
        ("DELETE", "/api/v1/images/a1"),
        ("GET", "/api/v1/images"),
    ]


def test_a_404_web_page_is_a_wrong_url_not_a_deletion() -> None:
    page = httpx.Response(404, text="<html><h1>Not Found</h1></html>")
    with pytest.raises(WrongEndpoint):
        network(lambda request: page).delete({"id": "a1"})


# Albums


def test_albums_are_created_listed_with_counts_and_uploads_land_in_them(
    fake_pichub: FakePicHub, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = pichub_host(fake_pichub, http_client, is_public=False)
    assert host.albums() == []

    album = host.create_album("blog")
    assert album.name == "blog" and album.id
    into = pichub_host(fake_pichub, http_client, album_id=album.id)
    [ident] = stock(into, tmp_path, 1)
    stock(host, tmp_path, 1, start=1)

    assert fake_pichub.album_of(ident) == int(album.id)
    [listed] = host.albums()
    assert (listed.id, listed.name, listed.image_count) == (album.id, "blog", 1)
    images = {image.handle["id"]: image for image in host.list_images()}
    assert images[ident].album == album.id and len(images) == 2
    headers = {"Authorization": f"Bearer {fake_pichub.token}"}
    [raw] = http_client.get(f"{fake_pichub.url}/albums", headers=headers).json()["data"]
    assert raw["is_public"] is False and raw["description"] == "created by imgsync"


def test_pichub_says_it_lists_deletes_and_makes_albums(
    fake_pichub: FakePicHub, http_client: httpx.Client
) -> None:
    host = pichub_host(fake_pichub, http_client)
    assert supports(host) == {"list", "delete", "albums", "create_album"}


# Reading listing replies in every shape


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"id": 1}], "meta": {"total": 9, "per_page": 3, "last_page": 3}},
        {"data": {"data": [{"id": 1}], "total": 9, "per_page": 3, "last_page": 3}},
        {"data": {"images": [{"id": 1}], "pagination": {"total": 9, "per_page": 3, "pages": 3}}},
        {"data": [{"id": 1}], "meta": {"pagination": {"total": 9, "per_page": 3, "pages": 3}}},
    ],
)
def test_a_page_is_read_in_every_shape(body: dict[str, Any]) -> None:
    assert page_items(body) == [{"id": 1}]
    info = page_info(body)
    assert (info.total, info.per_page, info.last_page) == (9, 3, 3)


@pytest.mark.parametrize(
    ("value", "stamp"),
    [
        ("2024-09-05T01:59:26.000000Z", "2024-09-05T01:59:26Z"),
        ("2024-09-05 01:59:26", "2024-09-05T01:59:26Z"),
        ("2024-09-05T03:59:26+02:00", "2024-09-05T01:59:26Z"),
        (1725501566, "2024-09-05T01:59:26Z"),
        ("yesterday", ""),
        (None, ""),
        (True, ""),
    ],
)
def test_times_become_utc_stamps(value: Any, stamp: str) -> None:
    assert utc_stamp(value) == stamp


def test_an_item_without_id_or_url_is_left_out() -> None:
    from imgsync.hosts.pichub_pages import hosted_image

    assert hosted_image({"url": "https://cdn.pichub.app/a.webp"}) is None
    assert hosted_image({"id": 3}) is None
    image = hosted_image({"id": 3, "links": {"url": "https://cdn.pichub.app/a.webp"}})
    assert image == HostedImage("https://cdn.pichub.app/a.webp", {"id": "3"})


# Processing URLs


def test_processing_parameters_join_the_query_before_a_fragment() -> None:
    params = {"w": "800", "fm": "webp"}
    assert processing_url("https://c.app/a.png", params) == "https://c.app/a.png?w=800&fm=webp"
    assert (
        processing_url("https://c.app/a.png?v=2", params) == "https://c.app/a.png?v=2&w=800&fm=webp"
    )
    assert processing_url("https://c.app/a#x", {"h": "5"}) == "https://c.app/a?h=5#x"
    assert processing_url("https://c.app/a.png", {}) == "https://c.app/a.png"


@pytest.mark.parametrize(
    ("transform", "words"),
    [
        ({"q": 0}, "'transform.q' must be a whole number from 1 to 100"),
        ({"q": "80"}, "'transform.q' must be a whole number"),
        ({"w": 20000}, "'transform.w' must be a whole number from 1 to 10000"),
        ({"h": True}, "'transform.h' must be a whole number"),
        ({"fit": "crop"}, "'transform.fit' must be one of cover, contain, fill, inside, outside"),
        ({"fm": "gif"}, "'transform.fm' must be one of jpg, png, webp, avif"),
        ({"width": 800}, "unknown key 'transform.width' (known: w, h, q, fit, fm)"),
        ({}, "'transform' is empty"),
        ("w=800", "'transform' must be a table"),
    ],
)
def test_bad_transform_values_are_config_errors_naming_the_key(
    transform: Any, words: str, http_client: httpx.Client
) -> None:
    profile = HostProfile("pic", "pichub", {"token": "t", "transform": transform}, Path("x.toml"))
    with pytest.raises(ConfigError) as caught:
        PicHubHost(profile, http_client)
    assert words in str(caught.value) and "host profile 'pic'" in str(caught.value)


def test_transform_values_are_written_in_a_fixed_order(http_client: httpx.Client) -> None:
    options = {"token": "t", "transform": {"fm": "WEBP", "fit": "Cover", "q": 80, "w": 800}}
    host = PicHubHost(HostProfile("pic", "pichub", options), http_client)
    linked = host.link_url("https://cdn.pichub.app/x.webp")
    assert linked == "https://cdn.pichub.app/x.webp?w=800&q=80&fit=cover&fm=webp"


def run_imgsync(blog: Path, fake: FakePicHub, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(SECRET=SECRET, PICHUB_URL=fake.url)
    done = subprocess.run(
        [IMGSYNC, *args], cwd=blog, env=env, capture_output=True, text=True, timeout=120
    )
    assert SECRET not in done.stdout + done.stderr
    return done


def configure(blog: Path, transform: str) -> None:
    (blog / "imgsync.toml").write_text(
        '[hosts.pichub]\ntype = "pichub"\nurl = "${PICHUB_URL}"\ntoken = "${SECRET}"\n'
        f"convert_to_webp = false\ntransform = {transform}\n"
    )


def test_sync_writes_processing_urls_keeps_the_plain_one_in_the_cache_and_uploads_once(
    tmp_path: Path,
) -> None:
    blog = tmp_path / "blog"
    (blog / "img").mkdir(parents=True)
    (blog / "img" / "a.png").write_bytes(png_bytes(rgb=(1, 2, 3)))
    (blog / "img" / "b.png").write_bytes(png_bytes(rgb=(4, 5, 6)))
    (blog / "post.md").write_text("# Post\n\n![a](img/a.png)\n\n![b](img/b.png#top)\n")
    configure(blog, '{ w = 800, fit = "cover", fm = "webp" }')
    with FakePicHub(token=SECRET) as fake:
        first = run_imgsync(blog, fake, ".")
        assert first.returncode == 0, first.stderr
        assert len(fake.image_ids) == 2
        text = (blog / "post.md").read_text()
        [a, b] = [f"{fake.site}/cdn/{i}.png" for i in fake.image_ids]
        assert f"![a]({a}?w=800&fit=cover&fm=webp)" in text
        assert f"![b]({b}?w=800&fit=cover&fm=webp#top)" in text
        cache = json.loads((blog / ".imgsync-cache.json").read_text())
        cached = json.dumps(cache)
        assert a in cached and b in cached and "w=800" not in cached

        requests = fake.requests
        second = run_imgsync(blog, fake, ".")
        assert second.returncode == 0 and fake.requests == requests  # nothing asked, nothing sent

        # New parameters: a new reference to an uploaded image gets them, with no upload.
        configure(blog, "{ w = 400, q = 70 }")
        (blog / "more.md").write_text("![again](img/a.png)\n")
        third = run_imgsync(blog, fake, ".")
        assert third.returncode == 0, third.stderr
        assert (blog / "more.md").read_text() == f"![again]({a}?w=400&q=70)\n"
        assert len(fake.uploads) == 1 and len(fake.image_ids) == 2

        printed = run_imgsync(blog, fake, "upload", "img/b.png")
        assert printed.returncode == 0 and printed.stdout.strip() == f"{b}?w=400&q=70"
        assert len(fake.uploads) == 1
