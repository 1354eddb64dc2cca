"""The network promises, through the real CLI: proxies from the environment, TLS always verified."""

from __future__ import annotations

import http.client
import os
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from imgsync.hosts.base import make_http_client
from imgsync.hosts.profile import HttpSettings
from imgsync.testing.fake_lsky import DEFAULT_TOKEN, FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
CONFIG = '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'


def blog(root: Path, extra: str = "") -> Path:
    (root / "a.png").write_bytes(png_bytes())
    (root / "post.md").write_text("![a](a.png)\n")
    (root / "imgsync.toml").write_text(extra + CONFIG)
    return root / "post.md"


def sync(root: Path, host: FakeLsky, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().endswith("_PROXY") and k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")
    }
    clean.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=DEFAULT_TOKEN, CI="true", **env)
    return subprocess.run(
        [IMGSYNC, "."], cwd=root, env=clean, capture_output=True, text=True, timeout=60
    )


class _Forwarding(BaseHTTPRequestHandler):
    """A plain HTTP proxy: it notes each request line and forwards the request."""

    server: _Proxy

    def _forward(self) -> None:
        self.server.seen.append(self.requestline)
        target = urlsplit(self.path)  # a proxy is sent the absolute URL
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        assert target.hostname is not None  # a proxy is always sent an absolute URL
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
        upstream.request(self.command, target.path or "/", body, headers)
        reply = upstream.getresponse()
        data = reply.read()
        self.send_response(reply.status)
        for name, value in reply.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = _forward

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[str]


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    server = _Proxy(("127.0.0.1", 0), _Forwarding)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_uploads_go_through_the_proxy_the_environment_names(tmp_path: Path, proxy: _Proxy) -> None:
    post = blog(tmp_path)
    with FakeLsky(rate_limit=None) as host:
        done = sync(tmp_path, host, HTTP_PROXY=f"http://127.0.0.1:{proxy.server_address[1]}")
        upload_url = f"{host.url}/upload"

    assert done.returncode == 0, done.stderr
    assert proxy.seen == [f"POST {upload_url} HTTP/1.1"]
    assert len(host.uploads) == 1 and "](http://127.0.0.1:" in post.read_text()


def https_lsky(certificate: tuple[Path, Path]) -> FakeLsky:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return FakeLsky(rate_limit=None, tls=context)


def test_tls_is_verified_a_private_ca_needs_ca_file(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    post = blog(tmp_path, "max_attempts = 1\n")
    with https_lsky(certificate) as host:
        assert host.url.startswith("https://127.0.0.1:")
        refused = sync(tmp_path, host)

    assert refused.returncode == 3
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr and "Traceback" not in refused.stderr
    assert post.read_text() == "![a](a.png)\n"
    assert len(host.uploads) == 0


def test_ca_file_trusts_the_private_ca(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    shutil.copy(certificate[0], tmp_path / "company-ca.pem")
    post = blog(tmp_path, 'ca_file = "company-ca.pem"\n')
    with https_lsky(certificate) as host:
        done = sync(tmp_path, host)

    assert done.returncode == 0, done.stderr
    assert len(host.uploads) == 1 and "](https://127.0.0.1:" in post.read_text()


def test_the_environments_ca_bundle_is_trusted_as_httpx_trusts_it(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    post = blog(tmp_path)
    with https_lsky(certificate) as host:
        done = sync(tmp_path, host, SSL_CERT_FILE=str(certificate[0]))

    assert done.returncode == 0, done.stderr
    assert len(host.uploads) == 1 and "](https://127.0.0.1:" in post.read_text()


def test_the_ca_bundle_is_read_only_when_a_connection_speaks_tls(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[dict[str, bool]] = []
    real = httpx.create_ssl_context

    def spied(*, verify: bool, trust_env: bool) -> ssl.SSLContext:
        built.append({"verify": verify, "trust_env": trust_env})
        return real(verify=verify, trust_env=trust_env)

    monkeypatch.setattr(httpx, "create_ssl_context", spied)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with FakeLsky(rate_limit=None) as plain, https_lsky(certificate) as tls:
        with make_http_client(HttpSettings()) as client:
            assert client.get(f"{plain.url}/profile").status_code == 401
            assert built == []  # http:// spoke no TLS: no CA bundle read
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.get(f"{tls.url}/profile")
            assert built == [{"verify": True, "trust_env": True}]
            client.get(f"{plain.url}/profile")
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.get(f"{tls.url}/profile")
            assert len(built) == 1  # built once, for every connection after
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        with make_http_client(HttpSettings()) as client:
            assert client.get(f"{tls.url}/profile").status_code == 401
