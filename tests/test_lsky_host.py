"""LskyHost against the fake Lsky server: uploads, refusals, rate limits, failures, config."""

from __future__ import annotations

import hashlib
import os
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
from imgsync.hosts.base import HostProfile, HttpSettings, UploadRequest
from imgsync.hosts.lsky import LskyHost
from imgsync.testing.fake_lsky import DEFAULT_TOKEN, FakeLsky, parse_multipart

CONFIG = Path("imgsync.toml")
MakePng = Callable[..., Path]


def lsky_host(fake: FakeLsky, http: httpx.Client, **options: Any) -> LskyHost:
    """A host for `fake` with its valid token; an option set to None is left out."""
    merged = {"url": fake.url, "token": fake.token} | options
    kept = {key: value for key, value in merged.items() if value is not None}
    return LskyHost(HostProfile("blog", "lsky", kept, CONFIG), http)


def request_for(path: Path, filename: str | None = None) -> UploadRequest:
    size = path.stat().st_size
    return UploadRequest(path, filename or path.name, "image/png", size)


def upload_error(host: LskyHost, path: Path, filename: str | None = None) -> HostError:
    with pytest.raises(HostError) as caught:
        host.upload(request_for(path, filename))
    return caught.value


# Success


def test_upload_returns_the_url_and_keeps_the_key(
    fake_lsky: FakeLsky, http_client: httpx.Client, make_png: MakePng
) -> None:
    path = make_png("photo.png")
    result = lsky_host(fake_lsky, http_client).upload(request_for(path))

    [received] = fake_lsky.uploads
    assert result.url.startswith(f"{fake_lsky.site}/i/") and result.url.endswith(".png")
    assert result.handle == {"key": received.key}
    assert received.key and not received.key.isdigit() and len(received.key) >= 6
    assert received.filename == "photo.png"  # sent as the multipart field `file`
    assert received.md5 == hashlib.md5(path.read_bytes()).hexdigest()
    assert received.fields == {}  # nothing optional unless configured
    assert received.headers["accept"] == "application/json"
    assert received.headers["authorization"] == "[redacted]"
    assert "origin" not in received.headers and "referer" not in received.headers
    assert http_client.get(result.url).content == path.read_bytes()


def test_same_bytes_twice_give_a_new_key_and_the_same_url(
    fake_lsky: FakeLsky, http_client: httpx.Client, make_png: MakePng
) -> None:
    host = lsky_host(fake_lsky, http_client)
    first = host.upload(request_for(make_png("a.png")))
    second = host.upload(request_for(make_png("b.png")))
    assert first.url == second.url
    assert first.handle["key"] != second.handle["key"]


def test_guest_upload_sends_no_authorization(
    fake_lsky: FakeLsky, http_client: httpx.Client, make_png: MakePng
) -> None:
    lsky_host(fake_lsky, http_client, token=None).upload(request_for(make_png()))
    assert "authorization" not in fake_lsky.uploads[0].headers


@pytest.mark.parametrize(
    ("options", "fields"),
    [
        ({"strategy_id": 1}, {"strategy_id": "1"}),
        ({"strategy_id": "1"}, {"strategy_id": "1"}),
        ({"permission": "private", "album_id": 3}, {"permission": "0", "album_id": "3"}),
        (
            {"permission": 1, "expired_at": "2030-01-01 00:00:00"},
            {"permission": "1", "expired_at": "2030-01-01 00:00:00"},
        ),
    ],
)
def test_optional_fields_are_sent_only_when_configured(
    fake_lsky: FakeLsky,
    http_client: httpx.Client,
    make_png: MakePng,
    options: dict[str, Any],
    fields: dict[str, str],
) -> None:
    lsky_host(fake_lsky, http_client, **options).upload(request_for(make_png()))
    assert fake_lsky.uploads[0].fields == fields


def test_binary_content_and_large_files_arrive_intact(
    fake_lsky: FakeLsky, http_client: httpx.Client, tmp_path: Path
) -> None:
    # Bytes that look like multipart syntax must not confuse either side.
    data = os.urandom(300_000) + b"\r\n--boundary\r\n\r\n--" + os.urandom(1000)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    lsky_host(fake_lsky, http_client).upload(request_for(path))
    assert fake_lsky.uploads[0].md5 == hashlib.md5(data).hexdigest()
    assert fake_lsky.uploads[0].size == len(data)


