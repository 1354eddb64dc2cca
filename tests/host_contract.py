"""The contract every host passes against its fake server: one class, subclassed per host.

A subclass says how to start its fake, build its host, and provoke each situation;
the tests are the same for all: success, wrong credentials, a refusal carrying the
host's words, a rate limit, an HTML page, a timeout, an oversized file; the secret
never shown; bad options refused naming the file and the key; the fake runnable from
the command line.

Most tests provoke a situation only some hosts can meet: a host without credentials is
never refused them, a folder of the site never answers HTTP. Each such test is marked with
its situation (`@situation("credentials")`), and a subclass lists in `situations` those its
host can meet; the tests of the others are not generated for it (not skipped: absent), so
every test that runs can fail. The default is every situation, as an HTTP host meets all.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import httpx
import pytest

from imgsync.errors import (
    AuthError,
    ConfigError,
    HostError,
    HostUnreachable,
    ImageError,
    ImgsyncError,
    RateLimited,
    TransientHostError,
    WrongEndpoint,
)
from imgsync.hosts.base import Host, HostProfile, HttpSettings, UploadRequest, make_http_client
from imgsync.testing.http import FakeServer
from tests.images import png_bytes

SIZE_LIMIT_KB = 64
CONFIG = Path("imgsync.toml")  # the file named in ConfigErrors

# What a test may need the host to meet, beyond taking an upload and reading its options.
SITUATIONS = frozenset(
    {
        "credentials",  # a credential the host can reject (AuthError)
        "refusal",  # the host refuses one upload in its own words
        "rate_limit",  # the host asks to slow down (RateLimited)
        "html_page",  # an HTML page where the host's answer should be
        "hang",  # the host takes the upload and never answers
        "size_limit",  # the host refuses a file above its size limit
        "http",  # an HTTP server: a closed port, a 500, a 502, a 200 page, silence, a reset
        "secret",  # a secret option, kept out of errors, reprs and configuration errors
        "fake_command",  # the fake runs from the command line (`python -m`)
    }
)
_Test = TypeVar("_Test")


def situation(name: str) -> Callable[[_Test], _Test]:
    """Mark a contract test as one that needs its host to meet the situation `name`."""
    assert name in SITUATIONS, name

    def mark(test: _Test) -> _Test:
        test.situation = name  # type: ignore[attr-defined]
        return test

    return mark


class HostClass(Protocol):
    """A host class: its type name, and a call that builds a host from a profile."""

    type_name: str

    def __call__(self, profile: HostProfile, http: httpx.Client, /) -> Host: ...


class HostContract(ABC):
    """Subclass as `TestXxxContract` and fill in the hooks."""

    host_class: ClassVar[HostClass]
    secret = ""  # the credential that must never be shown
    wrong_secret = ""  # a credential of the right shape that the fake rejects
    # The fake's editions or reply styles: every contract test runs against each.
    variants: ClassVar[tuple[str, ...]] = ("",)
    # The situations (SITUATIONS) the host can meet: the tests of the others are not made.
    situations: ClassVar[frozenset[str]] = SITUATIONS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        unknown = cls.situations - SITUATIONS
        assert not unknown, f"{cls.__name__} names unknown situations {sorted(unknown)}"
        for name in dir(cls):
            test = getattr(cls, name, None)
            needs = getattr(test, "situation", None)
            if name.startswith("test_") and needs is not None and needs not in cls.situations:
                setattr(cls, name, None)  # pytest collects no test of that name in `cls`

    @abstractmethod
    def start_fake(self, variant: str) -> FakeServer[Any]:
        """The fake, accepting files up to SIZE_LIMIT_KB."""

    @abstractmethod
    def options(self, url: str, secret: str) -> dict[str, Any]:
        """A valid profile's options for a host at `url` with credential `secret`."""

    def make_host(self, fake: FakeServer[Any], http: httpx.Client, *, wrong: bool = False) -> Host:
        """The host configured for `fake`; with `wrong`, a credential the fake rejects."""
        return self.host_at(fake.url, http, self.wrong_secret if wrong else self.secret)

    def host_at(self, url: str, http: httpx.Client, secret: str, **more: Any) -> Host:
        options = self.options(url, secret) | more
        return self.host_class(HostProfile("t", self.type_name(), options, CONFIG), http)

    def type_name(self) -> str:
        return self.host_class.type_name

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        # Collection calls this on an instance of each subclass: its variants, its tables.
        if "variant" in metafunc.fixturenames:
            metafunc.parametrize("variant", self.variants, ids=[v or "fake" for v in self.variants])
        if "bad" in metafunc.fixturenames:
            ids = [complaint for _, complaint in self.bad_options]
            metafunc.parametrize("bad", self.bad_options, ids=ids)

    def never_shown(self) -> list[str]:
        """What no error, repr or identity may contain: the secrets, or their secret parts."""
        return [self.secret, self.wrong_secret]

    def more_secret_errors(
        self, fake: FakeServer[Any], host: Host, wrong: Host, folder: Path
    ) -> list[HostError]:
        """Errors of the host's own situations, right after the last of secret_faults."""
        return []

    @abstractmethod
    def probe_cli_fake(self, url: str, client: httpx.Client) -> None:
        """Check that the fake started from the command line at `url` (secret "T") answers."""

    @abstractmethod
    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        """Arrange that uploading `request` next is refused for a reason of the host's own."""

    secret_header = "Authorization"  # the request header that carries the secret
    secret_faults: ClassVar[tuple[str, ...]] = ()  # faults whose errors must not show it
    # (options, words the ConfigError must hold): the host's own checks, one test each.
    bad_options: ClassVar[tuple[tuple[dict[str, Any], str], ...]] = ()
    fake_command: ClassVar[tuple[str, ...]] = ()  # `python -m` arguments, its secret "T"
    # What the error for a page that is not the API's must hold: the host's name, its base.
    api_words: ClassVar[tuple[str, ...]] = ()
    server_error_words = ""  # the host's own words in the fake's JSON 500
    rate_limit_fault = "429"  # the fault that makes the fake answer "slow down"
    # What a file that can't be read raises: a batch host fails that file alone, as a HostError.
    unreadable_error: type[ImgsyncError] = ImageError

    # ---- hooks of the life contract (tests/host_life_contract.py) ------------------------
    page_size: ClassVar[int] = 40  # images a page of the fake's listing holds

    def unthrottle(self, fake: FakeServer[Any]) -> None:
        """Lift the fake's rate limits: the life contract uploads a hundred images."""
        return None  # a fake without limits needs nothing

    def stored_handles(self, fake: FakeServer[Any]) -> list[dict[str, str]]:
        """The handles (as the upload gave them) of every image the fake holds."""
        raise NotImplementedError(f"{type(self).__name__} must say what its fake holds")

    def make_album(self, fake: FakeServer[Any], host: Host, name: str) -> str:
        """An album named `name` on the fake, made as its users make one: its id."""
        from imgsync.hosts.base import AlbumHost

        assert isinstance(host, AlbumHost) and host.can_create_albums
        return host.create_album(name).id

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
    def fake(self, variant: str) -> Iterator[FakeServer[Any]]:
        with self.start_fake(variant) as server:
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

    @situation("credentials")
    def test_wrong_credentials_are_an_auth_error(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        error = self.upload_error(self.make_host(fake, http, wrong=True), image)

        assert isinstance(error, AuthError) and not error.retryable

    @situation("refusal")
    def test_a_refusal_carries_the_hosts_own_words(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        host = self.make_host(fake, http)
        self.provoke_refusal(fake, host, self.request_for(image))

        error = self.upload_error(host, image)

        assert not error.retryable
        assert error.host_message and error.host_message in str(error)

    @situation("rate_limit")
    def test_a_rate_limit_asks_to_wait(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        self.provoke_rate_limit(fake)

        error = self.upload_error(self.make_host(fake, http), image)

        assert isinstance(error, RateLimited) and error.retryable

    @situation("html_page")
    def test_an_html_page_is_a_clear_error(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        self.provoke_html_page(fake)

        error = self.upload_error(self.make_host(fake, http), image)

        assert "<" in str(error) or "html" in str(error).lower()

    @situation("hang")
    def test_a_reply_that_never_comes_is_a_transient_error(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        self.provoke_hang(fake)

        error = self.upload_error(self.make_host(fake, http), image)

        assert isinstance(error, TransientHostError) and error.retryable

    @situation("size_limit")
    def test_an_oversized_file_is_refused(
        self, fake: FakeServer[Any], http: httpx.Client, tmp_path: Path
    ) -> None:
        big = self.make_oversized(fake, tmp_path)

        error = self.upload_error(self.make_host(fake, http), big)

        assert not error.retryable

    @situation("http")
    def test_a_closed_port_is_an_unreachable_host_worth_another_try(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        host = self.make_host(fake, http)
        url = fake.url
        fake.stop()

        error = self.upload_error(host, image)

        assert isinstance(error, HostUnreachable) and error.worth_retrying
        assert error.message.startswith(f"could not reach {url}")
        assert "refused" in error.message

    def test_an_unreadable_file_fails_before_any_request(
        self, fake: FakeServer[Any], http: httpx.Client, tmp_path: Path
    ) -> None:
        gone = UploadRequest(tmp_path / "gone.png", "gone.png", "image/png", 10)

        with pytest.raises(self.unreadable_error, match=r"gone\.png"):
            self.make_host(fake, http).upload(gone)

        assert fake.requests == 0

    # ---- server failures and wrong replies --------------------------------------------

    @situation("http")
    def test_a_json_500_is_transient_with_the_hosts_words(
        self, fake: FakeServer[Any], http: httpx.Client, tmp_path: Path
    ) -> None:
        fake.fail_next("500")
        host = self.make_host(fake, http)

        error = self.upload_error(host, self.image_at(tmp_path, 0))

        assert isinstance(error, TransientHostError) and error.retryable
        assert (error.status, error.host_message) == (500, self.server_error_words)
        assert host.upload(self.request_for(self.image_at(tmp_path, 1))).url  # only that one

    @situation("http")
    def test_an_html_502_is_transient_and_quotes_the_page(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        fake.fail_next("502")

        error = self.upload_error(self.make_host(fake, http), image)

        assert isinstance(error, TransientHostError) and error.status == 502
        assert "'<!DOCTYPE html> <html> <head><title>502 Bad Gateway</title>" in error.message
        assert "\n" not in error.message

    @situation("http")
    def test_an_html_page_in_a_200_is_a_clear_error(
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        fake.fail_next("html")  # the site's front page, as if 'url' missed the API

        error = self.upload_error(self.make_host(fake, http), image)

        # About the host, not the file: the queue stops after this one request.
        assert type(error) is WrongEndpoint and error.about_host and error.status == 200
        assert all(words in error.message for words in self.api_words)
        assert "It began: '<!DOCTYPE html>" in error.message and "\n" not in error.message

    @situation("http")
    @pytest.mark.parametrize("slow", ["latency", "hang"])
    def test_a_silent_host_times_out_as_transient(
        self, fake: FakeServer[Any], http: httpx.Client, tmp_path: Path, slow: str
    ) -> None:
        if slow == "latency":
            fake.latency = 5.0  # the stop() at teardown wakes the waiting handler
        else:
            fake.fail_next("hang")
        settings = HttpSettings(connect_timeout=2.0, read_timeout=0.2, write_timeout=2.0)
        with make_http_client(settings) as client:
            host = self.make_host(fake, client)

            error = self.upload_error(host, self.image_at(tmp_path, 0))

            assert isinstance(error, TransientHostError)
            assert error.message == f"{fake.url} did not answer in time"
            fake.latency = 0.0
            assert host.upload(self.request_for(self.image_at(tmp_path, 1))).url  # off any budget

    @situation("http")
    def test_a_reset_connection_is_transient(
        self, fake: FakeServer[Any], http: httpx.Client, tmp_path: Path
    ) -> None:
        fake.fail_next("reset")
        host = self.make_host(fake, http)

        error = self.upload_error(host, self.image_at(tmp_path, 0))

        assert isinstance(error, TransientHostError)
        assert error.message.startswith(f"could not reach {fake.url}: ")
        assert host.upload(self.request_for(self.image_at(tmp_path, 1))).url  # a new connection

    # ---- the secret stays secret ------------------------------------------------------

    @situation("secret")
    def test_the_secret_never_appears_in_errors_or_reprs(
        self, fake: FakeServer[Any], http: httpx.Client, tmp_path: Path
    ) -> None:
        settings = HttpSettings(connect_timeout=2.0, read_timeout=0.2, write_timeout=2.0)
        errors: list[ImgsyncError] = []
        with make_http_client(settings) as client:
            host = self.make_host(fake, client)
            for n, fault in enumerate(self.secret_faults):
                fake.fail_next(fault)
                errors.append(self.upload_error(host, self.image_at(tmp_path, n)))
            wrong = self.make_host(fake, client, wrong=True)
            errors += self.more_secret_errors(fake, host, wrong, tmp_path)
            errors.append(self.upload_error(wrong, self.image_at(tmp_path, 99)))
        for err in errors:
            for text in (str(err), repr(err), err.args, vars(err), err.__cause__, err.__context__):
                assert not any(secret in str(text) for secret in self.never_shown())
        assert not any(secret in repr(host) + host.identity for secret in self.never_shown())
        assert repr(host) == f"{type(host).__name__}({fake.url!r}, {self.secret_option()}=set)"

    @situation("secret")
    def test_a_page_echoing_the_secret_is_redacted(self, tmp_path: Path) -> None:
        # Some debug error pages print the request headers back.
        header = self.secret_header

        def echo(request: httpx.Request) -> httpx.Response:
            return httpx.Response(500, text=f"<pre>{header}: {request.headers[header]}</pre>")

        with httpx.Client(transport=httpx.MockTransport(echo)) as client:
            host = self.host_at("https://img.example.com/api", client, self.secret)
            err = self.upload_error(host, self.image_at(tmp_path, 0))
        shown = f"{header}: {self.secret_value(header).replace(self.secret, '***')}"
        assert shown in err.message
        assert not any(secret in str(err) for secret in self.never_shown())

    def secret_value(self, header: str) -> str:
        return f"Bearer {self.secret}" if header == "Authorization" else self.secret

    def secret_option(self) -> str:
        return next(
            k for k, v in self.options("https://x", self.secret).items() if v == self.secret
        )

    @staticmethod
    def image_at(folder: Path, n: int) -> Path:
        """A PNG of its own bytes (hosts refuse duplicates), n from 0 to 255."""
        path = folder / f"image{n}.png"
        path.write_bytes(png_bytes(3, 2, (n, 1, 2)))
        return path

    # ---- the profile's options -------------------------------------------------------

    def config_error(self, options: dict[str, Any], http: httpx.Client) -> ConfigError:
        with pytest.raises(ConfigError) as caught:
            self.host_class(HostProfile("blog", self.type_name(), options, CONFIG), http)
        assert caught.value.path == CONFIG
        assert str(caught.value).startswith("imgsync.toml: host profile 'blog': ")
        secret = options.get(self.secret_option()) if "secret" in self.situations else None
        if isinstance(secret, str) and len(secret.strip()) >= 4:
            assert secret.strip() not in str(caught.value)  # a secret is never quoted
        return caught.value

    def test_bad_options_are_config_errors_naming_the_file_and_the_key(
        self, http: httpx.Client, bad: tuple[dict[str, Any], str]
    ) -> None:
        options, complaint = bad

        assert complaint in str(self.config_error(options, http))

    def test_unknown_keys_are_refused_listing_the_known_ones(self, http: httpx.Client) -> None:
        options = self.options("https://img.example.com/api", self.secret)

        error = self.config_error(options | {"colour": "red"}, http)

        known = ", ".join(sorted(set(options) - {"colour"}))
        assert f"unknown key 'colour' for type {self.type_name()} (known: " in str(error)
        assert all(key in str(error).partition("known: ")[2] for key in known.split(", "))

    @situation("secret")
    def test_a_secret_is_never_quoted_in_configuration_errors(self, http: httpx.Client) -> None:
        options = self.options("https://img.example.com/api", "s3cret value")

        error = self.config_error(options, http)

        assert "holds spaces" in str(error) and "s3cret" not in str(error)

    # ---- the fake ----------------------------------------------------------------------

    @situation("fake_command")
    def test_the_fake_runs_from_the_command_line(self, http: httpx.Client) -> None:
        command = [sys.executable, "-m", *self.fake_command, "--port", "0"]
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            self.probe_cli_fake(url, http)
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
