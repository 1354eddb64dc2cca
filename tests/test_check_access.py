"""Each host's read-only check (`check_access`, what `imgsync doctor` calls) against its fake,
which answers the real server's read call the way the real server does."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from imgsync.errors import AuthError, HostError, HostUnreachable
from imgsync.hosts.base import CheckableHost, HostProfile
from imgsync.hosts.chevereto import CheveretoHost
from imgsync.hosts.lsky import LskyHost
from imgsync.hosts.pichub import PicHubHost
from imgsync.testing.fake_chevereto import FakeChevereto
from imgsync.testing.fake_lsky import FakeLsky
from imgsync.testing.fake_pichub import FakePicHub

CONFIG = Path("imgsync.toml")


def lsky(url: str, http: httpx.Client, token: str | None) -> LskyHost:
    options = {"url": url} | ({"token": token} if token else {})
    return LskyHost(HostProfile("blog", "lsky", options, CONFIG), http)


def test_every_built_in_host_offers_the_check(
    fake_lsky: FakeLsky, http_client: httpx.Client
) -> None:
    host = lsky(fake_lsky.url, http_client, fake_lsky.token)
    assert isinstance(host, CheckableHost)
    # CheckableHost has properties, so issubclass() can't judge the classes; the method can.
    assert callable(CheveretoHost.check_access) and callable(PicHubHost.check_access)


def test_lsky_accepts_a_good_token_through_its_profile(
    fake_lsky: FakeLsky, http_client: httpx.Client
) -> None:
    access = lsky(fake_lsky.url, http_client, fake_lsky.token).check_access()

    assert access.verified
    assert "account 'writer', 0 images" in access.detail
    assert fake_lsky.uploads == []


def test_lsky_rejects_a_bad_token_as_the_real_server_does(
    fake_lsky: FakeLsky, http_client: httpx.Client
) -> None:
    with pytest.raises(AuthError) as caught:
        lsky(fake_lsky.url, http_client, "1|" + "x" * 40).check_access()

    assert caught.value.status == 401
    assert caught.value.host_message == "Unauthenticated."


def test_a_lsky_guest_profile_is_told_but_not_failed(
    fake_lsky: FakeLsky, http_client: httpx.Client
) -> None:
    access = lsky(fake_lsky.url, http_client, None).check_access()

    assert not access.verified
    assert "guest" in access.detail


def test_a_wrong_lsky_url_is_a_404_that_says_so(
    fake_lsky: FakeLsky, http_client: httpx.Client
) -> None:
    with pytest.raises(HostError) as caught:
        lsky(f"{fake_lsky.site}/wrong/api/v1", http_client, fake_lsky.token).check_access()

    assert caught.value.status == 404
    assert "'url' is probably wrong" in str(caught.value)


def test_a_host_that_is_down_is_unreachable(fake_lsky: FakeLsky, http_client: httpx.Client) -> None:
    url = fake_lsky.url
    fake_lsky.stop()
    with pytest.raises(HostUnreachable, match="refused"):
        lsky(url, http_client, "1|" + "x" * 40).check_access()


def test_pichub_reads_one_page_of_images_with_the_token(
    fake_pichub: FakePicHub, http_client: httpx.Client
) -> None:
    good = {"url": fake_pichub.url, "token": fake_pichub.token}
    host = PicHubHost(HostProfile("pic", "pichub", good, CONFIG), http_client)
    assert host.check_access().verified

    bad = good | {"token": "ph_wrong"}
    with pytest.raises(AuthError):
        PicHubHost(HostProfile("pic", "pichub", bad, CONFIG), http_client).check_access()


def test_chevereto_proves_its_api_answers_but_says_the_key_is_unchecked(
    fake_chevereto: FakeChevereto, http_client: httpx.Client
) -> None:
    options = {"url": fake_chevereto.url, "key": fake_chevereto.api_key}
    host = CheveretoHost(HostProfile("chev", "chevereto", options, CONFIG), http_client)

    access = host.check_access()

    assert not access.verified
    assert "no call that checks a key without uploading" in access.detail
    # The one request carried no key (a GET has no form; the key never goes in a URL).
    (seen,) = fake_chevereto.uploads
    assert seen.error == 100 and seen.size == 0 and "key" not in seen.query
    assert "x-api-key" not in seen.headers


def test_a_wrong_chevereto_url_is_not_the_api(
    fake_chevereto: FakeChevereto, http_client: httpx.Client
) -> None:
    options = {"url": f"{fake_chevereto.site}/nothing/api/1", "key": fake_chevereto.api_key}
    host = CheveretoHost(HostProfile("chev", "chevereto", options, CONFIG), http_client)

    with pytest.raises(HostError) as caught:
        host.check_access()

    assert caught.value.status == 404
