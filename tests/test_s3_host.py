"""The S3 host against a real S3 API on loopback: moto's server with IAM checking the keys,
behind the fault-injecting proxy of imgsync/testing/fake_s3.py (which counts requests)."""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.errors import AuthError, HostError, HostUnreachable, RateLimited, WrongEndpoint
from imgsync.hosts.base import (
    Host,
    HostProfile,
    HttpSettings,
    UploadRequest,
    make_http_client,
    supports,
)
from imgsync.hosts.profile import Trusted
from imgsync.hosts.s3 import S3Host
from imgsync.testing.fake_s3 import SERVER_ERROR, S3Proxy
from imgsync.testing.http import FakeServer, Reply, Request
from tests.host_contract import CONFIG, SIZE_LIMIT_KB, HostContract
from tests.host_life_contract import CAPABILITY_CONTRACTS, capabilities
from tests.images import png_bytes

ENDPOINT = "https://s3.eu-west-1.amazonaws.com"
ACCESS_KEY = "AKIAOFFLINEEXAMPLE01"
SECRET_KEY = "offlineSecretKeyXXXXXXXXXXXXXXXXXXXXXXXX"
BASE = {"endpoint": ENDPOINT, "bucket": "images", "access_key": "a", "secret_key": "s"}


class TestS3Contract(HostContract):
    host_class = S3Host
    secret = SECRET_KEY  # offline hosts; make_host takes the keys moto made for its fake
    wrong_secret = "wrongSecretKeyWWWWWWWWWWWWWWWWWWWWWWWWWW"
    secret_faults = ("429", "slowdown", "500", "502", "html", "reset", "hang", "echo")
    api_words = ("not from an S3 API", "'endpoint'", "'bucket'")
    server_error_words = SERVER_ERROR
    rate_limit_fault = "slowdown"  # S3's own: 503 SlowDown; a 429 is tested below
    fake_command = ("imgsync.testing.fake_s3",)
    page_size = 40
    access_key = ACCESS_KEY
    bad_options = (
        ({**BASE, "colour": "red"}, "unknown key 'colour'"),
        ({**BASE, "url": ENDPOINT}, "unknown key 'url'"),
        ({k: v for k, v in BASE.items() if k != "endpoint"}, "'endpoint' is required"),
        ({**BASE, "endpoint": "s3.amazonaws.com"}, "'endpoint' must start with http"),
        ({**BASE, "endpoint": "http://s3.example.com"}, "'endpoint' uses http://"),
        ({**BASE, "endpoint": f"{ENDPOINT}?x=1"}, "'endpoint' must not hold a query"),
        ({**BASE, "endpoint": f"{ENDPOINT}/images"}, "'endpoint' ends with the bucket's name"),
        ({k: v for k, v in BASE.items() if k != "bucket"}, "'bucket' is required"),
        ({**BASE, "bucket": "a"}, "'bucket' must be a bucket's name"),
        ({**BASE, "bucket": "my images"}, "'bucket' must be a bucket's name"),
        ({**BASE, "bucket": "${BUCKET}"}, "'bucket' names the variable ${BUCKET}"),
        ({**BASE, "region": "EU West"}, "'region' must be a region name"),
        ({**BASE, "region": 3}, "'region' must be a region name"),
        ({**BASE, "path_style": "maybe"}, "'path_style' must be true or false"),
        ({**BASE, "prefix": "../up"}, "'prefix' must be a folder"),
        ({**BASE, "prefix": "a//b"}, "'prefix' must be a folder"),
        ({**BASE, "prefix": 5}, "'prefix' must be a string"),
        ({**BASE, "name": "{name}{ext}"}, "'name' must contain {md5}"),
        ({**BASE, "name": "{md5}/../{ext}"}, "without '..'"),
        ({**BASE, "name": "{md5} {ext}"}, "'name' may hold only"),
        ({**BASE, "name": "{hash}"}, "unknown placeholder"),
        ({**BASE, "public_url": "cdn.example.com"}, "'public_url' must start with http"),
        ({k: v for k, v in BASE.items() if k != "access_key"}, "'access_key' is required"),
        ({**BASE, "secret_key": ""}, "'secret_key' is required"),
        ({**BASE, "access_key": "${S3_NOT_SET}"}, "variable S3_NOT_SET is not set"),
        ({**BASE, "access_key": "AKIA X"}, "'access_key' holds spaces"),
    )

    def start_fake(self, variant: str) -> FakeServer[Any]:
        return S3Proxy(max_size_kb=SIZE_LIMIT_KB)

    def options(self, url: str, secret: str) -> dict[str, Any]:
        return {
            "endpoint": url,
            "bucket": "images",
            "access_key": self.access_key,
            "secret_key": secret,
        }

    def make_host(self, fake: FakeServer[Any], http: httpx.Client, *, wrong: bool = False) -> Host:
        assert isinstance(fake, S3Proxy)
        self.access_key, self.secret = fake.keys  # this test's keys, made by moto's IAM
        secret = self.wrong_secret if wrong else self.secret
        host = self.host_at(fake.url, http, secret, bucket=fake.bucket)
        assert isinstance(host, S3Host)
        host.page_size = self.page_size
        return host

    def never_shown(self) -> list[str]:
        return [self.secret, self.wrong_secret, self.access_key]

    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        assert isinstance(fake, S3Proxy)
        fake.moto.allow(fake.user, fake.bucket, deny_put=True)  # a key that may only read

    def stored_handles(self, fake: FakeServer[Any]) -> list[dict[str, str]]:
        assert isinstance(fake, S3Proxy)
        return [{"key": key} for key in fake.stored()]

    def probe_cli_fake(self, url: str, client: httpx.Client) -> None:
        listing = client.get(f"{url}/")  # the world's unsigned read, signed by the proxy
        assert "<ListAllMyBucketsResult" in listing.text and "<Name>images-" in listing.text
        credential = "Credential=AKIAUNKNOWNUNKNOWN01/20260101/us-east-1/s3/aws4_request"
        forged = f"AWS4-HMAC-SHA256 {credential}, SignedHeaders=host, Signature=00"
        refused = client.get(f"{url}/images-1", headers={"Authorization": forged})
        assert refused.status_code == 403 and "InvalidAccessKeyId" in refused.text  # IAM is on

    def test_a_page_echoing_the_secret_is_redacted(  # type: ignore[override]
        self, fake: FakeServer[Any], http: httpx.Client, image: Path
    ) -> None:
        # The S3 host sends through botocore, not the httpx client, so the contract's
        # MockTransport can't stand in for the server: the proxy's "echo" fault answers
        # with the request's Authorization header, as such debug pages do. SigV4 puts
        # the access key there (never the secret key): it is redacted too.
        fake.fail_next("echo")

        error = self.upload_error(self.make_host(fake, http), image)

        assert "Authorization: AWS4-HMAC-SHA256 Credential=***/" in str(error)
        assert not any(secret in str(error) for secret in self.never_shown())


