"""Host URLs: what a secret may be sent to, and how a URL is shown in a message."""

from __future__ import annotations

import httpx
import pytest

from imgsync.errors import HostUnreachable
from imgsync.hosts._http import HostErrors
from imgsync.hosts.host_url import redact_url, same_url, url_problem


@pytest.mark.parametrize(
    "url",
    [
        "https://img.example.com/api/v1",
        "https://img.example.com:8443/api/v1",
        "http://127.0.0.1:8080/api/v1",
        "http://127.8.9.10/api/v1",
        "http://[::1]:8080/api/v1",
        "http://localhost/api/v1",
        "http://LocalHost./api/v1",
    ],
)
def test_urls_a_secret_may_go_to(url: str) -> None:
    assert url_problem(url, allow_http=False) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://img.example.invalid/api/v1", "uses http:// for a host that is not this machine"),
        ("http://10.0.0.1/api/v1", "set IMGSYNC_ALLOW_HTTP=1 in the environment"),
        ("http://localhost.evil.example/api", "uses http://"),
        ("http://[::ffff:8.8.8.8]/api", "uses http://"),
        ("https://user:hunter2@img.example.com/api", "must not hold a user name or password"),
        ("https://hunter2@img.example.com/api", "must not hold a user name or password"),
        ("https://img.example.com/api?key=k", "must not hold a query"),
        ("https://img.example.com/api?", "must not hold a query"),
        ("https://img.example.com/api#k", "or a fragment"),
        ("https://img.example.com/a b", "holds spaces or control characters"),
        ("https://img.example.com/a\nb", "holds spaces or control characters"),
        ("ftp://img.example.com/api", "must start with http:// or https://"),
        ("https:///api", "must start with http:// or https:// and name a host"),
        ("https://img.example.com:99999/api", "must start with http"),
        ("https://[::1/api", "must start with http"),
        ("https://img..example.com/api", "names a host that can't exist"),
        ("https://.example.com/api", "names a host that can't exist"),
        (f"https://{'x' * 64}.example.com/api", "names a host that can't exist"),
    ],
)
def test_urls_refused(url: str, problem: str) -> None:
    found = url_problem(url, allow_http=False)
    assert found is not None and problem in found
    assert "hunter2" not in found and "key=k" not in found


def test_http_off_this_machine_only_when_the_environment_allows_it() -> None:
    assert url_problem("http://img.example.invalid/api", allow_http=True) is None
    # Allowing http allows nothing else.
    assert url_problem("http://u:p@img.example.invalid/api", allow_http=True) is not None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "http://user:pass@img.example.com:8080/api/v1?x=1#y",
            "http://img.example.com:8080/api/v1",
        ),
        ("https://img.example.com/api/v1", "https://img.example.com/api/v1"),
        ("http://[::1]:8/x", "http://[::1]:8/x"),
        ("/login?next=%2Fsecret", "/login"),
        ("https://[::1/x", "(an unreadable URL)"),
    ],
)
def test_redacted_urls(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_same_url_ignores_case_of_scheme_and_host_and_a_final_slash() -> None:
    assert same_url("https://IMG.example.com/api/v1/", "HTTPS://img.example.com/api/v1")
    assert not same_url("https://img.example.com/API/v1", "https://img.example.com/api/v1")
    assert not same_url("https://img.example.com:444/api", "https://img.example.com/api")


def test_could_not_reach_never_prints_a_password() -> None:
    errors = HostErrors("lsky http://img.example.com/api")
    with (
        pytest.raises(HostUnreachable) as caught,
        errors.transport("http://user:hunter2pass@img.example.com/api?k=v"),
    ):
        raise httpx.ConnectError("connection refused")
    assert "could not reach http://img.example.com/api: connection refused" in str(caught.value)
    assert "hunter2pass" not in str(caught.value) and "k=v" not in str(caught.value)
