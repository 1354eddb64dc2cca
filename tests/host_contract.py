"""The contract every host passes against its fake server: one class, subclassed per host.

A subclass says how to start its fake, build its host, and provoke each situation;
the tests are the same for all: success, wrong credentials, a refusal carrying the
host's words, a rate limit, an HTML page, a timeout, an oversized file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.errors import (
    AuthError,
    HostError,
    ImageError,
    ImgsyncError,
    RateLimited,
    TransientHostError,
)
from imgsync.hosts.base import Host, HttpSettings, UploadRequest, make_http_client
from imgsync.testing.http import FakeServer
from tests.images import png_bytes

SIZE_LIMIT_KB = 64


class HostContract(ABC):
    """Subclass as `TestXxxContract` and fill in the hooks."""

    secret = ""  # the credential that must never be shown

    @abstractmethod
    def start_fake(self) -> FakeServer[Any]:
        """The fake, accepting files up to SIZE_LIMIT_KB."""

    @abstractmethod
    def make_host(self, fake: FakeServer[Any], http: httpx.Client, *, wrong: bool = False) -> Host:
        """The host configured for `fake`; with `wrong`, a credential the fake rejects."""

    @abstractmethod
    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        """Arrange that uploading `request` next is refused for a reason of the host's own."""

    rate_limit_fault = "429"  # the fault that makes the fake answer "slow down"
    # What a file that can't be read raises: a batch host fails that file alone, as a HostError.
    unreadable_error: type[ImgsyncError] = ImageError

    def provoke_rate_limit(self, fake: FakeServer[Any]) -> None:
        fake.fail_next(self.rate_limit_fault)

    def provoke_html_page(self, fake: FakeServer[Any]) -> None:
        fake.fail_next("502")  # every fake answers this with a gateway's HTML page

    def provoke_hang(self, fake: FakeServer[Any]) -> None:
        fake.fail_next("hang")

    def make_oversized(self, fake: FakeServer[Any], folder: Path) -> Path:
        """A real image above SIZE_LIMIT_KB, the limit every start_fake() sets."""
        path = folder / "big.png"
        path.write_bytes(png_bytes(4, 4) + b"\0" * ((SIZE_LIMIT_KB + 1) * 1024))
        return path

    # ---- the contract ----------------------------------------------------------------

    @pytest.fixture
    def fake(self) -> Iterator[FakeServer[Any]]:
        with self.start_fake() as server:
            yield server

    @pytest.fixture
    def http(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        settings = HttpSettings(connect_timeout=2.0, read_timeout=1.0, write_timeout=2.0)
        with make_http_client(settings) as client:
            yield client

    @staticmethod
    def request_for(path: Path) -> UploadRequest:
        return UploadRequest(path, path.name, "image/png", path.stat().st_size, alt="alt text")

    @pytest.fixture
    def image(self, tmp_path: Path) -> Path:
        path = tmp_path / "contract.png"
        path.write_bytes(png_bytes(3, 2, (1, 2, 3)))
        return path

    def upload_error(self, host: Host, path: Path) -> HostError:
        with pytest.raises(HostError) as caught:
            host.upload(self.request_for(path))
        error = caught.value
        if self.secret:
            assert self.secret not in str(error) and self.secret not in repr(error)
        return error

    def test_success_gives_a_url_that_serves_the_bytes(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        host = self.make_host(fake, http)

        result = host.upload(self.request_for(image))

        assert result.url.startswith("http://127.0.0.1:")
        assert http.get(result.url).content == image.read_bytes()
        assert host.identity.split(" ", 1)[0] == host.type_name
        if self.secret:
            assert self.secret not in host.identity and self.secret not in repr(host)

    def test_wrong_credentials_are_an_auth_error(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        error = self.upload_error(self.make_host(fake, http, wrong=True), image)

        assert isinstance(error, AuthError) and not error.retryable

    def test_a_refusal_carries_the_hosts_own_words(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        host = self.make_host(fake, http)
        self.provoke_refusal(fake, host, self.request_for(image))

        error = self.upload_error(host, image)

        assert not error.retryable
        assert error.host_message and error.host_message in str(error)

    def test_a_rate_limit_asks_to_wait(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        self.provoke_rate_limit(fake)

        error = self.upload_error(self.make_host(fake, http), image)

        assert isinstance(error, RateLimited) and error.retryable

    def test_an_html_page_is_a_clear_error(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        self.provoke_html_page(fake)

        error = self.upload_error(self.make_host(fake, http), image)

        assert "<" in str(error) or "html" in str(error).lower()

    def test_a_reply_that_never_comes_is_a_transient_error(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        self.provoke_hang(fake)

        error = self.upload_error(self.make_host(fake, http), image)

        assert isinstance(error, TransientHostError) and error.retryable

    def test_an_oversized_file_is_refused(
        self, fake: FakeServer[Any], http: httpx.Client, tmp_path: Path
    ) -> None:
        big = self.make_oversized(fake, tmp_path)

        error = self.upload_error(self.make_host(fake, http), big)

        assert not error.retryable

    def test_a_closed_port_is_a_transient_error(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        host = self.make_host(fake, http)
        url = fake.url
        fake.stop()

        error = self.upload_error(host, image)

        assert isinstance(error, TransientHostError)
        assert error.message.startswith(f"could not reach {url}")

    def test_an_unreadable_file_fails_before_any_request(
        self, fake: FakeServer[Any], http: httpx.Client, tmp_path: Path
    ) -> None:
        gone = UploadRequest(tmp_path / "gone.png", "gone.png", "image/png", 10)

        with pytest.raises(self.unreadable_error, match=r"gone\.png"):
            self.make_host(fake, http).upload(gone)

        assert fake.requests == 0
