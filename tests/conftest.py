"""Shared fixtures: fake hosts on loopback, the real HTTP client, tiny real images."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from imgsync.hosts.base import HttpSettings, make_http_client
from imgsync.testing.fake_chevereto import FakeChevereto
from imgsync.testing.fake_lsky import FakeLsky
from imgsync.testing.fake_pichub import FakePicHub
from tests.images import png_bytes


@pytest.fixture
def make_png(tmp_path: Path) -> Callable[..., Path]:
    """Write a real PNG under tmp_path: make_png("a.png", rgb=(0, 0, 255))."""

    def make(name: str = "image.png", rgb: tuple[int, int, int] = (255, 0, 0)) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(rgb=rgb))
        return path

    return make


@pytest.fixture
def fake_lsky() -> Iterator[FakeLsky]:
    """A started fake Lsky Pro server with its default token; stopped afterwards."""
    with FakeLsky() as fake:
        yield fake


@pytest.fixture(params=["v4", "free"])
def fake_chevereto(request: pytest.FixtureRequest) -> Iterator[FakeChevereto]:
    """A started fake Chevereto with its default key: each test runs against V4, then Free."""
    with FakeChevereto(edition=request.param) as fake:
        yield fake


@pytest.fixture(params=["object+error_object", "list+flat"])
def fake_pichub(request: pytest.FixtureRequest) -> Iterator[FakePicHub]:
    """A started fake PicHub with its default token, in both reply styles: each test runs twice."""
    with FakePicHub(response_style=request.param) as fake:
        yield fake


@pytest.fixture
def http_settings(monkeypatch: pytest.MonkeyPatch) -> HttpSettings:
    # A developer's proxy must not swallow requests to the loopback fakes.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    return HttpSettings(connect_timeout=5.0, read_timeout=10.0, write_timeout=10.0)


@pytest.fixture
def http_client(http_settings: HttpSettings) -> Iterator[httpx.Client]:
    """The client the hosts share in production, with test-sized timeouts."""
    with make_http_client(http_settings) as client:
        yield client


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, key), made with openssl."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make a test certificate"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
