"""Each built-in host against its fake server, through the one contract (tests/host_contract.py)."""

from __future__ import annotations

from typing import Any

import httpx

from imgsync.errors import HostError
from imgsync.hosts.base import Host, HostProfile, UploadRequest
from imgsync.hosts.chevereto import CheveretoHost
from imgsync.hosts.lsky import LskyHost
from imgsync.hosts.pichub import PicHubHost
from imgsync.testing.fake_chevereto import FakeChevereto
from imgsync.testing.fake_lsky import FakeLsky
from imgsync.testing.fake_pichub import FakePicHub
from imgsync.testing.http import FakeServer
from tests.host_contract import SIZE_LIMIT_KB, HostContract

LSKY_TOKEN = "2|contractLskyTokenXXXXXXXXXXXXXXXXXXXXXXXXX"
CHEVERETO_KEY = "chv_contractKeyXXXXXXXXXXXXXXXXXXXX"
PICHUB_TOKEN = "ph_contractTokenXXXXXXXXXXXXXXXXXXXXXXX"


class TestLskyContract(HostContract):
    secret = LSKY_TOKEN

    def start_fake(self) -> FakeServer[Any]:
        return FakeLsky(token=LSKY_TOKEN, max_size_kb=SIZE_LIMIT_KB)

    def make_host(self, fake: FakeServer[Any], http: httpx.Client, *, wrong: bool = False) -> Host:
        token = "2|" + "w" * 40 if wrong else LSKY_TOKEN
        options = {"url": fake.url, "token": token, "strategy_id": 1}
        return LskyHost(HostProfile("t", "lsky", options), http)

    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        assert isinstance(fake, FakeLsky)
        fake.strategies = set()  # the configured strategy no longer exists


class TestCheveretoContract(HostContract):
    secret = CHEVERETO_KEY
    rate_limit_fault = "flood"

    def start_fake(self) -> FakeServer[Any]:
        return FakeChevereto(api_key=CHEVERETO_KEY, max_size_kb=SIZE_LIMIT_KB)

    def make_host(self, fake: FakeServer[Any], http: httpx.Client, *, wrong: bool = False) -> Host:
        key = "chv_" + "w" * 30 if wrong else CHEVERETO_KEY
        return CheveretoHost(HostProfile("t", "chevereto", {"url": fake.url, "key": key}), http)

    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        host.upload(request)  # the same bytes again within 24 hours: a duplicate


class TestPicHubContract(HostContract):
    secret = PICHUB_TOKEN
    unreadable_error = HostError

    def start_fake(self) -> FakeServer[Any]:
        return FakePicHub(token=PICHUB_TOKEN, max_size_mb=SIZE_LIMIT_KB / 1024)

    def make_host(self, fake: FakeServer[Any], http: httpx.Client, *, wrong: bool = False) -> Host:
        token = "ph_" + "w" * 36 if wrong else PICHUB_TOKEN
        return PicHubHost(HostProfile("t", "pichub", {"url": fake.url, "token": token}), http)

    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        assert isinstance(fake, FakePicHub)
        fake.storage_full = True