# Refusals and rate limits


def test_a_bad_token_is_an_auth_error_not_a_guest_upload(
    fake_lsky: FakeLsky, http_client: httpx.Client, make_png: MakePng
) -> None:
    err = upload_error(lsky_host(fake_lsky, http_client, token="1|" + "x" * 40), make_png())
    assert isinstance(err, AuthError)
    assert err.status == 401
    assert err.host_message == "Unauthenticated."
    assert "token" in err.message
    assert [u.key for u in fake_lsky.uploads] == [None]


def test_a_redirect_to_login_becomes_auth_advice(
    fake_lsky: FakeLsky, http_client: httpx.Client, make_png: MakePng
) -> None:
    fake_lsky.fail_next("redirect")
    err = upload_error(lsky_host(fake_lsky, http_client), make_png())
    assert isinstance(err, AuthError)
    assert err.status == 302
    assert "/login" in err.message and "logged out" in err.message


@pytest.mark.parametrize(
    ("setup", "filename", "host_says", "advice"),
    [
        ({}, "notes.exe", "不支持的文件类型", "file type"),
        ({"max_size_kb": 0.01}, None, "图片大小超出限制", "larger than the host allows"),
        ({"strategy_id": 7}, None, "选定的策略不存在", "strategy_id 7"),
        ({"capacity_kb": 0.01}, None, "储存空间不足", "storage space"),
        ({"guest_uploads": False, "token": None}, None, "管理员关闭了游客上传", "guest"),
    ],
)
def test_refusals_in_http_200_carry_the_host_words_and_advice(
    fake_lsky: FakeLsky,
    http_client: httpx.Client,
    make_png: MakePng,
    setup: dict[str, Any],
    filename: str | None,
    host_says: str,
    advice: str,
) -> None:
    options = {k: setup.pop(k) for k in ("strategy_id", "token") if k in setup}
    for name, value in setup.items():
        setattr(fake_lsky, name, value)
    err = upload_error(lsky_host(fake_lsky, http_client, **options), make_png(), filename)
    assert type(err) is HostError and not err.retryable
    assert err.status == 200
    assert err.host_message == host_says
    assert advice in err.message
    assert host_says in str(err)


@pytest.mark.parametrize(
    ("unit", "seconds"),
    [("分钟", 60), ("小时", 3600), ("天", 86400), ("周", 7 * 86400), ("月", 30 * 86400)],
)
def test_the_quota_message_is_a_rate_limit(
    fake_lsky: FakeLsky, http_client: httpx.Client, make_png: MakePng, unit: str, seconds: int
) -> None:
    fake_lsky.quota_unit = unit
    fake_lsky.fail_next("quota")
    err = upload_error(lsky_host(fake_lsky, http_client), make_png())
    assert isinstance(err, RateLimited)
    assert err.retry_after == seconds
    assert err.host_message == f"每{unit}内你最多可以上传 20 张图片"


def test_429_without_retry_after_leaves_the_wait_to_the_caller(
    fake_lsky: FakeLsky, http_client: httpx.Client, make_png: MakePng
) -> None:
    fake_lsky.fail_next("429")
    host = lsky_host(fake_lsky, http_client)
    err = upload_error(host, make_png())
    assert isinstance(err, RateLimited)
    assert (err.retry_after, err.status) == (None, 429)
    assert host.upload(request_for(make_png())).url  # only the next one failed


def test_the_fakes_own_throttle_gives_429_after_the_limit(
    http_client: httpx.Client, make_png: MakePng
) -> None:
    with FakeLsky(rate_limit=2) as fake:
        host = lsky_host(fake, http_client)
        host.upload(request_for(make_png()))
        host.upload(request_for(make_png()))
        err = upload_error(host, make_png())
    assert isinstance(err, RateLimited) and err.retry_after is None


# Server failures and wrong replies


