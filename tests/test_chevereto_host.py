"""CheveretoHost against the fake Chevereto, as V4 and as Free with one configuration."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.cache import CacheEntry, UploadCache
from imgsync.errors import (
    AuthError,
    HostError,
    RateLimited,
    WrongEndpoint,
)
from imgsync.hosts import create_host
from imgsync.hosts.base import HostProfile, UploadRequest, supports
from imgsync.hosts.chevereto import CheveretoHost
from imgsync.manage.project import cannot
from imgsync.testing.fake_chevereto import (
    DAY,
    DEFAULT_KEY,
    FLOOD_MESSAGE,
    FakeChevereto,
)
from imgsync.testing.http import REDACTED, parse_multipart
from imgsync.transfer.gate import HostGate
from imgsync.transfer.retry import upload_with_retries
from imgsync.transfer.retry_policy import RetryPolicy
from tests.images import png_bytes

CONFIG = Path("imgsync.toml")
API = "https://img.example.org/api/1"
MakePng = Callable[..., Path]


def chevereto_host(fake: FakeChevereto, http: httpx.Client, **options: Any) -> CheveretoHost:
    """A host for `fake` with its valid key; an option set to None is left out."""
    merged = {"url": fake.url, "key": fake.api_key} | options
    kept = {key: value for key, value in merged.items() if value is not None}
    return CheveretoHost(HostProfile("chev", "chevereto", kept, CONFIG), http)


def request_for(path: Path, alt: str = "") -> UploadRequest:
    return UploadRequest(path, path.name, "image/png", path.stat().st_size, alt)


def upload_error(host: CheveretoHost, path: Path) -> HostError:
    with pytest.raises(HostError) as caught:
        host.upload(request_for(path))
    return caught.value


def mock_host(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> CheveretoHost:
    """A host whose requests go to `handler` instead of the network."""
    client = httpx.Client(transport=httpx.MockTransport(handler))
    profile = HostProfile("chev", "chevereto", {"url": API, "key": DEFAULT_KEY} | options)
    return CheveretoHost(profile, client)


def chevereto_error(code: int, message: str) -> httpx.Response:
    error = {"message": message, "code": code}
    body = {"status_code": 400, "error": error, "status_txt": "Bad Request"}
    return httpx.Response(400, json=body)


class Clock:
    """The fake's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


# What Chevereto can't do


def test_chevereto_claims_no_listing_deleting_or_albums_and_says_why(
    fake_chevereto: FakeChevereto, http_client: httpx.Client
) -> None:
    host = chevereto_host(fake_chevereto, http_client)
    assert supports(host) == frozenset()
    assert set(host.unsupported_hints) == {"list", "delete", "albums", "create_album"}
    assert host.unsupported_hints["delete"] == host.cannot_delete_hint
    assert "web pages" in host.cannot_delete_hint and "never keeps" in host.cannot_delete_hint
    assert (
        cannot(host, "delete")
        == f"chevereto hosts can't delete images through their API: {host.cannot_delete_hint}"
    )
    assert all("\n" not in hint for hint in host.unsupported_hints.values())  # one line each


def test_v4s_delete_url_is_never_kept_since_opening_it_deletes(
    fake_chevereto: FakeChevereto, http_client: httpx.Client, make_png: MakePng, tmp_path: Path
) -> None:
    # The cache is committed: a delete_url there would let any reader delete the image.
    result = chevereto_host(fake_chevereto, http_client).upload(request_for(make_png("a.png")))
    cache = UploadCache.open(tmp_path / "cache.json", project=tmp_path, allow_http=True)
    entry = CacheEntry(
        result.url, dict(result.handle), 1, "0" * 64, "2026-12-02T08:00:00Z", "a.png"
    )
    cache.record("chevereto x", "d41d8cd98f00b204e9800998ecf8427e", entry)
    assert result.handle == {}
    assert "/delete/" not in (tmp_path / "cache.json").read_text()  # the fake's V4 link form


# Success


