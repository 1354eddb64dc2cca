"""The PicGo host against the fake PicGo and PicList servers: the contract, then its own parts
(path uploads of staged copies, batches, PicList's picbed choice, the heartbeat)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.errors import AuthError, HostError, HostUnreachable, WrongEndpoint
from imgsync.hosts import create_host
from imgsync.hosts.base import (
    BatchHost,
    CheckableHost,
    HostProfile,
    HttpSettings,
    StagingHost,
    UploadRequest,
    make_http_client,
    supports,
)
from imgsync.hosts.picgo import PicGoHost
from imgsync.hosts.picgo_staging import STALE_AFTER
from imgsync.privacy import send_plan
from imgsync.testing.fake_picgo import PICLIST_FAILED, SERVER_ERROR, FakePicGo
from imgsync.testing.http import FakeServer
from tests.host_contract import CONFIG, SITUATIONS, SIZE_LIMIT_KB, HostContract
from tests.images import LATITUDE, exif_tiff, jpeg_bytes, png_bytes, rationals

KEY = "picgoServerKey0123456789abcdef"
WRONG = "picgoServerKeyWrongWrongWrong0"


class TestPicGoContract(HostContract):
    host_class = PicGoHost
    secret = KEY
    wrong_secret = WRONG
    # PicGo 3 and PicList, each sent paths (the default) and forms.
    variants = ("picgo", "piclist", "picgo-form", "piclist-form")
    # Neither server limits requests: a picbed's limit comes back as its failed upload.
    situations = SITUATIONS - {"rate_limit"}  # a PicGo server has no rate limit of its own
    secret_faults = ("500", "502", "html", "refuse", "drop", "reset")
    fake_command = ("imgsync.testing.fake_picgo", "--edition", "piclist", "--key", "T")
    api_words = ("PicGo server", "36677")
    server_error_words = SERVER_ERROR
    mode = "path"
    bad_options = (
        ({"mode": "ftp"}, "'mode' must be one of path, form"),
        ({"batch_size": 0}, "'batch_size' must be a whole number from 1 to 20"),
        ({"batch_size": 21}, "'batch_size' must be a whole number from 1 to 20"),
        ({"config_name": "blog"}, "'config_name' needs 'picbed'"),
        ({"picbed": "aws s3"}, "'picbed' must be PicList's id of a picbed"),
        ({"picbed": ""}, "'picbed' must be a non-empty string"),
        ({"url": "http://192.168.1.5:36677"}, "'url' uses http:// for a host that is not"),
        ({"url": "http://127.0.0.1:36677/upload?key=k"}, "'url' must not hold a query"),
        ({"key": ""}, "'key' is empty (is its variable set?)"),
    )

    def start_fake(self, variant: str) -> FakeServer[Any]:
        edition, _, mode = variant.partition("-")
        self.mode = mode or "path"
        return FakePicGo(edition=edition, key=KEY, max_size_kb=SIZE_LIMIT_KB)  # type: ignore[arg-type]

    def options(self, url: str, secret: str) -> dict[str, Any]:
        return {"url": url, "key": secret, "mode": self.mode}

    def provoke_refusal(self, fake: FakeServer[Any], host: Any, request: UploadRequest) -> None:
        fake.fail_next("refuse")  # the picbed failed: PicGo 2's and PicList's words

    def probe_cli_fake(self, url: str, client: httpx.Client) -> None:
        assert client.post(f"{url}/heartbeat").json() == {"success": True, "result": "alive"}
        refused = client.post(f"{url}/upload?key=wrong", json={"list": ["/x.png"]}).json()
        assert refused == {"success": False, "message": "server key is uncorrect"}


# ---- its own parts ------------------------------------------------------------------------


@pytest.fixture
def http(monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    settings = HttpSettings(connect_timeout=2.0, read_timeout=2.0, write_timeout=2.0)
    with make_http_client(settings) as client:
        yield client


@pytest.fixture
def picgo() -> Iterator[FakePicGo]:
    with FakePicGo(edition="picgo", key=KEY) as fake:
        yield fake


@pytest.fixture
def piclist() -> Iterator[FakePicGo]:
    configs = {"github": {"Default"}, "aws-s3": {"Default", "blog"}}
    with FakePicGo(edition="piclist", key=KEY, configs=configs) as fake:
        yield fake


def make(fake: FakePicGo, http: httpx.Client, **options: Any) -> PicGoHost:
    profile = HostProfile("p", "picgo", {"url": fake.url, "key": KEY, **options}, CONFIG)
    host = create_host(profile, http)
    assert isinstance(host, PicGoHost)
    return host


def png_request(folder: Path, n: int, name: str | None = None) -> UploadRequest:
    path = folder / f"image{n}.png"
    path.write_bytes(png_bytes(2, 2, (n, 9, 9)))
    return UploadRequest(path, name or path.name, "image/png", path.stat().st_size)


def served(http: httpx.Client, url: str) -> bytes:
    return http.get(url).content


def test_it_is_a_batch_staging_checkable_host_that_neither_lists_nor_deletes(
    picgo: FakePicGo, http: httpx.Client
) -> None:
    host = make(picgo, http)

    assert isinstance(host, BatchHost) and host.batch_size == 1
    assert isinstance(host, StagingHost) and isinstance(host, CheckableHost)
    assert supports(host) == frozenset()


def test_the_default_url_is_the_apps_default_and_the_identity_names_it(
    http: httpx.Client,
) -> None:
    host = create_host(HostProfile("p", "picgo", {}, CONFIG), http)

    assert host.identity == "picgo http://127.0.0.1:36677"
    assert repr(host) == "PicGoHost('http://127.0.0.1:36677', key=none)"


def test_a_path_upload_sends_a_staged_copy_named_as_sent_and_removes_it(
    picgo: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    staging = tmp_path / ".imgsync" / "staging"
    staging.mkdir(parents=True)
    host = make(picgo, http)
    host.stage_in(staging)
    request = png_request(tmp_path, 1, name="Cat Photo.png")

    result = host.upload(request)

    [got] = picgo.received
    assert got.how == "path" and got.names == ("Cat Photo.png",)
    sent = Path(got.paths[0])
    assert sent.is_absolute() and sent.parent.parent == staging  # never the project's own file
    assert got.data == (request.path.read_bytes(),)
    assert served(http, result.url) == request.path.read_bytes()
    assert list(staging.iterdir()) == []  # the copy and its folder are gone
    assert result.handle == {}


def test_a_stripped_image_is_sent_as_its_stripped_bytes(
    picgo: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes(exif_tiff(">")))
    plan = send_plan(photo, "image/jpeg", "location")
    assert plan.removed  # the file holds GPS
    request = UploadRequest(photo, "photo.jpg", "image/jpeg", plan.size, plan=plan)

    result = make(picgo, http).upload(request)

    [data] = picgo.received[0].data
    assert data is not None and rationals(">", LATITUDE) not in data
    with plan.open() as stream:
        assert data == stream.read() == served(http, result.url)
    assert photo.read_bytes() != data  # the file itself is untouched


def test_a_batch_is_one_request_and_each_url_is_its_files(
    picgo: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    host = make(picgo, http, batch_size=3)
    requests = [png_request(tmp_path, n) for n in range(3)]

    outcomes = host.upload_batch(requests)

    assert picgo.requests == 1
    for request, outcome in zip(requests, outcomes, strict=True):
        assert not isinstance(outcome, HostError)
        assert served(http, outcome.url) == request.path.read_bytes()


@pytest.mark.parametrize("mode", ["path", "form"])
def test_files_of_one_name_in_a_batch_keep_their_own_bytes(
    mode: str, piclist: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = (
        png_request(tmp_path / "a", 1, "logo.png"),
        png_request(tmp_path / "b", 2, "LOGO.png"),
    )
    host = make(piclist, http, batch_size=2, mode=mode)

    outcomes = host.upload_batch([one, two])

    assert piclist.received[0].names == ("logo.png", "LOGO-2.png")
    assert [served(http, o.url) for o in outcomes if not isinstance(o, HostError)] == [
        one.path.read_bytes(),
        two.path.read_bytes(),
    ]


def test_a_batch_missing_a_url_fails_as_a_whole_saying_why(
    picgo: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    picgo.fail_next("drop")  # the first file failed at the picbed, the others went up
    host = make(picgo, http, batch_size=3)

    with pytest.raises(HostError, match=r"gave 2 URL\(s\) for the 3 files sent") as caught:
        host.upload_batch([png_request(tmp_path, n) for n in range(3)])

    assert not caught.value.retryable and "batch_size = 1 avoids this" in str(caught.value)


def test_a_lone_file_that_failed_silently_is_an_error(
    picgo: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    picgo.fail_next("drop")  # PicGo-Core: success true, no URL

    with pytest.raises(HostError, match="reported success but gave no URL") as caught:
        make(picgo, http).upload(png_request(tmp_path, 0))

    assert not caught.value.retryable


def test_an_unreadable_file_of_a_batch_fails_alone(
    picgo: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    gone = UploadRequest(tmp_path / "gone.png", "gone.png", "image/png", 10)
    good = png_request(tmp_path, 1)

    first, second = make(picgo, http, batch_size=2).upload_batch([gone, good])

    assert isinstance(first, HostError) and "gone.png" in str(first)
    assert not isinstance(second, HostError) and served(http, second.url) == good.path.read_bytes()
    assert picgo.received[0].names == ("image1.png",)


def test_nothing_to_send_sends_nothing_for_an_empty_list_uploads_the_clipboard(
    picgo: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    gone = UploadRequest(tmp_path / "gone.png", "gone.png", "image/png", 10)

    assert make(picgo, http).upload_batch([]) == []
    [outcome] = make(picgo, http, batch_size=2).upload_batch([gone])

    assert isinstance(outcome, HostError) and picgo.requests == 0


def test_one_request_at_a_time_reaches_the_server(
    picgo: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    picgo.latency = 0.1
    host = make(picgo, http)
    requests = [png_request(tmp_path, n) for n in range(4)]
    threads = [threading.Thread(target=host.upload, args=(r,)) for r in requests]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert picgo.requests == 4 and picgo.most_at_once == 1


def test_piclist_gets_the_key_in_the_query_and_picgo_in_a_header(
    picgo: FakePicGo, piclist: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    make(picgo, http).upload(png_request(tmp_path, 0))
    make(piclist, http).upload(png_request(tmp_path, 1))

    assert picgo.received[0].authorized and piclist.received[0].authorized
    assert piclist.received[0].query == {"key": "[redacted]"}


def test_piclist_without_the_key_it_wants_is_an_auth_error(
    piclist: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    profile = HostProfile("p", "picgo", {"url": piclist.url}, CONFIG)

    with pytest.raises(AuthError, match="the server wants a key; set 'key'") as caught:
        create_host(profile, http).upload(png_request(tmp_path, 0))

    assert caught.value.host_message == "server key is uncorrect"


def test_a_picbed_of_piclist_is_chosen_per_request_and_is_part_of_the_identity(
    piclist: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    host = make(piclist, http, picbed="aws-s3", config_name="blog")

    result = host.upload(png_request(tmp_path, 0))

    assert host.identity == f"picgo {piclist.url}?picbed=aws-s3&configName=blog"
    assert piclist.picbed_of(result.url) == "aws-s3"
    assert piclist.received[0].query == {
        "key": "[redacted]",
        "picbed": "aws-s3",
        "configName": "blog",
    }
    assert make(piclist, http).identity != make(piclist, http, picbed="aws-s3").identity


def test_a_picbed_piclist_fell_back_from_is_an_error_about_the_host(
    piclist: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    host = make(piclist, http, picbed="aws-s3", config_name="no-such-config")

    with pytest.raises(WrongEndpoint, match="uploaded to the picbed 'github', not to 'picbed'"):
        host.upload(png_request(tmp_path, 0))


def test_a_picbed_sent_to_picgo_which_ignores_it_is_an_error_about_the_host(
    picgo: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    with pytest.raises(WrongEndpoint, match="'picbed' is set, but the server is not PicList"):
        make(picgo, http, picbed="aws-s3").upload(png_request(tmp_path, 0))


def test_piclists_failure_quotes_its_words(
    piclist: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    piclist.fail_next("refuse")

    with pytest.raises(HostError, match="its uploader") as caught:
        make(piclist, http).upload(png_request(tmp_path, 0))

    assert caught.value.host_message == PICLIST_FAILED


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://cdn.example.com/a.png", True),
        ("http://cdn.example.com/a.png", False),
        ("http://127.0.0.1:9/a.png", True),
    ],
)
def test_a_picbed_link_must_be_https_off_this_machine(
    url: str, allowed: bool, tmp_path: Path
) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": True, "result": [url]})

    with httpx.Client(transport=httpx.MockTransport(reply)) as client:
        host = create_host(HostProfile("p", "picgo", {}, CONFIG), client)
        if allowed:
            assert host.upload(png_request(tmp_path, 0)).url == url
        else:
            with pytest.raises(HostError, match="gave an http:// URL"):
                host.upload(png_request(tmp_path, 0))


def test_the_check_is_the_heartbeat_which_cannot_test_the_key(
    piclist: FakePicGo, http: httpx.Client
) -> None:
    access = make(piclist, http).check_access()

    assert not access.verified
    assert "answers (POST /heartbeat: alive)" in access.detail
    assert "key can't be tested" in access.detail
    assert piclist.received == []  # nothing uploaded


def test_no_server_says_to_start_picgo(picgo: FakePicGo, http: httpx.Client) -> None:
    host = make(picgo, http)
    picgo.stop()

    with pytest.raises(HostUnreachable, match=r"is PicGo or PicList running, with its server"):
        host.check_access()


def test_a_check_of_another_program_is_a_wrong_endpoint(http: httpx.Client) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<!DOCTYPE html><html>Welcome</html>")

    with httpx.Client(transport=httpx.MockTransport(page)) as client:
        host = PicGoHost(HostProfile("p", "picgo", {}, CONFIG), client)
        with pytest.raises(WrongEndpoint, match="not from the PicGo server API"):
            host.check_access()


def test_a_committed_cache_cant_slip_http_links_in_under_picgos_loopback_url(
    tmp_path: Path,
) -> None:
    from imgsync.cache import UploadCache
    from imgsync.errors import CacheError
    from tests.test_cache_input import MD5, SHA, write_cache

    identity = "picgo http://127.0.0.1:36677"  # a loopback API, as a Lsky on loopback has
    lsky = "lsky http://127.0.0.1:36677/api/v1"
    assert UploadCache.open(write_cache(tmp_path, lsky, "http://cdn.example.com/a.png"))

    planted = write_cache(tmp_path, identity, "http://cdn.example.com/i/a.png")
    with pytest.raises(CacheError, match="plain http://"):
        UploadCache.open(planted)
    assert UploadCache.open(planted, allow_http=True).lookup(identity, MD5, SHA) is not None


def test_copies_a_killed_run_left_are_removed_a_day_on(
    picgo: FakePicGo, http: httpx.Client, tmp_path: Path
) -> None:
    staging = tmp_path / "staging"
    old, young = staging / "picgo-old", staging / "picgo-young"
    for folder in (old, young):
        folder.mkdir(parents=True)
        (folder / "a.png").write_bytes(b"x")
    day_ago = time.time() - STALE_AFTER - 60
    os.utime(old, (day_ago, day_ago))
    (staging / "picgo-file").write_bytes(b"not a folder of ours")
    os.utime(staging / "picgo-file", (day_ago, day_ago))

    make(picgo, http).stage_in(staging)

    assert sorted(p.name for p in staging.iterdir()) == ["picgo-file", "picgo-young"]


def test_a_page_echoing_the_query_redacts_the_key_in_its_encoded_form(tmp_path: Path) -> None:
    key = "k3y&with/odd+chars"

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text=f"<pre>POST {request.url}</pre>")

    with httpx.Client(transport=httpx.MockTransport(echo)) as client:
        host = create_host(HostProfile("p", "picgo", {"key": key}, CONFIG), client)
        with pytest.raises(HostError) as caught:
            host.upload(png_request(tmp_path, 0))

    shown = str(caught.value)
    assert "/upload?key=***" in shown
    assert "k3y" not in shown and "odd" not in shown
