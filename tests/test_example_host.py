"""The example host of docs/adding-a-host.md passes the whole host contract: the page is true."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from imgsync.errors import AuthError
from imgsync.hosts import BUILTIN_HOSTS
from imgsync.hosts.base import Host, HostProfile, UploadRequest
from imgsync.testing.http import FakeServer
from tests.example_host.fake_snapbin import FakeSnapbin
from tests.example_host.snapbin import SnapbinHost
from tests.host_contract import SIZE_LIMIT_KB, HostContract

TOKEN = "sb_contractTokenXXXXXXXXXXXXXXXXXXXXX"
API = "https://snapbin.example/api/v1"


class TestSnapbinContract(HostContract):
    host_class = SnapbinHost
    secret = TOKEN
    wrong_secret = "sb_" + "w" * 34
    secret_faults = ("429", "500", "502", "html", "reset", "hang")
    api_words = ("not from the Snapbin API", "/api/v1")
    server_error_words = "Internal error"
    fake_command = ("tests.example_host.fake_snapbin", "--token", "T", "--quiet")
    bad_options = (
        ({"url": API, "token": "t", "album": 3}, "unknown key 'album'"),
        ({"token": "t"}, "'url' is required"),
        ({"url": f"{API}?token=t", "token": "t"}, "must not hold a query"),
        ({"url": API}, "'token' is required"),
        ({"url": API, "token": "t", "expires_days": 0}, "from 1 to 365"),
        ({"url": API, "token": "t", "expires_days": "366"}, "from 1 to 365"),
        ({"url": API, "token": "t", "public": "maybe"}, "'public' must be true or false"),
    )

    def start_fake(self, variant: str) -> FakeServer[Any]:
        return FakeSnapbin(token=TOKEN, max_size_kb=SIZE_LIMIT_KB)

    def options(self, url: str, secret: str) -> dict[str, Any]:
        return {"url": url, "token": secret}

    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        assert isinstance(fake, FakeSnapbin)
        fake.storage_full = True

    def probe_cli_fake(self, url: str, client: httpx.Client) -> None:
        assert url.endswith("/api/v1")
        reply = client.post(f"{url}/upload", headers={"Authorization": "Bearer T"})
        assert reply.status_code == 400 and reply.json()["ok"] is False  # reached; no file


def test_the_example_is_not_a_built_in_host() -> None:
    assert SnapbinHost.type_name not in BUILTIN_HOSTS


def test_the_walkthrough_check_reads_without_uploading(http_client: httpx.Client) -> None:
    with FakeSnapbin(token=TOKEN) as fake:
        good = SnapbinHost(
            HostProfile("s", "snapbin", {"url": fake.url, "token": TOKEN}), http_client
        )
        assert good.check_access().verified
        bad = SnapbinHost(HostProfile("s", "snapbin", {"url": fake.url, "token": "x"}), http_client)
        with pytest.raises(AuthError):
            bad.check_access()
        assert fake.images == {}