def test_upload_returns_the_url_and_on_v4_the_delete_page(
    fake_chevereto: FakeChevereto, http_client: httpx.Client, make_png: MakePng
) -> None:
    path = make_png("photo.png")
    result = chevereto_host(fake_chevereto, http_client).upload(request_for(path))

    [received] = fake_chevereto.uploads
    assert result.url.startswith(f"{fake_chevereto.site}/images/")
    assert result.url.endswith("/photo.png") and result.warning is None
    assert result.handle == {}  # V4's delete_url is a secret, never kept; Free has none
    assert (received.filename, received.error) == ("photo.png", None)
    assert received.md5 == hashlib.md5(path.read_bytes()).hexdigest()
    assert http_client.get(result.url).content == path.read_bytes()


def test_the_key_goes_in_the_header_and_the_form_never_the_url(
    fake_chevereto: FakeChevereto, http_client: httpx.Client, make_png: MakePng
) -> None:
    # Free reads only the field and V4 the header first: success on both proves both values.
    chevereto_host(fake_chevereto, http_client).upload(request_for(make_png()))
    [received] = fake_chevereto.uploads
    assert received.headers["x-api-key"] == REDACTED
    assert received.fields == {"key": REDACTED, "format": "json"}
    assert received.query == {}
    assert received.field_names[-1] == "source"
    assert received.headers["accept"] == "application/json"


def test_the_raw_request_carries_the_key_twice_and_asks_for_json(make_png: MakePng) -> None:
    seen: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return chevereto_error(100, "Invalid API key")

    with pytest.raises(AuthError):
        mock_host(capture).upload(request_for(make_png()))
    [request] = seen
    form = parse_multipart(request.headers["Content-Type"], request.read())
    assert request.headers["X-API-Key"] == DEFAULT_KEY
    assert request.headers["Accept"] == "application/json"
    assert form["key"].data.decode() == DEFAULT_KEY
    assert form["format"].data == b"json"
    assert form["source"].filename == "image.png"
    assert str(request.url) == f"{API}/upload" and DEFAULT_KEY not in str(request.url)


@pytest.mark.parametrize(
    ("alt", "options", "title"),
    [
        ("A plot of sales", {}, "A plot of sales"),
        ("", {}, None),
        ("  two\n  lines ", {}, "two lines"),
        ("x" * 150, {}, "x" * 100),  # Chevereto keeps 100 characters
        ("the alt", {"title": "Fixed"}, "Fixed"),
    ],
)
def test_the_title_is_the_alt_text_unless_configured(
    fake_chevereto: FakeChevereto,
    http_client: httpx.Client,
    make_png: MakePng,
    alt: str,
    options: dict[str, Any],
    title: str | None,
) -> None:
    host = chevereto_host(fake_chevereto, http_client, **options)
    host.upload(request_for(make_png(), alt=alt))
    assert fake_chevereto.uploads[0].fields.get("title") == title


@pytest.mark.parametrize(
    ("options", "fields"),
    [
        ({"album_id": "aB3x"}, {"album_id": "aB3x"}),
        ({"category_id": 4, "nsfw": True}, {"category_id": "4", "nsfw": "1"}),
        ({"nsfw": False, "description": " Sky "}, {"nsfw": "0", "description": "Sky"}),
        ({"tags": ["blog", " maps "]}, {"tags": "blog,maps"}),
        ({"tags": "blog, maps,,"}, {"tags": "blog,maps"}),
        ({"expiration": "PT5M"}, {"expiration": "PT5M"}),
        ({"expiration": "p3d", "nsfw": "1"}, {"expiration": "P3D", "nsfw": "1"}),
    ],
)
def test_optional_fields_are_sent_only_when_configured(
    fake_chevereto: FakeChevereto,
    http_client: httpx.Client,
    make_png: MakePng,
    options: dict[str, Any],
    fields: dict[str, str],
) -> None:
    chevereto_host(fake_chevereto, http_client, **options).upload(request_for(make_png()))
    assert fake_chevereto.uploads[0].fields == {"key": REDACTED, "format": "json"} | fields


