"""PicHubHost against the fake PicHub, in every reply style, and its pacing under the limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.errors import (
    AuthError,
    HostError,
    RateLimited,
    WrongEndpoint,
)
from imgsync.hosts import create_host
from imgsync.hosts.base import (
    BatchHost,
    HostProfile,
    HttpSettings,
    UploadRequest,
    UploadResult,
    make_http_client,
)
from imgsync.hosts.pichub import DEFAULT_URL, MAX_SIZE, PicHubHost
from imgsync.testing.fake_pichub import DEFAULT_TOKEN, FakePicHub
from imgsync.testing.http import REDACTED, parse_multipart
from imgsync.transfer.pool import upload_many
from imgsync.transfer.retry_policy import RetryPolicy
from tests.images import png_bytes

CONFIG = Path("imgsync.toml")
API = "https://api.pichub.app/api/v1"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
MakePng = Callable[..., Path]


def pichub_host(fake: FakePicHub, http: httpx.Client, **options: Any) -> PicHubHost:
    """A host for `fake` with its valid token; an option set to None is left out."""
    merged = {"url": fake.url, "token": fake.token} | options
    kept = {key: value for key, value in merged.items() if value is not None}
    return PicHubHost(HostProfile("pic", "pichub", kept, CONFIG), http)


def request_for(path: Path, mime: str = "image/png", size: int | None = None) -> UploadRequest:
    return UploadRequest(path, path.name, mime, path.stat().st_size if size is None else size)


def upload_error(host: PicHubHost, request: UploadRequest) -> HostError:
    with pytest.raises(HostError) as caught:
        host.upload(request)
    return caught.value


def mock_host(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> PicHubHost:
    """A host whose requests go to `handler` instead of the network."""
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return PicHubHost(HostProfile("pic", "pichub", {"token": DEFAULT_TOKEN} | options), client)


def replying(status: int, body: Any, **headers: str) -> PicHubHost:
    return mock_host(lambda request: httpx.Response(status, json=body, headers=headers))


def svg_as_png(tmp_path: Path, name: str = "drawing.png") -> UploadRequest:
    """A file the caller believes is a PNG but whose bytes PicHub sniffs as SVG."""
    path = tmp_path / name
    path.write_bytes(SVG)
    return request_for(path)


# Success


def test_one_file_goes_up_and_keeps_its_id(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng
) -> None:
    path = make_png("photo.png")
    result = pichub_host(fake_pichub, http_client).upload(request_for(path))

    [received] = fake_pichub.uploads
    assert result.url.startswith(f"{fake_pichub.site}/cdn/")
    assert result.handle == {"id": received.ids[0]} and received.status == 200
    assert [(f.field, f.filename) for f in received.files] == [("files[]", "photo.png")]
    assert received.headers["authorization"] == REDACTED
    assert received.headers["accept"] == "application/json"
    assert http_client.get(result.url).content == path.read_bytes()


def test_a_batch_is_one_request_and_keeps_the_order(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng
) -> None:
    paths = [make_png(f"p{n}.png", rgb=(n, 9, 9)) for n in range(4)]
    host = pichub_host(fake_pichub, http_client)
    results = host.upload_batch([request_for(p) for p in paths])

    [received] = fake_pichub.uploads
    assert [f.filename for f in received.files] == [p.name for p in paths]
    assert [r.handle["id"] for r in results if isinstance(r, UploadResult)] == list(received.ids)
    for path, result in zip(paths, results, strict=True):
        assert isinstance(result, UploadResult)
        assert http_client.get(result.url).content == path.read_bytes()


def test_files_of_the_same_name_are_told_apart_by_order(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng
) -> None:
    paths = [make_png(f"{folder}/image.png", rgb=(n, 0, 0)) for n, folder in enumerate("abc")]
    results = pichub_host(fake_pichub, http_client).upload_batch([request_for(p) for p in paths])
    for path, result in zip(paths, results, strict=True):
        assert isinstance(result, UploadResult)
        assert http_client.get(result.url).content == path.read_bytes()


def test_the_v1_base_and_a_trailing_slash_work(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng
) -> None:
    host = pichub_host(fake_pichub, http_client, url=f"{fake_pichub.site}/v1/")
    assert host.identity == f"pichub {fake_pichub.site}/v1"
    assert host.upload(request_for(make_png())).url.startswith(fake_pichub.site)


def test_pichub_turns_a_png_into_webp_unless_told_not_to(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng
) -> None:
    converted = pichub_host(fake_pichub, http_client).upload(request_for(make_png("a.png")))
    assert converted.url.endswith(".webp")
    assert converted.warning is not None and "convert_to_webp = false" in converted.warning

    host = pichub_host(fake_pichub, http_client, convert_to_webp=False)
    kept = host.upload(request_for(make_png("b.png", rgb=(1, 2, 3))))
    assert kept.url.endswith(".png") and kept.warning is None
    chosen = pichub_host(fake_pichub, http_client, format="webp")
    assert chosen.upload(request_for(make_png("c.png", rgb=(3, 2, 1)))).warning is None


@pytest.mark.parametrize(
    ("options", "fields"),
    [
        ({}, {}),
        ({"convert_to_webp": False}, {"convertToWebP": "0"}),
        (
            {"convert_to_webp": "true", "remove_exif": True},
            {"convertToWebP": "1", "remove_exif": "1"},
        ),
        ({"is_public": 0, "auto_rename": "no"}, {"is_public": "0", "auto_rename": "0"}),
        ({"quality": 80, "format": "JPEG"}, {"quality": "80", "format": "jpeg"}),
        ({"quality": "100", "batch_size": 2}, {"quality": "100"}),
    ],
)
def test_options_are_sent_only_when_set(
    fake_pichub: FakePicHub,
    http_client: httpx.Client,
    make_png: MakePng,
    options: dict[str, Any],
    fields: dict[str, str],
) -> None:
    pichub_host(fake_pichub, http_client, **options).upload(request_for(make_png()))
    assert fake_pichub.uploads[0].fields == fields


def test_an_album_is_sent_by_id(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng
) -> None:
    headers = {"Authorization": f"Bearer {fake_pichub.token}"}
    album = http_client.post(f"{fake_pichub.url}/albums", headers=headers, json={"name": "Blog"})
    album_id = album.json()["data"]["id"]
    host = pichub_host(fake_pichub, http_client, album_id=album_id)
    result = host.upload(request_for(make_png()))
    listed = http_client.get(f"{fake_pichub.url}/images?album_id={album_id}", headers=headers)
    assert [image["id"] for image in listed.json()["data"]] == [result.handle["id"]]


# Every reply variant the sources show


def item(name: str | None, **fields: Any) -> dict[str, Any]:
    found = {"id": f"id-{name}", **fields}
    return found if name is None else found | {"original_name": name}


@pytest.mark.parametrize(
    ("data", "url"),
    [
        (item("a.png", url="https://cdn.pichub.app/A.webp"), "https://cdn.pichub.app/A.webp"),
        ([item("a.png", links={"url": "https://x/L.png"})], "https://x/L.png"),
        (item(None, cdn_url="https://cdn/C.png", url="/relative"), "https://cdn/C.png"),
    ],
)
def test_the_url_is_found_wherever_the_reply_puts_it(
    make_png: MakePng, data: Any, url: str
) -> None:
    host = replying(200, {"success": True, "data": data})
    assert host.upload(request_for(make_png("a.png"))).url == url


def test_reply_items_are_matched_by_name_when_the_server_reorders_them(make_png: MakePng) -> None:
    names = ["a.png", "b.png", "c.png"]
    data = [item(n, url=f"https://cdn/{n}") for n in reversed(names)]
    host = replying(200, {"success": True, "data": data})
    results = host.upload_batch([request_for(make_png(n)) for n in names])
    assert [r.url for r in results if isinstance(r, UploadResult)] == [
        f"https://cdn/{n}" for n in names
    ]


def test_reply_items_without_names_are_matched_by_order(make_png: MakePng) -> None:
    data = [{"id": 41, "url": "https://cdn/1"}, {"id": 42, "url": "https://cdn/2"}]
    host = replying(200, {"success": True, "data": data})
    first, second = host.upload_batch([request_for(make_png(n)) for n in ("x.png", "y.png")])
    assert isinstance(first, UploadResult) and isinstance(second, UploadResult)
    assert (first.url, first.handle, second.handle) == ("https://cdn/1", {"id": "41"}, {"id": "42"})


def test_a_reply_that_cannot_be_matched_never_guesses(make_png: MakePng) -> None:
    host = replying(200, {"success": True, "data": [{"id": 1, "url": "https://cdn/1"}]})
    outcomes = host.upload_batch([request_for(make_png(n)) for n in ("x.png", "y.png")])
    assert all(isinstance(o, HostError) and "does not say" in str(o) for o in outcomes)


@pytest.mark.parametrize(
    "errors",
    [
        {"files.1": ["The files.1 must be a file of type: jpg, png, webp, gif."]},
        [{"original_name": "y.png", "message": "The files.1 must be a file of type: jpg"}],
    ],
)
def test_top_level_per_file_errors_fail_only_their_file(make_png: MakePng, errors: Any) -> None:
    body = {"success": True, "data": [item("x.png", url="https://cdn/x")], "errors": errors}
    host = replying(207, body)
    done, failed = host.upload_batch([request_for(make_png(n)) for n in ("x.png", "y.png")])
    assert isinstance(done, UploadResult) and done.url == "https://cdn/x"
    assert isinstance(failed, HostError) and failed.status == 207
    assert failed.host_message is not None and "must be a file of type" in failed.host_message


@pytest.mark.parametrize(
    "body",
    [
        {"success": False, "error": {"code": "QUOTA", "message": "Monthly quota", "details": None}},
        {"success": False, "message": "Monthly quota", "errors": {}},
    ],
)
def test_success_false_in_a_200_is_a_refusal_with_the_host_words(
    make_png: MakePng, body: dict[str, Any]
) -> None:
    err = upload_error(replying(200, body), request_for(make_png()))
    assert type(err) is HostError and err.host_message == "Monthly quota"


def test_a_file_refused_inside_a_batch_fails_alone(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng, tmp_path: Path
) -> None:
    requests = [
        request_for(make_png("a.png")),
        svg_as_png(tmp_path),
        request_for(make_png("c.png", rgb=(0, 0, 1))),
    ]
    first, refused, last = pichub_host(fake_pichub, http_client).upload_batch(requests)
    assert isinstance(first, UploadResult) and isinstance(last, UploadResult)
    assert isinstance(refused, HostError) and not refused.retryable and refused.status == 207
    assert (
        refused.host_message is not None and "SVG files are not supported" in refused.host_message
    )
    assert fake_pichub.uploads[0].status == 207 and len(fake_pichub.uploads[0].ids) == 2


# Refused here, before any request


@pytest.mark.parametrize("mime", ["image/svg+xml", "image/bmp", "image/tiff"])
def test_types_pichub_refuses_never_leave(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng, mime: str
) -> None:
    host = pichub_host(fake_pichub, http_client)
    refused, done = host.upload_batch(
        [request_for(make_png("x.png"), mime), request_for(make_png("ok.png"))]
    )
    assert (
        isinstance(refused, HostError)
        and mime in str(refused)
        and "JPG, PNG, WebP and GIF" in str(refused)
    )
    assert isinstance(done, UploadResult)
    assert [f.filename for f in fake_pichub.uploads[0].files] == ["ok.png"]
    assert isinstance(upload_error(host, request_for(make_png("x.png"), mime)), HostError)
    assert fake_pichub.requests == 1


def test_files_over_50_mb_never_leave(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng, tmp_path: Path
) -> None:
    host = pichub_host(fake_pichub, http_client)
    assert host.max_size == MAX_SIZE == 50 * 1024 * 1024
    sparse = tmp_path / "huge.png"
    with sparse.open("wb") as stream:
        stream.truncate(MAX_SIZE + 1)  # a hole: no disk space used
    err = upload_error(host, request_for(sparse))
    assert "50.0 MB" in str(err) and "above PicHub's 50 MB" in str(err)
    err = upload_error(host, request_for(make_png("claimed.png"), size=MAX_SIZE + 1))
    assert str(err).startswith("claimed.png is 50.0 MB") and fake_pichub.requests == 0
    assert host.upload(request_for(make_png("fits.png"), size=MAX_SIZE)).url


# Refusals from the server


def test_a_bad_token_is_an_auth_error(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng
) -> None:
    err = upload_error(
        pichub_host(fake_pichub, http_client, token="ph_wrong"), request_for(make_png())
    )
    assert isinstance(err, AuthError) and not err.retryable
    assert (err.status, err.host_message) == (401, "Invalid or missing API token")
    assert "check 'token'" in err.message


@pytest.mark.parametrize(
    ("setup", "status", "advice", "said"),
    [
        ("too_big", 413, "up to 50 MB", "exceeds the maximum size of 1e-05 MB"),
        ("svg", 415, "only JPG, PNG, WebP and GIF", "SVG files are not supported"),
        ("bad_album", 422, "check quality (1-100), format and album_id", "must be an integer"),
        ("no_album", 404, "album_id yours", "Album not found"),
        ("full", 507, "storage for this account is full", "Storage quota exceeded"),
    ],
)
def test_server_refusals_become_advice_with_the_host_words(
    fake_pichub: FakePicHub,
    http_client: httpx.Client,
    make_png: MakePng,
    tmp_path: Path,
    setup: str,
    status: int,
    advice: str,
    said: str,
) -> None:
    albums = {"bad_album": "blog", "no_album": 99}  # PicHub's ids are numbers
    fake_pichub.max_size_mb = 0.00001 if setup == "too_big" else 50
    fake_pichub.storage_full = setup == "full"
    request = svg_as_png(tmp_path) if setup == "svg" else request_for(make_png())
    err = upload_error(pichub_host(fake_pichub, http_client, album_id=albums.get(setup)), request)
    # A 404 (no such album) is the same for every file: it stops the host's queue.
    assert type(err) is (WrongEndpoint if status == 404 else HostError) and not err.retryable
    assert err.status == status and advice in err.message
    assert err.host_message is not None and said in err.host_message and said in str(err)


def test_a_429_is_a_rate_limit_with_the_retry_after(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng
) -> None:
    fake_pichub.window_seconds = 30
    fake_pichub.fail_next("429")
    err = upload_error(pichub_host(fake_pichub, http_client), request_for(make_png()))
    assert isinstance(err, RateLimited) and err.status == 429
    assert err.retry_after is not None and 28 <= err.retry_after <= 31
    assert err.host_message == "Upload limit reached"


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "12", "X-RateLimit-Reset": "9999999999"}, 12.0),
        ({"X-RateLimit-Reset": "RESET"}, 20.0),
        ({}, None),
    ],
)
def test_a_429_wait_comes_from_retry_after_else_the_reset(
    make_png: MakePng, headers: dict[str, str], wait: float | None
) -> None:
    if headers.get("X-RateLimit-Reset") == "RESET":
        headers = {"X-RateLimit-Reset": str(int(time.time()) + 20)}
    body = {"success": False, "error": {"code": "RATE_LIMIT_EXCEEDED", "message": "Slow down"}}
    err = upload_error(replying(429, body, **headers), request_for(make_png()))
    assert isinstance(err, RateLimited) and err.host_message == "Slow down"
    if wait is None:
        assert err.retry_after is None
    else:
        assert err.retry_after is not None and wait - 1.5 <= err.retry_after <= wait


# Pacing: wait in line instead of collecting 429s


def watched_client(settings: HttpSettings, seen: list[httpx.Response]) -> httpx.Client:
    client = make_http_client(settings)
    client.event_hooks["response"].append(seen.append)
    return client


def test_the_fourth_upload_waits_for_the_reset_without_sending(
    http_settings: HttpSettings, make_png: MakePng
) -> None:
    seen: list[httpx.Response] = []
    with (
        FakePicHub(upload_limit=3, window_seconds=2) as fake,
        watched_client(http_settings, seen) as client,
    ):
        host = pichub_host(fake, client)
        for n in range(3):
            host.upload(request_for(make_png(f"{n}.png", rgb=(n, 0, 0))))
        assert seen[-1].headers["X-RateLimit-Remaining"] == "0"
        reset = float(seen[-1].headers["X-RateLimit-Reset"])

        err = upload_error(host, request_for(make_png("3.png", rgb=(3, 0, 0))))
        assert isinstance(err, RateLimited) and err.status is None
        assert err.retry_after is not None and abs(err.retry_after - (reset - time.time())) < 0.5
        assert "upload limit (3 a window) is used up" in str(err)
        assert fake.requests == 3  # nothing was sent

        time.sleep(err.retry_after)  # what the uploader does with it
        assert host.upload(request_for(make_png("3.png", rgb=(3, 0, 0)))).url
        assert [u.status for u in fake.uploads] == [200] * 4


def test_threads_share_the_budget_and_send_no_more_than_it(
    http_client: httpx.Client, make_png: MakePng
) -> None:
    with FakePicHub(upload_limit=3, window_seconds=30, latency=0.05) as fake:
        host = pichub_host(fake, http_client)
        requests = [request_for(make_png(f"{n}.png", rgb=(n, 1, 1))) for n in range(8)]
        outcomes: list[object] = []

        def upload(request: UploadRequest) -> None:
            try:
                outcomes.append(host.upload(request))
            except HostError as error:
                outcomes.append(error)

        threads = [threading.Thread(target=upload, args=(r,)) for r in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(isinstance(o, UploadResult) for o in outcomes) == 3
    assert sum(isinstance(o, RateLimited) and o.status is None for o in outcomes) == 5
    assert [u.status for u in fake.uploads] == [200] * 3  # not one 429


def test_a_batch_larger_than_the_limit_asks_for_a_smaller_batch_size(
    http_client: httpx.Client, make_png: MakePng
) -> None:
    with FakePicHub(upload_limit=3, window_seconds=30) as fake:
        host = pichub_host(fake, http_client, batch_size=5)
        requests = [request_for(make_png(f"{n}.png", rgb=(n, 2, 2))) for n in range(5)]
        with pytest.raises(RateLimited):  # the first try learns the limit from the 429
            host.upload_batch(requests)
        with pytest.raises(HostError, match="set batch_size to 3 or fewer") as caught:
            host.upload_batch(requests)
    assert not caught.value.retryable and [u.status for u in fake.uploads] == [429]


@pytest.mark.slow
def test_the_uploader_waits_in_line_through_the_windows(
    http_client: httpx.Client, tmp_path: Path
) -> None:
    """40 files, 10 uploads a 3-second window, 4 threads: every file goes up, no 429 at all."""
    requests = {}
    for n in range(40):
        path = tmp_path / f"img{n:02}.png"
        path.write_bytes(png_bytes(rgb=(n, n, 7)))
        requests[path.name] = request_for(path)
    waits: list[str] = []
    started = time.monotonic()
    with FakePicHub(upload_limit=10, window_seconds=3) as fake:
        host = create_host(
            HostProfile("pic", "pichub", {"url": fake.url, "token": fake.token}), http_client
        )
        batch = upload_many(
            host,
            requests,
            RetryPolicy(),
            jobs=4,
            on_success=lambda key, result: None,
            on_wait=waits.append,
        )
    assert batch.failed == {} and len(batch.done) == 40
    assert len({result.url for result in batch.done.values()}) == 40
    assert waits and all("waiting" in w and "(until " in w for w in waits)
    assert {u.status for u in fake.uploads} == {200}
    assert sum(len(u.files) for u in fake.uploads) == 40
    assert time.monotonic() - started < 20


# Server failures and wrong replies


@pytest.mark.parametrize(
    ("reply", "cls", "words"),
    [
        (httpx.Response(404, text="<h1>Not Found</h1>"), WrongEndpoint, "is 'url' the API base"),
        (httpx.Response(413, text="<h1>413</h1>"), HostError, "up to 50 MB"),
        (httpx.Response(301, headers={"Location": "https://x/"}), WrongEndpoint, "https://x/"),
        (
            httpx.Response(403, json={"success": False, "message": "Suspended"}),
            AuthError,
            "may not upload",
        ),
        (httpx.Response(418, text="teapot"), HostError, "refused (HTTP 418); it began: 'teapot'"),
        (httpx.Response(200, json={"success": True}), HostError, "sent no data"),
        (httpx.Response(200, json={"success": True, "data": {"id": 1}}), HostError, "sent no URL"),
    ],
)
def test_other_replies_become_advice(
    make_png: MakePng, reply: httpx.Response, cls: type[HostError], words: str
) -> None:
    err = upload_error(mock_host(lambda request: reply), request_for(make_png()))
    assert type(err) is cls and words in str(err)


def test_an_unreadable_file_fails_alone(
    fake_pichub: FakePicHub, http_client: httpx.Client, make_png: MakePng, tmp_path: Path
) -> None:
    gone = UploadRequest(tmp_path / "gone.png", "gone.png", "image/png", 10)
    outcomes = pichub_host(fake_pichub, http_client).upload_batch([gone, request_for(make_png())])
    assert isinstance(outcomes[0], HostError) and "gone.png can't be read" in str(outcomes[0])
    assert isinstance(outcomes[1], UploadResult)


# The token stays secret


def test_the_raw_request_repeats_files_and_sends_the_token_only_in_the_header(
    make_png: MakePng,
) -> None:
    seen: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"success": True, "data": [{"url": "https://c/1"}, {"url": "https://c/2"}]}
        )

    mock_host(capture, quality=70).upload_batch(
        [request_for(make_png(n)) for n in ("a.png", "b.png")]
    )
    [request] = seen
    form = parse_multipart(request.headers["Content-Type"], request.read())
    assert [part.filename for part in form.getall("files[]")] == ["a.png", "b.png"]
    assert form.fields() == {"quality": "70"}
    assert request.headers["Authorization"] == f"Bearer {DEFAULT_TOKEN}"
    assert str(request.url) == f"{API}/upload" and DEFAULT_TOKEN not in str(request.url)


# Configuration


def test_the_registry_builds_it_with_its_defaults(http_client: httpx.Client) -> None:
    host = create_host(HostProfile("pic", "pichub", {"token": DEFAULT_TOKEN}), http_client)
    assert isinstance(host, PicHubHost) and isinstance(host, BatchHost)
    assert host.identity == f"pichub {DEFAULT_URL}" and host.batch_size == 5
    assert host.max_size == 50 * 1024 * 1024


# The fake itself


def test_the_fake_takes_file_and_image_fields_and_answers_under_v1(
    http_client: httpx.Client,
) -> None:
    with FakePicHub(response_style="list") as fake:
        headers = {"Authorization": f"Bearer {fake.token}"}
        for name in ("file", "image"):
            files = {name: ("a.png", png_bytes(), "image/png")}
            reply = http_client.post(f"{fake.site}/v1/upload", headers=headers, files=files)
            assert reply.status_code == 200 and isinstance(reply.json()["data"], list)
        assert [u.files[0].field for u in fake.uploads] == ["file", "image"]
        empty = http_client.post(f"{fake.url}/upload", headers=headers, data={"quality": "0"})
        assert empty.status_code == 422
        assert set(empty.json()["error"]["details"]) == {"files", "quality"}


def test_the_fake_lists_deletes_and_serves_images(http_client: httpx.Client) -> None:
    with FakePicHub() as fake:
        headers = {"Authorization": f"Bearer {fake.token}"}
        files = {"files[]": ("a.png", png_bytes(), "image/png")}
        data = http_client.post(f"{fake.url}/upload", headers=headers, files=files).json()["data"]
        listed = http_client.get(f"{fake.url}/images?page=1&per_page=5", headers=headers).json()
        assert [i["id"] for i in listed["data"]] == [data["id"]] and listed["meta"]["total"] == 1
        assert http_client.get(f"{data['url']}?w=100").content == png_bytes()
        assert (
            http_client.delete(f"{fake.url}/images/{data['id']}", headers=headers).status_code
            == 200
        )
        assert (
            http_client.delete(f"{fake.url}/images/{data['id']}", headers=headers).status_code
            == 404
        )
        assert http_client.get(data["url"]).status_code == 404
        assert http_client.get(f"{fake.url}/albums", headers=headers).json()["data"] == []


def test_the_fake_limits_api_requests_with_headers_on_every_reply(
    http_client: httpx.Client,
) -> None:
    with FakePicHub(request_limits=(2, 1000, 10000), window_seconds=30) as fake:
        headers = {"Authorization": f"Bearer {fake.token}"}
        replies = [http_client.get(f"{fake.url}/albums", headers=headers) for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in replies] == ["1", "0", "0"]
    assert 29 <= int(replies[2].headers["Retry-After"]) <= 30
    assert int(replies[0].headers["X-RateLimit-Reset"]) >= time.time() + 29
