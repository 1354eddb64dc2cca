"""hosts/download.py against real servers on 127.0.0.1: caps, deadlines, redirects by hand,
credentials kept to their origin, and the address rule (which the tests lift to reach them)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from imgsync.errors import DownloadError
from imgsync.hosts.download import address_refused, download_image, fetch
from imgsync.testing.attacker import Answer, Attacker, drip, endless, head
from tests.images import png_bytes

PNG = png_bytes(4, 4)


def reply(
    status: int, body: bytes = b"", content_type: str = "image/png", **headers: str
) -> Answer:
    def answer(request: bytes, stop: threading.Event) -> Iterator[bytes]:
        top = head(status, len(body), **headers).replace(b"application/json", content_type.encode())
        yield top + body

    return answer


def to_loopback(host: str, port: int) -> list[str]:
    """A resolver that sends every name to 127.0.0.1, as a rebinding name server would."""
    return ["127.0.0.1"]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0, follow_redirects=False) as client:
        yield client


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "192.168.0.1", "::ffff:10.0.0.1"]
)
def test_the_address_rule_refuses_internal_addresses_before_connecting(address: str) -> None:
    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a connection was attempted to {request.url}")

    with (
        httpx.Client(transport=httpx.MockTransport(no_network)) as client,
        pytest.raises(DownloadError, match="never downloads from loopback") as caught,
    ):
        fetch(
            client,
            "https://images.example.com/a.png",
            limit=1000,
            deadline=5,
            resolve=lambda host, port: [address],
        )
    assert caught.value.refused_address
    assert address_refused(address)


def test_a_literal_loopback_url_is_refused_and_the_server_hears_nothing(
    http: httpx.Client,
) -> None:
    with Attacker(reply(200, PNG)) as server:
        with pytest.raises(DownloadError, match=r"127\.0\.0\.1"):
            fetch(http, f"{server.origin}/a.png", limit=1000, deadline=5)
        time.sleep(0.1)
        assert server.requests == 0 and server.received == b""


def test_a_name_with_one_internal_address_among_public_ones_is_refused(http: httpx.Client) -> None:
    with pytest.raises(DownloadError, match=r"10\.0\.0\.5"):
        fetch(
            http,
            "https://cdn.example.com/a.png",
            limit=1000,
            deadline=5,
            resolve=lambda host, port: ["93.184.216.34", "10.0.0.5"],
        )


def test_public_addresses_pass_the_rule() -> None:
    assert not address_refused("93.184.216.34")
    assert not address_refused("2606:2800:220:1:248:1893:25c8:1946")


def test_the_connection_goes_to_the_checked_address_with_the_name_in_host(
    http: httpx.Client,
) -> None:
    # "images.invalid" resolves nowhere for real: success shows the checked address was used.
    with Attacker(reply(200, PNG)) as server:
        port = server.origin.rpartition(":")[2]
        url = f"http://images.invalid:{port}/a.png"
        body, mime = download_image(
            http, url, limit=10_000, deadline=5, allow_private=True, resolve=to_loopback
        )
        assert (body, mime) == (PNG, "image/png")
        fetched = fetch(
            http, url, limit=10_000, deadline=5, allow_private=True, resolve=to_loopback
        )
        assert fetched.status == 200
        assert f"host: images.invalid:{port}".encode() in server.received.lower()


def test_the_size_cap_stops_reading(http: httpx.Client) -> None:
    with Attacker(endless()) as server:
        start = time.monotonic()
        with pytest.raises(DownloadError, match="larger than the cap"):
            fetch(http, f"{server.origin}/a", limit=1024 * 1024, deadline=30, allow_private=True)
        assert time.monotonic() - start < 10


def test_an_announced_size_over_the_cap_is_refused_before_reading(http: httpx.Client) -> None:
    with (
        Attacker(reply(200, b"x" * 5000)) as server,
        pytest.raises(DownloadError, match="above the cap"),
    ):
        fetch(http, f"{server.origin}/a", limit=1000, deadline=5, allow_private=True)


def test_a_head_only_fetch_asks_a_range_and_keeps_the_first_bytes(http: httpx.Client) -> None:
    with Attacker(reply(200, PNG + b"\0" * 20_000)) as server:
        fetched = fetch(
            http, f"{server.origin}/a", limit=10, deadline=5, head=100, allow_private=True
        )
        assert fetched.body == (PNG + b"\0" * 100)[:100]
        assert b"range: bytes=0-99" in server.received.lower()


def test_the_deadline_bounds_a_drip(http: httpx.Client) -> None:
    with Attacker(drip(0.2)) as server:
        start = time.monotonic()
        with pytest.raises(DownloadError, match=r"deadline|within"):
            fetch(http, f"{server.origin}/a", limit=10**7, deadline=1.5, allow_private=True)
        assert time.monotonic() - start < 5


def test_redirects_are_limited(http: httpx.Client) -> None:
    with Attacker(reply(302, b"", Location="/again")) as server:
        fetched = fetch(
            http, f"{server.origin}/a", limit=100, deadline=5, allow_private=True, max_redirects=3
        )
        assert len(fetched.redirects) == 3 and fetched.location.endswith("/again")
        assert server.requests == 4


def test_credentials_never_follow_a_redirect_to_another_origin(http: httpx.Client) -> None:
    http.cookies.set("session", "jar-cookie")
    with (
        Attacker(reply(200, PNG)) as other,
        Attacker(reply(302, b"", Location=f"{other.origin}/b.png")) as first,
    ):
        fetched = fetch(
            http,
            f"{first.origin}/a.png",
            limit=10_000,
            deadline=5,
            allow_private=True,
            headers={"Authorization": "Bearer s3cret", "Cookie": "sid=s3cret"},
        )
        assert fetched.status == 200 and fetched.body == PNG
        assert b"Bearer s3cret" in first.received and b"sid=s3cret" in first.received
    assert b"s3cret" not in other.received
    assert b"jar-cookie" not in first.received + other.received


def test_credentials_stay_on_a_redirect_within_the_origin(http: httpx.Client) -> None:
    answers = iter([reply(302, b"", Location="/b.png"), reply(200, PNG)])

    def answer(request: bytes, stop: threading.Event) -> Iterator[bytes]:
        yield from next(answers)(request, stop)

    with Attacker(answer) as server:
        fetch(
            http,
            f"{server.origin}/a.png",
            limit=10_000,
            deadline=5,
            allow_private=True,
            headers={"Authorization": "Bearer s3cret"},
        )
        assert server.received.count(b"Bearer s3cret") == 2


def test_a_redirect_to_another_scheme_is_refused(http: httpx.Client) -> None:
    with (
        Attacker(reply(302, b"", Location="file:///etc/passwd")) as server,
        pytest.raises(DownloadError, match="not an http"),
    ):
        fetch(http, f"{server.origin}/a", limit=100, deadline=5, allow_private=True)


def test_a_redirect_is_checked_by_the_address_rule_too() -> None:
    asked: list[str] = []

    def first_hop(request: httpx.Request) -> httpx.Response:  # the network seam only
        asked.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/"})

    with (
        httpx.Client(transport=httpx.MockTransport(first_hop)) as client,
        pytest.raises(DownloadError, match=r"169\.254\.169\.254"),
    ):
        fetch(
            client,
            "https://public.example/a.png",
            limit=100,
            deadline=5,
            resolve=lambda host, port: ["93.184.216.34"] if host == "public.example" else [host],
        )
    assert asked == ["https://93.184.216.34/a.png"]  # the checked address, and only it


def test_download_image_refuses_what_is_not_an_image(http: httpx.Client) -> None:
    with (
        Attacker(reply(200, b"<html>login</html>", "text/html")) as server,
        pytest.raises(DownloadError, match="not an image"),
    ):
        download_image(http, f"{server.origin}/a.png", limit=1000, deadline=5, allow_private=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://xn--/x.png", "names a host that can't exist"),
        ("https://user:pw@images.example.com/x.png", "holds a user name or password"),
        ("https://[::1/x.png", "is not a URL that can be fetched"),
        ("ftp://images.example.com/x.png", "is not an http"),
    ],
)
def test_urls_a_pull_request_may_write_fail_in_one_line_without_a_request(
    url: str, reason: str
) -> None:
    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a request was sent to {request.url}")

    with (
        httpx.Client(transport=httpx.MockTransport(no_network)) as client,
        pytest.raises(DownloadError, match=re.escape(reason)),
    ):
        fetch(client, url, limit=100, deadline=5, resolve=lambda host, port: ["93.184.216.34"])


def test_an_error_page_is_an_answer_whatever_its_size(http: httpx.Client) -> None:
    page = b"<html>" + b"x" * 50_000 + b"</html>"
    with Attacker(reply(404, page, "text/html")) as server:
        fetched = fetch(http, f"{server.origin}/a.png", limit=100, deadline=5, allow_private=True)
    assert fetched.status == 404 and fetched.content_type == "text/html"
    assert fetched.body == page[:4096]