def test_an_image_held_for_moderation_links_its_viewer_page_with_a_warning(
    fake_chevereto: FakeChevereto, http_client: httpx.Client, make_png: MakePng
) -> None:
    fake_chevereto.moderation = True
    result = chevereto_host(fake_chevereto, http_client).upload(request_for(make_png()))
    assert result.url.startswith(f"{fake_chevereto.site}/image/")
    assert result.handle == {}
    assert result.warning is not None
    assert "moderation" in result.warning and "viewer page" in result.warning
    assert result.url in result.warning


# Refusals


def test_a_bad_key_is_an_auth_error(
    fake_chevereto: FakeChevereto, http_client: httpx.Client, make_png: MakePng
) -> None:
    err = upload_error(chevereto_host(fake_chevereto, http_client, key="chv_wrong"), make_png())
    assert isinstance(err, AuthError) and not err.retryable
    assert err.status == 400
    assert err.host_message in ("Invalid API key", "Invalid API v1 key.")
    assert "check 'key'" in err.message
    assert [u.error for u in fake_chevereto.uploads] == [100]


def test_a_duplicate_explains_what_happened_and_the_way_out(
    fake_chevereto: FakeChevereto, http_client: httpx.Client, make_png: MakePng
) -> None:
    clock = Clock()
    fake_chevereto.now = clock
    host = chevereto_host(fake_chevereto, http_client)
    first = host.upload(request_for(make_png("a.png")))
    err = upload_error(host, make_png("copy-of-a.png"))  # same bytes, other name

    assert type(err) is HostError and not err.retryable
    assert (err.status, err.host_message) == (400, "Duplicated upload")
    for words in (
        "uploaded to this Chevereto from this address within the last 24 hours",
        "imgsync's cache has no record of it",
        "will not say the existing URL",
        "restore the cache file from git",
        "put its URL in the Markdown by hand",
        "wait 24 hours",
    ):
        assert words in err.message
    assert first.url not in str(err)  # the host never tells
    assert [u.error for u in fake_chevereto.uploads] == [None, 101]

    clock.now += DAY - 1
    assert isinstance(upload_error(host, make_png("a.png")), HostError)
    clock.now += 1
    assert host.upload(request_for(make_png("a.png"))).url


def test_flooding_is_a_rate_limit_of_unknown_length(
    fake_chevereto: FakeChevereto, http_client: httpx.Client, make_png: MakePng
) -> None:
    fake_chevereto.fail_next("flood")
    err = upload_error(chevereto_host(fake_chevereto, http_client), make_png())
    assert isinstance(err, RateLimited)
    assert (err.retry_after, err.status, err.host_message) == (None, 400, FLOOD_MESSAGE)
    assert fake_chevereto.uploads[0].error == 130


def test_the_uploader_waits_out_a_flood_and_then_uploads(
    fake_chevereto: FakeChevereto, http_client: httpx.Client, make_png: MakePng
) -> None:
    fake_chevereto.fail_next("flood", times=2)
    slept: list[float] = []
    policy = RetryPolicy(rate_limit_backoff=3.0, rate_limit_wait=42.0)
    clock = [0.0]  # time passes only by the waits, which are recorded instead of spent

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        clock[0] += seconds

    gate = HostGate(policy, clock=lambda: clock[0], sleep=sleep)
    host = chevereto_host(fake_chevereto, http_client)
    result = upload_with_retries(host, request_for(make_png()), gate)
    assert result.url and slept == [3.0, 6.0]  # a flood says no wait: back off, doubling


def test_too_big_is_refused_in_chevereto_words(
    fake_chevereto: FakeChevereto, http_client: httpx.Client, make_png: MakePng
) -> None:
    fake_chevereto.max_size_kb = 0.01
    path = make_png()
    err = upload_error(chevereto_host(fake_chevereto, http_client), path)
    assert type(err) is HostError
    assert f"the image ({path.stat().st_size} bytes)" in err.message
    assert err.host_message == "File too big - max 0.01 KB"
    assert "too large or not a valid image" in err.message and "set max_size" in err.message
    assert err.host_message in str(err)


