"""The S3 library (botocore, docs/s3.md says why) set up for imgsync, and its errors turned
into ours.

The client makes each request once: imgsync's own retry (transfer/) waits out rate limits
and server errors, so the library's retries would only multiply the requests a wrong key
or a struggling server gets. Timeouts come from the httpx client imgsync made
([http] settings); proxies from the environment, as httpx reads them.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

import httpx

from ..errors import (
    AuthError,
    ConfigError,
    HostError,
    HostUnreachable,
    TransientHostError,
    WrongEndpoint,
)
from ._http import HostErrors, retry_after
from .profile import HostProfile
from .s3_options import S3Settings

T = TypeVar("T")
INSTALL_HINT = "pip install 'imgsync[s3]'"
# Error codes S3-compatible servers use to ask a client to slow down.
_SLOW_DOWN = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests"}
)
# Codes that say the credentials (or what they may do) are wrong.
_CREDENTIALS = frozenset(
    {
        "AccessDenied",
        "AccountProblem",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "403",
        "401",
    }
)


def load_botocore(profile: HostProfile) -> Any:
    """The botocore package, or a ConfigError saying how to install it."""
    try:
        import botocore.config
        import botocore.exceptions
        import botocore.session
    except ImportError:
        raise ConfigError(
            f"host profile {profile.name!r} has type 's3', which needs the S3 library "
            f"(botocore), not installed: {INSTALL_HINT}",
            profile.source,
        ) from None
    return botocore


class LastReply(threading.local):
    """The raw reply the library read last, in this thread: the body botocore's parser drops
    when it is not XML (a proxy's HTML page) is what an error should quote."""

    status: int | None = None
    body: bytes = b""

    def keep(self, response_dict: Mapping[str, Any], **_: Any) -> None:
        self.status = response_dict.get("status_code")
        body = response_dict.get("body")
        self.body = body[:4096] if isinstance(body, bytes) else b""

    def forget(self) -> None:
        self.status, self.body = None, b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def is_xml(self) -> bool:
        start = self.body.lstrip()[:64].lower()
        return start.startswith(b"<?xml") or start.startswith(b"<error")


def make_client(settings: S3Settings, http: httpx.Client, profile: HostProfile) -> Any:
    """A botocore S3 client for `settings`, with `http`'s timeouts and no retries."""
    botocore = load_botocore(profile)
    timeout = http.timeout
    config = botocore.config.Config(
        connect_timeout=timeout.connect or 60.0,
        read_timeout=timeout.read or 60.0,
        retries={"total_max_attempts": 1},
        s3={"addressing_style": "path" if settings.path_style else "virtual"},
        # The CRC checksums botocore adds by default since 1.36 (aws-chunked bodies with a
        # trailer) are refused by servers that don't know them; Content-MD5 (sent by the
        # host) covers integrity.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=16,
        user_agent_extra="imgsync",
    )
    access, secret = settings.credentials
    session = botocore.session.Session()
    return session.create_client(
        "s3",
        endpoint_url=settings.endpoint,
        region_name=settings.region,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=config,
    )


class S3Errors:
    """Turns botocore's exceptions into HostErrors that name the profile and say what to do;
    the keys never reach a message (HostErrors redacts them from the server's words)."""

    def __init__(
        self, errors: HostErrors, settings: S3Settings, profile: str, last: LastReply
    ) -> None:
        self.errors = errors
        self.settings = settings
        self.profile = profile
        self.last = last

    def call(self, what: str, operation: Callable[[], T]) -> T:
        """Run one library call (`what`: "list the bucket" and the like), translating errors."""
        import botocore.exceptions as bex
        from botocore.parsers import ResponseParserError

        self.last.forget()
        try:
            return operation()
        except (bex.BotoCoreError, bex.ClientError, ResponseParserError) as error:
            caught: Exception = error
        # Raised outside the except block: the library's exception (whose text may quote a
        # reply echoing the access key) is then not even the new error's __context__.
        self.fail(what, caught)

    def fail(self, what: str, error: Exception) -> NoReturn:
        """Raise the HostError for one of botocore's exceptions."""
        import botocore.exceptions as bex

        where = self.settings.endpoint
        if isinstance(error, bex.ClientError):
            self.client_error(what, error.response)
        if isinstance(error, bex.ConnectTimeoutError):
            raise HostUnreachable(
                f"could not reach {where}: no connection within connect_timeout",
                worth_retrying=True,
                host=self.errors.host,
            )
        if isinstance(error, bex.ReadTimeoutError):
            raise TransientHostError(f"{where} did not answer in time", host=self.errors.host)
        if isinstance(error, bex.ProxyConnectionError):
            reason = self.errors.redact(str(_root(error)))
            raise HostUnreachable(
                f"could not reach {where}: the proxy refused or failed ({reason})",
                worth_retrying=True,
                host=self.errors.host,
            )
        if isinstance(error, bex.SSLError):
            raise self._tls(where, error)
        if isinstance(error, bex.EndpointConnectionError):
            raise self._unreachable(where, error)
        if isinstance(error, (bex.HTTPClientError, bex.ConnectionError)):
            reason = self.errors.redact(str(_root(error))) or type(error).__name__
            raise TransientHostError(f"could not reach {where}: {reason}", host=self.errors.host)
        self.not_s3(what, self.last.status)  # ResponseParserError: a body that isn't S3's XML

    def client_error(self, what: str, response: Mapping[str, Any]) -> NoReturn:
        """Raise the HostError for an error reply of the S3 server (or of something else)."""
        meta = response.get("ResponseMetadata", {})
        status = meta.get("HTTPStatusCode")
        headers = meta.get("HTTPHeaders", {})
        error = response.get("Error", {})
        code = str(error.get("Code", status))
        # botocore makes up a Message ("Forbidden") for a reply without an S3 error body.
        said = error.get("Message") if self.last.is_xml else None
        words = said if isinstance(said, str) and said else None
        where = f"HTTP {status} {code}" if code != str(status) else f"HTTP {status}"
        if status == 429 or code in _SLOW_DOWN:
            wait = retry_after(headers.get("retry-after"))
            self.errors.rate_limited(
                f"the S3 server asks us to slow down ({where})", wait, status, words
            )
        if code in _CREDENTIALS or status in (401, 403):
            self.errors.fail(AuthError, self._credentials_advice(what, where), status, words)
        if code == "AuthorizationHeaderMalformed":
            region = self.settings.region
            advice = (
                f"the S3 server refused the request's region {region!r} ({where}): check 'region'"
            )
            self.errors.fail(AuthError, advice, status, words)
        if code == "NoSuchBucket":
            bucket, endpoint = self.settings.bucket, self.settings.endpoint
            advice = (
                f"the bucket {bucket!r} does not exist at {endpoint}: check 'bucket' and 'endpoint'"
            )
            self.errors.fail(WrongEndpoint, advice, status, words)
        if status in (301, 307) or code in ("PermanentRedirect", "TemporaryRedirect"):
            advice = (
                f"the S3 server sent us elsewhere ({where}): the bucket is in another region or "
                "needs another endpoint; check 'endpoint' and 'region'"
            )
            self.errors.fail(WrongEndpoint, advice, status, words)
        if code == "EntityTooLarge" or status == 413:
            advice = f"the S3 server refused the file as too large ({where}): shrink the image"
            self.errors.fail(HostError, advice, status, words)
        if isinstance(status, int) and status >= 500:
            self._fail_quoting(
                TransientHostError, f"the S3 server had a server error ({where})", status, words
            )
        if status == 404 and not words:
            self.not_s3(what, status)
        self._fail_quoting(HostError, f"the S3 server refused to {what} ({where})", status, words)

    def not_s3(self, what: str, status: int | None) -> NoReturn:
        """Raise WrongEndpoint for a reply that is not an S3 server's."""
        advice = (
            f"the reply when asked to {what} is not from an S3 API; is 'endpoint' the S3 endpoint "
            f"(e.g. https://s3.eu-west-1.amazonaws.com) and 'bucket' right?"
        )
        if self.last.body:
            advice += f" It began: {self.errors.quote(self.last.text)}"
        self.errors.fail(WrongEndpoint, advice, status)

    def _fail_quoting(
        self, cls: type[HostError], advice: str, status: int | None, words: str | None
    ) -> NoReturn:
        if words is None and self.last.body:
            advice += f"; it began: {self.errors.quote(self.last.text)}"
        self.errors.fail(cls, advice, status, words)

    def _credentials_advice(self, what: str, where: str) -> str:
        access, secret = self.settings.credential_names
        return (
            f"host profile {self.profile!r}: the S3 server refused the credentials when asked "
            f"to {what} ({where}): check the access key ({access}) and the secret key "
            f"({secret}), and that the key may read, write and list bucket "
            f"{self.settings.bucket!r}"
        )

    def _unreachable(self, where: str, error: Exception) -> HostUnreachable:
        cause = _root(error)
        reason = self.errors.redact(str(cause)) or type(cause).__name__
        if isinstance(cause, socket.gaierror):
            return HostUnreachable(
                f"could not reach {where}: no such host name ({reason})",
                worth_retrying=False,
                host=self.errors.host,
            )
        if isinstance(cause, ConnectionRefusedError):
            return HostUnreachable(
                f"could not reach {where}: the connection was refused (is the host down?)",
                worth_retrying=True,
                host=self.errors.host,
            )
        return HostUnreachable(
            f"could not reach {where}: {reason}", worth_retrying=True, host=self.errors.host
        )

    def _tls(self, where: str, error: Exception) -> HostUnreachable:
        cause = _root(error)
        reason = self.errors.redact(str(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            message = (
                f"could not reach {where}: its TLS certificate did not verify ({reason}); for a "
                "private CA set AWS_CA_BUNDLE to its file (the S3 library does not read ca_file)"
            )
        else:
            message = f"could not reach {where}: the TLS handshake failed ({reason})"
        return HostUnreachable(message, worth_retrying=False, host=self.errors.host)


def _root(error: BaseException) -> BaseException:
    """The innermost error: botocore keeps urllib3's in `kwargs['error']`, which wraps the
    socket's."""
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        kept = getattr(error, "kwargs", None)
        inner = kept.get("error") if isinstance(kept, dict) else None
        inner = inner or error.__cause__ or error.__context__
        if not isinstance(inner, BaseException):
            break
        error = inner
    return error