def test_a_long_page_is_quoted_short(http_settings: HttpSettings, make_png: MakePng) -> None:
    page = "<html>" + "word " * 500 + "</html>"
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text=page))
    with httpx.Client(transport=transport) as client:
        host = LskyHost(HostProfile("b", "lsky", {"url": "https://img.example.com/api/v1"}), client)
        err = upload_error(host, make_png())
    quoted = err.message.partition("It began: ")[2]
    assert quoted.startswith("'<html>word word") and quoted.endswith("…'")
    assert len(quoted) < 210


def test_a_wrong_url_is_a_404_with_advice(
    fake_lsky: FakeLsky, http_client: httpx.Client, make_png: MakePng
) -> None:
    host = lsky_host(fake_lsky, http_client, url=f"{fake_lsky.site}/api/v2")
    err = upload_error(host, make_png())
    assert type(err) is WrongEndpoint and err.status == 404 and err.about_host
    assert "'url' is probably wrong" in err.message


def test_a_disabled_api_is_refused_access(
    fake_lsky: FakeLsky, http_client: httpx.Client, make_png: MakePng
) -> None:
    fake_lsky.api_enabled = False
    err = upload_error(lsky_host(fake_lsky, http_client), make_png())
    assert isinstance(err, AuthError) and err.status == 403
    assert err.host_message == "管理员未启用 API"
    assert "disabled the API" in err.message


# Configuration


def test_identity_and_size_limit(http_client: httpx.Client) -> None:
    profile = HostProfile("blog", "lsky", {"url": "https://img.example.com/api/v1/"})
    host = create_host(profile, http_client)
    assert isinstance(host, LskyHost)
    assert host.identity == "lsky https://img.example.com/api/v1"
    assert host.max_size is None


# The fake itself behaves like the real server


def test_the_fake_redirects_or_404s_clients_that_dont_ask_for_json(
    fake_lsky: FakeLsky, http_client: httpx.Client
) -> None:
    bad = {"Authorization": "Bearer 1|nope", "Accept": "text/html"}
    files = {"file": ("a.png", b"x", "image/png")}
    page = http_client.post(f"{fake_lsky.url}/upload", headers=bad, files=files)
    assert page.status_code == 302
    assert page.headers["Location"] == f"{fake_lsky.site}/login"
    assert page.headers["Content-Type"].startswith("text/html")
    api = http_client.post(f"{fake_lsky.url}/upload", headers=bad | {"Accept": "application/json"})
    assert (api.status_code, api.json()) == (401, {"message": "Unauthenticated."})
    assert "Retry-After" not in api.headers and api.headers["X-RateLimit-Limit"] == "60"
    fake_lsky.api_enabled = False
    gone = http_client.get(f"{fake_lsky.url}/images", headers={"Accept": "text/html"})
    assert gone.status_code == 404 and gone.text.startswith("<!DOCTYPE html>")


def test_the_fake_lists_40_a_page_and_always_deletes(
    fake_lsky: FakeLsky, http_client: httpx.Client, make_png: MakePng
) -> None:
    host = lsky_host(fake_lsky, http_client)
    keys = [host.upload(request_for(make_png(rgb=(n, 0, 0)))).handle["key"] for n in range(41)]
    auth = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Accept": "application/json"}
    page2 = http_client.get(f"{fake_lsky.url}/images", params={"page": 2}, headers=auth).json()
    assert page2["data"]["total"] == 41 and page2["data"]["last_page"] == 2
    assert [item["key"] for item in page2["data"]["data"]] == [keys[0]]  # newest first
    for key in (keys[0], "unknown"):
        reply = http_client.delete(f"{fake_lsky.url}/images/{key}", headers=auth).json()
        assert reply["status"] is True
    listing = http_client.get(f"{fake_lsky.url}/images", headers=auth).json()["data"]
    assert listing["total"] == 40


def test_parse_multipart_reads_quoted_names() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a \\"b\\".png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\r\n--XyZ\r\n"
        b'Content-Disposition: form-data; name="strategy_id"\r\n\r\n2\r\n--XyZ--\r\n'
    )
    parts = parse_multipart('multipart/form-data; boundary="XyZ"', body)
    assert parts["file"] == ('a "b".png', b"\x89PNG\r\n", "image/png")
    assert parts["strategy_id"] == (None, b"2", "text/plain")
    with pytest.raises(ValueError):
        parse_multipart("multipart/form-data; boundary=XyZ", body[:-9])