@pytest.mark.parametrize(
    ("code", "message", "cls", "advice"),
    [
        (100, "Invalid API v1 key.", AuthError, "check 'key'"),
        (102, "Duplicated upload", HostError, "restore the cache file from git"),
        (103, "Duplicated upload", HostError, "wait 24 hours"),
        (120, "Invalid base64 string.", HostError, "ends in /api/1"),
        (130, "Empty upload source.", HostError, "received no image"),
        (130, "Flooding detected. You can only upload 5 images per hour", RateLimited, "flood"),
        (400, "Invalid image", HostError, "not a valid image"),
        (601, "Image too large to process", HostError, "too large"),
        (401, "Request denied", AuthError, "denied the request"),
        (999, "Something new", HostError, "refused the upload (error 999)"),
    ],
)
def test_every_chevereto_error_code_becomes_advice(
    make_png: MakePng, code: int, message: str, cls: type[HostError], advice: str
) -> None:
    err = upload_error(mock_host(lambda request: chevereto_error(code, message)), make_png())
    assert type(err) is cls
    assert advice in err.message
    assert (err.status, err.host_message) == (400, message)


# Server failures and wrong replies


def test_plain_text_is_a_clear_error(make_png: MakePng) -> None:
    host = mock_host(lambda request: httpx.Response(200, text="https://x/a.png"))
    err = upload_error(host, make_png())
    assert type(err) is WrongEndpoint and "It began: 'https://x/a.png'" in err.message


@pytest.mark.parametrize(
    ("reply", "cls", "words"),
    [
        (httpx.Response(404, text="<h1>Not Found</h1>"), WrongEndpoint, "'url' is probably wrong"),
        (httpx.Response(413, text="<h1>413</h1>"), HostError, "proxy's body-size limit"),
        (httpx.Response(301, headers={"Location": "https://x/"}), WrongEndpoint, "https://x/"),
        (httpx.Response(429, headers={"Retry-After": "30"}), RateLimited, "slow down"),
    ],
)
def test_http_statuses_from_proxies_become_advice(
    make_png: MakePng, reply: httpx.Response, cls: type[HostError], words: str
) -> None:
    err = upload_error(mock_host(lambda request: reply), make_png())
    assert type(err) is cls and words in err.message
    if isinstance(err, RateLimited):
        assert err.retry_after == 30


def test_a_wrong_url_is_a_404_with_advice(
    fake_chevereto: FakeChevereto, http_client: httpx.Client, make_png: MakePng
) -> None:
    host = chevereto_host(fake_chevereto, http_client, url=f"{fake_chevereto.site}/api")
    err = upload_error(host, make_png())
    assert type(err) is WrongEndpoint and err.status == 404 and "/api/1" in err.message


# Configuration


@pytest.mark.parametrize("expiration", ["PT5M", "P3D", "P2W", "P1Y2M10DT2H30M", "PT30S"])
def test_iso_durations_are_accepted(http_client: httpx.Client, expiration: str) -> None:
    options = {"url": API, "key": "k", "expiration": expiration}
    CheveretoHost(HostProfile("chev", "chevereto", options), http_client)


def test_the_registry_builds_it_with_a_clean_identity(http_client: httpx.Client) -> None:
    profile = HostProfile("chev", "chevereto", {"url": f" {API}/ ", "key": DEFAULT_KEY})
    host = create_host(profile, http_client)
    assert isinstance(host, CheveretoHost)
    assert host.identity == f"chevereto {API}" and host.max_size is None
    assert repr(host) == f"CheveretoHost({API!r}, key=set)"


# The fake itself behaves like the real editions


def post_raw(fake: FakeChevereto, client: httpx.Client, **kwargs: Any) -> httpx.Response:
    files = {"source": ("a.png", png_bytes(), "image/png")}
    return client.post(f"{fake.url}/upload", files=files, **kwargs)


