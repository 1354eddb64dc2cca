"""Each built-in host against its fake server, through the one contract (tests/host_contract.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.errors import HostError, RateLimited
from imgsync.hosts.base import Host, UploadRequest
from imgsync.hosts.chevereto import CheveretoHost
from imgsync.hosts.lsky import LskyHost
from imgsync.hosts.pichub import PicHubHost
from imgsync.testing.fake_chevereto import Edition, FakeChevereto
from imgsync.testing.fake_lsky import FakeLsky
from imgsync.testing.fake_pichub import FakePicHub
from imgsync.testing.http import FakeServer
from tests.host_contract import SIZE_LIMIT_KB, HostContract
from tests.host_life_contract import CAPABILITY_CONTRACTS, LifeContract, capabilities
from tests.images import png_bytes

LSKY_TOKEN = "2|contractLskyTokenXXXXXXXXXXXXXXXXXXXXXXXXX"
CHEVERETO_KEY = "chv_contractKeyXXXXXXXXXXXXXXXXXXXX"
PICHUB_TOKEN = "ph_contractTokenXXXXXXXXXXXXXXXXXXXXXXX"
CHEVERETO_API = "https://img.example.org/api/1"
PICHUB_API = "https://api.pichub.app/api/v1"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


class TestLskyContract(HostContract):
    host_class = LskyHost
    secret = LSKY_TOKEN
    wrong_secret = "2|" + "w" * 40
    secret_faults = ("429", "quota", "500", "502", "redirect", "html")
    api_words = ("not from the Lsky API", "/api/v1", "Welcome to Lsky Pro")
    server_error_words = "Server Error"
    fake_command = ("imgsync.testing.fake_lsky", "--token", "T")
    bad_options = (
        ({"url": "https://x/api/v1", "colour": "red"}, "unknown key 'colour'"),
        ({"url": "https://x/api/v1", "max_size": 100}, "unknown key 'max_size'"),
        ({}, "'url' is required"),
        ({"url": "  "}, "'url' is required"),
        ({"url": 5}, "'url' is required"),
        ({"url": "img.example.com/api/v1"}, "must start with http"),
        ({"url": "https://x", "token": 12345}, "'token' must be a string"),
        ({"url": "https://x", "token": ""}, "'token' is empty"),
        ({"url": "https://x", "token": "1|bad token\n"}, "'token' holds spaces"),
        ({"url": "https://x", "strategy_id": "one"}, "'strategy_id' must be a positive"),
        ({"url": "https://x", "strategy_id": True}, "'strategy_id' must be a positive"),
        ({"url": "https://x", "album_id": 0}, "'album_id' must be a positive"),
        ({"url": "https://x", "permission": 2}, "'permission' must be"),
        ({"url": "https://x", "expired_at": 5}, "'expired_at' must be"),
    )

    def start_fake(self, variant: str) -> FakeServer[Any]:
        return FakeLsky(token=LSKY_TOKEN, max_size_kb=SIZE_LIMIT_KB)

    def options(self, url: str, secret: str) -> dict[str, Any]:
        return {"url": url, "token": secret, "strategy_id": 1}

    def never_shown(self) -> list[str]:
        # The part after the bar is the secret itself: not even that may show.
        return [self.secret.partition("|")[2], self.wrong_secret.partition("|")[2]]

    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        assert isinstance(fake, FakeLsky)
        fake.strategies = set()  # the configured strategy no longer exists

    def unthrottle(self, fake: FakeServer[Any]) -> None:
        assert isinstance(fake, FakeLsky)
        fake.rate_limit = None

    def stored_handles(self, fake: FakeServer[Any]) -> list[dict[str, str]]:
        assert isinstance(fake, FakeLsky)
        return [{"key": key} for key in fake.stored()]

    def make_album(self, fake: FakeServer[Any], host: Host, name: str) -> str:
        assert isinstance(fake, FakeLsky)
        return str(fake.add_album(name))  # on Lsky's web page: its API can't

    def probe_cli_fake(self, url: str, client: httpx.Client) -> None:
        assert url.endswith("/api/v1")
        reply = client.post(f"{url}/upload", headers={"Authorization": "Bearer T"})
        assert reply.json()["status"] is False  # reached the server; no file sent


class TestCheveretoContract(HostContract):
    host_class = CheveretoHost
    secret = CHEVERETO_KEY
    wrong_secret = "chv_" + "w" * 30
    variants = ("v4", "free")
    secret_header = "X-API-Key"
    secret_faults = ("flood", "500", "502", "html", "reset", "hang")
    api_words = ("not from the Chevereto API", "/api/1")
    server_error_words = "Internal server error"
    fake_command = ("imgsync.testing.fake_chevereto", "--key", "K", "--edition", "free", "--quiet")
    rate_limit_fault = "flood"
    bad_options = (
        ({"url": CHEVERETO_API, "key": "k", "colour": "red"}, "unknown key 'colour'"),
        ({"url": CHEVERETO_API, "key": "k", "token": "t"}, "unknown key 'token'"),
        ({"key": "k"}, "'url' is required"),
        ({"url": " ", "key": "k"}, "'url' is required"),
        ({"url": "img.example.org/api/1", "key": "k"}, "must start with http"),
        ({"url": f"{CHEVERETO_API}?key=k", "key": "k"}, "must not hold a query"),
        ({"url": CHEVERETO_API}, "'key' is required"),
        ({"url": CHEVERETO_API, "key": "  "}, "'key' is required"),
        ({"url": CHEVERETO_API, "key": 5}, "'key' is required"),
        ({"url": CHEVERETO_API, "key": "a b"}, "'key' holds spaces"),
        ({"url": CHEVERETO_API, "key": "k", "expiration": "5 minutes"}, "ISO-8601 duration"),
        ({"url": CHEVERETO_API, "key": "k", "expiration": "P"}, "ISO-8601 duration"),
        ({"url": CHEVERETO_API, "key": "k", "expiration": "P1DT"}, "ISO-8601 duration"),
        ({"url": CHEVERETO_API, "key": "k", "expiration": 300}, "ISO-8601 duration"),
        ({"url": CHEVERETO_API, "key": "k", "nsfw": "maybe"}, "'nsfw' must be true or false"),
        ({"url": CHEVERETO_API, "key": "k", "nsfw": 2}, "'nsfw' must be true or false"),
        ({"url": CHEVERETO_API, "key": "k", "tags": ["a,b"]}, "can't hold commas"),
        ({"url": CHEVERETO_API, "key": "k", "tags": [1]}, "list of strings"),
        ({"url": CHEVERETO_API, "key": "k", "tags": " , "}, "'tags' is empty"),
        (
            {"url": CHEVERETO_API, "key": "k", "album_id": ""},
            "'album_id' must be a non-empty string",
        ),
        ({"url": CHEVERETO_API, "key": "k", "title": 3}, "'title' must be a non-empty string"),
        ({"url": CHEVERETO_API, "key": "k", "category_id": True}, "'category_id' must be"),
    )

    def start_fake(self, variant: str) -> FakeServer[Any]:
        edition: Edition = "free" if variant == "free" else "v4"
        return FakeChevereto(api_key=CHEVERETO_KEY, max_size_kb=SIZE_LIMIT_KB, edition=edition)

    def options(self, url: str, secret: str) -> dict[str, Any]:
        return {"url": url, "key": secret}

    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        host.upload(request)  # the same bytes again within 24 hours: a duplicate

    def more_secret_errors(
        self, fake: FakeServer[Any], host: Host, wrong: Host, folder: Path
    ) -> list[HostError]:
        assert isinstance(fake, FakeChevereto)
        fake.max_size_kb = 0.01
        return [self.upload_error(host, self.image_at(folder, 50))]

    def probe_cli_fake(self, url: str, client: httpx.Client) -> None:
        assert url.endswith("/api/1")
        files = {"source": ("a.png", png_bytes(), "image/png")}
        header_only = client.post(f"{url}/upload", headers={"X-API-Key": "K"}, files=files)
        assert header_only.json()["error"]["code"] == 100  # Free ignores the header
        reply = client.post(f"{url}/upload", data={"key": "K"}, files=files)
        assert json.loads(reply.text)["image"]["url"].startswith(url.removesuffix("/api/1"))


class TestPicHubContract(HostContract):
    host_class = PicHubHost
    secret = PICHUB_TOKEN
    wrong_secret = "ph_" + "w" * 36
    variants = ("object+error_object", "list+flat")
    secret_faults = ("500", "502", "html", "reset", "hang", "429")
    api_words = ("not from the PicHub API", "/api/v1")
    server_error_words = "Internal server error"
    fake_command = ("imgsync.testing.fake_pichub", "--token", "T", "--quiet")
    unreadable_error = HostError
    bad_options = (
        ({"token": "t", "key": "k"}, "unknown key 'key'"),
        ({"token": "t", "convertToWebP": False}, "unknown key 'convertToWebP'"),
        ({}, "'token' is required"),
        ({"token": "  "}, "'token' is required"),
        ({"token": 5}, "'token' is required"),
        ({"token": "a b"}, "'token' holds spaces"),
        ({"token": "t", "url": "api.pichub.app/api/v1"}, "starting with http:// or https://"),
        ({"token": "t", "url": f"{PICHUB_API}?token=t"}, "must not hold a query"),
        ({"token": "t", "batch_size": 0}, "from 1 to 20"),
        ({"token": "t", "batch_size": 21}, "from 1 to 20"),
        ({"token": "t", "batch_size": True}, "from 1 to 20"),
        ({"token": "t", "quality": 0}, "'quality' must be a whole number from 1 to 100"),
        ({"token": "t", "quality": "high"}, "from 1 to 100"),
        ({"token": "t", "format": "gif"}, "'format' must be one of auto, jpeg, png, webp"),
        ({"token": "t", "convert_to_webp": "maybe"}, "set convert_to_webp = false"),
        ({"token": "t", "is_public": 2}, "PicHub's default, 1, is public"),
        ({"token": "t", "remove_exif": [True]}, "'remove_exif' must be true or false"),
        ({"token": "t", "album_id": 0}, "'album_id' must be a positive number"),
        ({"token": "t", "album_id": " "}, "'album_id' must be a positive number"),
    )

    def start_fake(self, variant: str) -> FakeServer[Any]:
        style = variant or "object+error_object"
        return FakePicHub(
            token=PICHUB_TOKEN, max_size_mb=SIZE_LIMIT_KB / 1024, response_style=style
        )

    def options(self, url: str, secret: str) -> dict[str, Any]:
        return {"url": url, "token": secret}

    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        assert isinstance(fake, FakePicHub)
        fake.storage_full = True

    page_size = 100  # the client asks for 100 a page, the most the fake gives (MAX_PER_PAGE)

    def unthrottle(self, fake: FakeServer[Any]) -> None:
        assert isinstance(fake, FakePicHub)
        fake.upload_limit = None
        fake.request_limits = (10**6, 10**6, 10**6)

    def stored_handles(self, fake: FakeServer[Any]) -> list[dict[str, str]]:
        assert isinstance(fake, FakePicHub)
        return [{"id": ident} for ident in fake.image_ids]

    def more_secret_errors(
        self, fake: FakeServer[Any], host: Host, wrong: Host, folder: Path
    ) -> list[HostError]:
        paced = self.upload_error(host, self.image_at(folder, 60))  # after the 429: not sent
        assert isinstance(paced, RateLimited) and paced.status is None
        svg = self.image_at(folder, 61)
        with pytest.raises(HostError) as refused:
            host.upload(UploadRequest(svg, svg.name, "image/svg+xml", svg.stat().st_size))
        drawing = folder / "drawing.png"
        drawing.write_bytes(SVG)  # the caller believes it a PNG; PicHub sniffs SVG
        return [paced, refused.value, self.upload_error(wrong, drawing)]

    def probe_cli_fake(self, url: str, client: httpx.Client) -> None:
        assert url.endswith("/api/v1")
        files = {"files[]": ("a.png", png_bytes(), "image/png")}
        refused = client.post(f"{url}/upload", headers={"Authorization": "Bearer X"}, files=files)
        assert refused.status_code == 401
        reply = client.post(f"{url}/upload", headers={"Authorization": "Bearer T"}, files=files)
        assert json.loads(reply.text)["data"]["url"].endswith(".webp")


# What each host does beyond uploading, tested for every host whose `supports()` says it
# can (tests/host_life_contract.py): a class per host and capability, made here.
HOST_CONTRACTS = (TestCheveretoContract, TestLskyContract, TestPicHubContract)
for _contract in HOST_CONTRACTS:
    for _capability in sorted(capabilities(_contract)):
        if _capability in CAPABILITY_CONTRACTS:
            _base = CAPABILITY_CONTRACTS[_capability]
            _name = f"{_contract.__name__.removesuffix('Contract')}{_base.__name__}"
            globals()[_name] = type(_name, (_base,), {"host_contract": _contract})


def test_every_built_in_host_has_a_contract_class() -> None:
    from imgsync.hosts import BUILTIN_HOSTS

    # Hosts without an API have their contract class in their own file (imported here, not
    # at the top, so that this module does not collect their tests again).
    from tests.test_command_host import TestCommandContract
    from tests.test_folder_host import TestFolderContract

    contracts = (*HOST_CONTRACTS, TestCommandContract, TestFolderContract)
    assert sorted(c.host_class.type_name for c in contracts) == sorted(BUILTIN_HOSTS)


def test_lsky_is_held_to_listing_deleting_and_albums() -> None:
    made = {
        name
        for name, value in globals().items()
        if isinstance(value, type)
        and issubclass(value, LifeContract)
        and name.startswith("TestLsky")
    }

    assert made == {"TestLskyListingContract", "TestLskyDeletingContract", "TestLskyAlbumContract"}