for _capability in sorted(capabilities(TestS3Contract)):
    _base = CAPABILITY_CONTRACTS[_capability]
    _name = f"TestS3{_base.__name__}"
    globals()[_name] = type(_name, (_base,), {"host_contract": TestS3Contract})


# ---- the S3 host's own situations ---------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[S3Proxy]:
    with S3Proxy() as server:
        yield server


@pytest.fixture
def http(monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    settings = HttpSettings(connect_timeout=2.0, read_timeout=5.0, write_timeout=2.0)
    with make_http_client(settings) as client:
        yield client


def s3_host(fake: S3Proxy, http: httpx.Client, secret: str | None = None, **more: Any) -> S3Host:
    """A host on `fake` whose keys come from ${S3_ACCESS_KEY} and ${S3_SECRET_KEY}."""
    options = {
        "endpoint": fake.url,
        "bucket": fake.bucket,
        "access_key": "${S3_ACCESS_KEY}",
        "secret_key": "${S3_SECRET_KEY}",
    }
    env = {"S3_ACCESS_KEY": fake.keys[0], "S3_SECRET_KEY": secret or fake.keys[1]}
    profile = HostProfile("blog", "s3", options | more, CONFIG, Trusted(variables=env))
    return S3Host(profile, http)


def png(folder: Path, n: int = 1, name: str = "photo.png") -> UploadRequest:
    path = folder / name
    path.write_bytes(png_bytes(3, 2, (n, 2, 3)))
    return UploadRequest(path, name, "image/png", path.stat().st_size)


def md5_of(request: UploadRequest) -> str:
    return hashlib.md5(request.path.read_bytes()).hexdigest()


def test_an_object_already_in_the_bucket_is_found_by_head_and_not_sent(
    fake: S3Proxy, http: httpx.Client, tmp_path: Path
) -> None:
    request = png(tmp_path)
    key = f"{md5_of(request)}.png"
    # Uploaded before, from another machine or by a run that crashed before its cache.
    fake.moto.s3.put_object(Bucket=fake.bucket, Key=key, Body=request.path.read_bytes())
    host = s3_host(fake, http)

    result = host.upload(request)

    assert result.url == f"{fake.url}/{fake.bucket}/{key}" and result.handle == {"key": key}
    assert fake.methods == {"HEAD object": 1} and host.puts == 0
    assert http.get(result.url).content == request.path.read_bytes()


def test_a_new_object_is_put_once_with_its_type_and_the_next_upload_heads_only(
    fake: S3Proxy, http: httpx.Client, tmp_path: Path
) -> None:
    host = s3_host(fake, http)
    request = png(tmp_path)

    first, again = host.upload(request), host.upload(request)

    assert first == again
    assert fake.methods == {"HEAD object": 2, "PUT object": 1}
    stored = fake.moto.s3.head_object(Bucket=fake.bucket, Key=first.handle["key"])
    assert stored["ContentType"] == "image/png"
    assert stored["ContentLength"] == request.size


def test_wrong_credentials_are_one_request_and_one_clear_message(
    fake: S3Proxy, http: httpx.Client, tmp_path: Path
) -> None:
    wrong = "wrongSecretKeyWWWWWWWWWWWWWWWWWWWWWWWWWW"
    host = s3_host(fake, http, secret=wrong)

    with pytest.raises(AuthError) as refused:
        host.upload(png(tmp_path))

    message = str(refused.value)
    assert fake.requests == 1  # no retry inside the library
    assert message.startswith("host profile 'blog': the S3 server refused the credentials")
    assert "(from ${S3_ACCESS_KEY})" in message and "(from ${S3_SECRET_KEY})" in message
    assert not refused.value.retryable and refused.value.about_host
    assert wrong not in message and fake.keys[0] not in message and fake.keys[1] not in message


def test_an_access_key_moto_does_not_know_is_refused_in_its_words(
    fake: S3Proxy, http: httpx.Client, tmp_path: Path
) -> None:
    host = s3_host(fake, http)
    fake.moto.iam.delete_access_key(UserName=fake.user, AccessKeyId=fake.keys[0])

    with pytest.raises(AuthError) as refused:
        host.check_access()  # a listing has a body: the server's words come through

    assert refused.value.host_message == (
        "The AWS Access Key Id you provided does not exist in our records."
    )
    assert fake.requests == 1


def test_a_missing_bucket_names_the_bucket_and_the_endpoint(
    fake: S3Proxy, http: httpx.Client, tmp_path: Path
) -> None:
    fake.moto.allow(fake.user, "no-such-bucket")
    host = s3_host(fake, http, bucket="no-such-bucket")

    with pytest.raises(WrongEndpoint) as upload:
        host.upload(png(tmp_path))
    with pytest.raises(WrongEndpoint) as doctor:
        host.check_access()

    for error in (upload.value, doctor.value):
        assert f"the bucket 'no-such-bucket' does not exist at {fake.url}" in str(error)
        assert error.host_message == "The specified bucket does not exist"
    assert fake.methods == {"HEAD object": 1, "PUT object": 1, "GET bucket": 1}


def test_prefix_name_and_public_url_make_the_key_and_the_link(
    fake: S3Proxy, http: httpx.Client, tmp_path: Path
) -> None:
    host = s3_host(
        fake,
        http,
        prefix="/blog/img",
        name="{name}-{md5}{ext}",
        public_url="https://cdn.example.com/i/",
    )
    request = png(tmp_path, name="My Photo (1).png")

    result = host.upload(request)

    key = f"blog/img/My-Photo-1-{md5_of(request)}.png"
    assert result.handle == {"key": key}
    assert result.url == f"https://cdn.example.com/i/{key}"
    assert fake.stored() == [key]
    assert [image.url for image in host.list_images()] == [result.url]


def test_listing_shows_only_objects_with_names_imgsync_makes_under_the_prefix(
    fake: S3Proxy, http: httpx.Client, tmp_path: Path
) -> None:
    host = s3_host(fake, http, prefix="img")
    ours = host.upload(png(tmp_path))
    for key in ("img/readme.txt", "img/photo.png", "other/" + ours.handle["key"][4:], "img"):
        fake.moto.s3.put_object(Bucket=fake.bucket, Key=key, Body=b"not ours")

    listed = list(host.list_images())

    assert [image.handle for image in listed] == [ours.handle]
    image = listed[0]
    assert image.size == png(tmp_path).size and image.name == ours.handle["key"][4:]
    assert image.uploaded_at.endswith("Z") and len(image.uploaded_at) == 20
    assert supports(host) == {"list", "delete"}


def test_doctor_lists_one_key_with_the_credentials(
    fake: S3Proxy, http: httpx.Client, tmp_path: Path
) -> None:
    host = s3_host(fake, http, prefix="img")
    assert "it is empty" in host.check_access().detail
    host.upload(png(tmp_path))

    access = host.check_access()

    assert access.verified and "bucket" in access.detail and "under 'img/'" in access.detail
    assert fake.methods["GET bucket"] == 2 and fake.methods["PUT bucket"] == 0


def test_a_429_asks_to_wait_as_long_as_retry_after_says(
    fake: S3Proxy, http: httpx.Client, tmp_path: Path
) -> None:
    fake.fail_next("429")

    with pytest.raises(RateLimited) as slow:
        s3_host(fake, http).upload(png(tmp_path))

    assert slow.value.retry_after == 7.0 and slow.value.status == 429


def test_an_object_of_another_size_under_our_name_is_an_error_not_a_link(
    fake: S3Proxy, http: httpx.Client, tmp_path: Path
) -> None:
    request = png(tmp_path)
    key = f"{md5_of(request)}.png"
    fake.moto.s3.put_object(Bucket=fake.bucket, Key=key, Body=b"something else")

    with pytest.raises(HostError, match="the object was changed by something else"):
        s3_host(fake, http).upload(request)

    assert fake.puts == 0


@dataclass(eq=False, kw_only=True)
class Recorder(FakeServer[str]):
    """An HTTP proxy that records where each request was meant to go, answering as S3 would."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (method, Host, path)

    def respond(self, req: Request) -> Reply:
        self.seen.append((req.method, req.headers.get("host", ""), req.path))
        if req.method == "HEAD":
            return Reply(404, content_type="application/xml")
        return Reply(200, headers={"ETag": '"e"'}, content_type="application/xml")


@pytest.mark.parametrize(
    ("path_style", "host_header", "path"),
    [(True, "s3.example.test", "/images/"), (False, "images.s3.example.test", "/")],
)
def test_addressing_styles_through_the_environments_proxy(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    path_style: bool,
    host_header: str,
    path: str,
) -> None:
    # A virtual-hosted bucket is a host name of its own, which loopback can't resolve: an
    # HTTP proxy from the environment (honoured as httpx honours it) receives both styles.
    with Recorder() as proxy, httpx.Client() as http:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "")
        options = {
            "endpoint": "http://s3.example.test",
            "bucket": "images",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "path_style": path_style,
        }
        trusted = Trusted(allow_http=True)
        host = S3Host(HostProfile("blog", "s3", options, CONFIG, trusted), http)
        request = png(tmp_path)

        result = host.upload(request)

    name = f"{md5_of(request)}.png"
    assert proxy.seen == [
        ("HEAD", host_header, f"{path}{name}"),
        ("PUT", host_header, f"{path}{name}"),
    ]
    assert result.url == f"http://{host_header}{path}{name}"


def test_path_style_is_the_default_only_for_an_address(http: httpx.Client) -> None:
    def built(endpoint: str) -> S3Host:
        profile = HostProfile("b", "s3", {**BASE, "endpoint": endpoint}, CONFIG)
        return S3Host(profile, http)

    assert built("http://127.0.0.1:9000").settings.path_style
    assert built("http://localhost:9000").settings.path_style
    assert not built(ENDPOINT).settings.path_style
    assert built(ENDPOINT).settings.public_url == "https://images.s3.eu-west-1.amazonaws.com"
    assert built(ENDPOINT).identity == f"s3 {ENDPOINT}/images"


def test_the_timeouts_of_the_http_settings_reach_the_library() -> None:
    settings = HttpSettings(connect_timeout=3.5, read_timeout=7.25)
    with make_http_client(settings) as http:
        host = S3Host(HostProfile("b", "s3", BASE, CONFIG), http)

    config = host._client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (3.5, 7.25)
    assert config.retries["total_max_attempts"] == 1


def test_the_identity_is_known_without_the_keys() -> None:
    from imgsync.hosts import identity_without_secrets

    options = {**BASE, "access_key": "${S3_ACCESS_KEY}", "secret_key": "${S3_SECRET_KEY}"}
    profile = HostProfile("b", "s3", options, CONFIG)  # neither variable is set

    assert identity_without_secrets(profile) == f"s3 {ENDPOINT}/images"
    assert identity_without_secrets(HostProfile("b", "s3", {"bucket": "x"}, CONFIG)) is None
    assert identity_without_secrets(HostProfile("b", "lsky", {}, CONFIG)) is None


def test_a_private_ca_is_trusted_through_aws_ca_bundle(
    certificate: tuple[Path, Path],
    http: httpx.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with S3Proxy(tls=context) as fake:
        assert fake.url.startswith("https://127.0.0.1:")
        with pytest.raises(HostUnreachable) as untrusted:
            s3_host(fake, http).upload(png(tmp_path))
        monkeypatch.setenv("AWS_CA_BUNDLE", str(certificate[0]))

        result = s3_host(fake, http).upload(png(tmp_path))

        assert result.url.startswith(f"{fake.url}/{fake.bucket}/") and fake.puts == 1
    assert "its TLS certificate did not verify" in str(untrusted.value)
    assert "set AWS_CA_BUNDLE" in str(untrusted.value) and not untrusted.value.worth_retrying


def test_a_pinned_host_url_keeps_the_keys_from_signing_for_another_endpoint() -> None:
    from imgsync.errors import ConfigError

    pinned = Trusted(pinned_url=ENDPOINT)
    with make_http_client(HttpSettings()) as http:
        unnamed = {k: v for k, v in BASE.items() if k != "endpoint"}
        host = S3Host(HostProfile("b", "s3", unnamed, CONFIG, trusted=pinned), http)
        assert host.identity == f"s3 {ENDPOINT}/images"  # no 'endpoint': the pin is the API
        elsewhere = BASE | {"endpoint": "https://collector.example"}  # a pull request's edit
        with pytest.raises(ConfigError, match="'endpoint' names another host than"):
            S3Host(HostProfile("b", "s3", elsewhere, CONFIG, trusted=pinned), http)