def test_the_fake_free_reads_only_the_key_field(http_client: httpx.Client) -> None:
    with FakeChevereto(edition="free") as free, FakeChevereto(edition="v4") as v4:
        header = {"X-API-Key": DEFAULT_KEY}
        assert post_raw(free, http_client, headers=header).json()["error"]["code"] == 100
        assert post_raw(v4, http_client, headers=header).json()["status_code"] == 200
        # V4 trusts the header before the field; Free never looks at the header.
        wrong = {"X-API-Key": "chv_wrong"}
        key = {"key": DEFAULT_KEY}
        assert post_raw(v4, http_client, headers=wrong, data=key).status_code == 400
        reply = post_raw(free, http_client, headers=wrong, data=key | {"title": "T"}).json()
        assert reply["image"]["title"] == "a" and "delete_url" not in reply["image"]


def test_the_fake_v4_keeps_the_optional_fields(http_client: httpx.Client) -> None:
    data = {"title": "T", "description": "D", "tags": "x,y", "album_id": "aB3x"}
    with FakeChevereto() as v4:
        image = post_raw(v4, http_client, headers={"X-API-Key": DEFAULT_KEY}, data=data).json()
    image = image["image"]
    assert (image["title"], image["description"], image["album"]) == (
        "T",
        "D",
        {"id_encoded": "aB3x"},
    )
    assert [tag["name"] for tag in image["tags"]] == ["x", "y"]
    assert image["width"] == 1 and image["thumb"]["url"].endswith(".th.png")


def test_the_fake_answers_txt_and_redirect_with_http_200_even_for_errors(
    http_client: httpx.Client,
) -> None:
    with FakeChevereto() as fake:
        error = post_raw(fake, http_client, data={"key": "bad", "format": "txt"})
        assert (error.status_code, error.text) == (200, "Invalid API key")
        key = {"key": DEFAULT_KEY}
        url = post_raw(fake, http_client, data=key | {"format": "txt"})
        assert url.status_code == 200 and url.text.startswith(f"{fake.site}/images/")
        moved = http_client.post(
            f"{fake.url}/upload",
            files={"source": ("b.png", png_bytes(rgb=(1, 2, 3)), "image/png")},
            data=key | {"format": "redirect"},
        )
        assert moved.status_code == 302 and "/image/" in moved.headers["Location"]
        refused = post_raw(fake, http_client, data=key | {"format": "redirect"})
        assert (refused.status_code, refused.text) == (200, "Duplicated upload")


def test_the_fake_refuses_duplicates_per_address(http_client: httpx.Client) -> None:
    with FakeChevereto() as fake:
        key = {"key": DEFAULT_KEY}
        assert post_raw(fake, http_client, data=key).status_code == 200
        assert post_raw(fake, http_client, data=key).json()["error"]["code"] == 101
        # Another loopback address is another client (Linux routes all of 127/8 to lo).
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.2", 0))
            except OSError:
                pytest.skip("no second loopback address here")
        other = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(transport=other) as client:
            assert post_raw(fake, client, data=key).status_code == 200


def test_forms_keep_repeated_fields_in_order() -> None:
    body = (
        b'--B\r\nContent-Disposition: form-data; name="files[]"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\nA\r\n--B\r\n"
        b'Content-Disposition: form-data; name="files[]"; filename="b.png"\r\n\r\nB\r\n--B\r\n'
        b'Content-Disposition: form-data; name="album_id"\r\n\r\n7\r\n--B--\r\n'
    )
    form = parse_multipart("multipart/form-data; boundary=B", body)
    assert [part.filename for part in form.getall("files[]")] == ["a.png", "b.png"]
    assert form["files[]"] == ("a.png", b"A", "image/png")  # the first, for single fields
    assert list(form) == ["files[]", "album_id"] and form.fields() == {"album_id": "7"}
    assert [name for name, _ in form.parts] == ["files[]", "files[]", "album_id"]
