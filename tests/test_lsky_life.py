"""Lsky's listing, deleting and albums against the fake, in what is Lsky's own: albums that
hide their images from the plain listing, ties of its order, its throttle, its replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.errors import AuthError, RateLimited
from imgsync.hosts.base import HostProfile, UploadRequest
from imgsync.hosts.lsky import LskyHost
from imgsync.hosts.lsky_listing import Patience
from imgsync.testing.fake_lsky import DEFAULT_TOKEN, FakeLsky
from tests.images import png_bytes

CONFIG = Path("imgsync.toml")
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Accept": "application/json"}
QUICK = Patience(first_wait=0.1, longest_wait=0.5, most_waiting=30.0)


@pytest.fixture
def fake() -> Any:
    with FakeLsky(rate_limit=None) as server:
        yield server


def lsky(fake: FakeLsky, http: httpx.Client, **options: Any) -> LskyHost:
    host = LskyHost(
        HostProfile("blog", "lsky", {"url": fake.url, "token": DEFAULT_TOKEN} | options, CONFIG),
        http,
    )
    host.patience = QUICK
    return host


def upload(host: LskyHost, folder: Path, count: int, start: int = 0) -> list[str]:
    """`count` images, each some 20 bytes larger than the one before: their keys."""
    keys = []
    for n in range(start, start + count):
        path = folder / f"img{n}.png"
        path.write_bytes(png_bytes(2, 2, (n % 256, n // 256, 7)) + b"\0" * (20 * n))
        request = UploadRequest(path, path.name, "image/png", path.stat().st_size)
        keys.append(host.upload(request).handle["key"])
    return keys


def test_the_whole_account_is_each_album_then_the_images_in_no_album(
    fake: FakeLsky, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = lsky(fake, http_client)
    keys = upload(host, tmp_path, 50)
    blog, notes = fake.add_album("blog"), fake.add_album("notes")
    for key in keys[:45]:
        fake.move_to_album(key, blog)
    for key in keys[45:47]:
        fake.move_to_album(key, notes)
    plain = http_client.get(f"{fake.url}/images", headers=AUTH).json()["data"]
    assert plain["total"] == 3  # Lsky's own listing hides the images in albums
    host.requests_made = 0

    listed = {image.handle["key"]: image for image in host.list_images()}

    assert sorted(listed) == sorted(keys)
    assert {key: listed[key].album for key in keys} == (
        dict.fromkeys(keys[:45], str(blog))
        | dict.fromkeys(keys[45:47], str(notes))
        | dict.fromkeys(keys[47:], "")
    )
    # GET /albums; album "blog" (2 pages): page 1 to learn their number, 2, then 1 again;
    # "notes" and no album: one page each.
    assert host.requests_made == 1 + 3 + 1 + 1
    assert [(a.name, a.image_count) for a in host.albums()] == [("blog", 45), ("notes", 2)]


def test_a_listed_image_says_its_size_name_and_utc_time(
    fake: FakeLsky, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = lsky(fake, http_client)
    [key] = upload(host, tmp_path, 1, start=100)
    raw = http_client.get(f"{fake.url}/images", headers=AUTH).json()["data"]["data"][0]

    [image] = host.list_images()

    assert "album_id" not in raw and "created_at" not in raw  # hidden by Lsky's controller
    assert image.handle == {"key": key} and image.name == "img100.png"
    assert image.size == round(raw["size"] * 1024)  # Lsky says KB, to two decimals
    shown = datetime.strptime(raw["date"], "%Y-%m-%d %H:%M:%S")  # Lsky's zone: PRC, UTC+8
    utc = datetime.strptime(image.uploaded_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert utc == shown.replace(tzinfo=timezone(timedelta(hours=8)))
    assert abs((datetime.now(UTC) - utc).total_seconds()) < 60


def test_ties_of_the_same_second_in_any_order_hide_no_image(
    fake: FakeLsky, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = lsky(fake, http_client)
    keys = upload(host, tmp_path, 90)
    fake.shuffle_ties = True  # MySQL's order of rows of the same created_at, per query

    listed = [image.handle["key"] for image in host.list_images()]

    assert sorted(listed) == sorted(keys)


def test_an_album_deleted_mid_listing_gives_its_images_to_the_no_album_listing(
    fake: FakeLsky, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = lsky(fake, http_client)
    keys = upload(host, tmp_path, 12)
    first, second = fake.add_album("a"), fake.add_album("b")
    for key in keys[:4]:
        fake.move_to_album(key, first)
    for key in keys[4:8]:
        fake.move_to_album(key, second)
    listing = host.list_images()

    seen = [next(listing).handle["key"]]  # album "a" is being read
    http_client.delete(f"{fake.url}/albums/{second}", headers=AUTH)
    seen += [image.handle["key"] for image in listing]

    assert sorted(seen) == sorted(keys) and len(seen) == len(set(seen))
    assert fake.album_names() == {first: "a"}


def test_the_throttle_is_waited_out_and_the_listing_finishes(
    fake: FakeLsky, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = lsky(fake, http_client)
    keys = upload(host, tmp_path, 130)
    fake.rate_limit, fake.rate_window = 3, 0.5  # 3 requests a half second, no Retry-After

    listed = [image.handle["key"] for image in host.list_images()]

    assert sorted(listed) == sorted(keys)
    assert host.requests_made >= 6  # albums, then the probe of page 1 and pages 4 to 1


def test_a_throttle_that_outlasts_the_patience_is_a_rate_limit_error(
    fake: FakeLsky, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = lsky(fake, http_client)
    upload(host, tmp_path, 1)
    fake.rate_limit, fake.rate_window = 1, 60.0
    host.patience = Patience(first_wait=0.1, longest_wait=0.2, most_waiting=0.5)

    with pytest.raises(RateLimited, match=r"gave up listing after waiting 0\.5s"):
        list(host.list_images())


def test_listing_without_a_token_says_so_before_sending(
    fake: FakeLsky, http_client: httpx.Client
) -> None:
    host = LskyHost(HostProfile("blog", "lsky", {"url": fake.url}, CONFIG), http_client)

    with pytest.raises(AuthError, match="need the account's token: set 'token'"):
        list(host.list_images())
    assert fake.requests == 0


def test_a_wrong_token_is_an_auth_error_that_never_shows_it(
    fake: FakeLsky, http_client: httpx.Client
) -> None:
    wrong = "3|" + "s3cr3t" * 7
    host = lsky(fake, http_client, token=wrong)

    for call in (
        lambda: list(host.list_images()),
        host.albums,
        lambda: host.delete({"key": "abcdef"}),
    ):
        with pytest.raises(AuthError) as caught:
            call()
        assert "s3cr3t" not in str(caught.value) and "s3cr3t" not in repr(caught.value)


def test_deleting_keeps_lskys_album_counts_and_an_unknown_key_is_no_error(
    fake: FakeLsky, http_client: httpx.Client, tmp_path: Path
) -> None:
    host = lsky(fake, http_client)
    keys = upload(host, tmp_path, 3)
    album = fake.add_album("blog")
    for key in keys:
        fake.move_to_album(key, album)

    host.delete({"key": keys[0]})
    host.delete({"key": "NoSuchKey1"})  # Lsky answers success for it

    assert fake.stored() == dict.fromkeys(keys[1:], album)
    assert host.albums()[0].image_count == 2


@pytest.mark.parametrize(
    ("plus", "default_album", "lands_in"),
    [(False, None, None), (False, "notes", "notes"), (True, None, "blog"), (True, "notes", "blog")],
)
def test_an_upload_lands_in_album_id_only_on_lsky_pro_plus(
    fake: FakeLsky,
    http_client: httpx.Client,
    tmp_path: Path,
    plus: bool,
    default_album: str | None,
    lands_in: str | None,
) -> None:
    ids = {name: fake.add_album(name) for name in ("blog", "notes")}
    fake.plus = plus
    fake.default_album = ids[default_album] if default_album else None
    host = lsky(fake, http_client, album_id=ids["blog"])

    [key] = upload(host, tmp_path, 1)

    assert fake.stored()[key] == (ids[lands_in] if lands_in else None)
