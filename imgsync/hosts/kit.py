"""The host kit: what every HTTP host shares, so that a host module holds only what is its own.

A host subclasses KitHost, reads its profile with ProfileOptions, sends with
KitHost.send and maps a reply's HTTP status to our errors with its ReplyRules.
docs/adding-a-host.md walks through writing one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar, NoReturn

import httpx

from ..errors import HostError, ImageError, TransientHostError, WrongEndpoint
from ._http import REDIRECTS, HostErrors, retry_after
from ._pacing import RateBudget, reset_at
from .base import UploadRequest
from .bounded import delete_bounded, get_bounded, post_bounded
from .host_url import redact_url
from .profile import named_by_origin

Advice = tuple[type[HostError], str]  # the error to raise and what it tells the user


@dataclass(frozen=True)
class ReplyRules:
    """How one host's HTTP statuses turn into errors: a module constant per host.

    `check_status` runs first on every reply and raises for what the status alone
    says; `not_the_api` runs when the body is not what the host's API sends.
    """

    api: str  # the host's name, as in "the reply is not from the Lsky API"
    base: str  # how a right 'url' ends, e.g. "…/api/v1"
    redirect: Advice  # its text may say {where}, the Location the reply points at
    statuses: Mapping[int, Advice] = field(default_factory=dict)
    speaker: str = "the host"  # who "asks us to slow down" in messages
    refuse_other_4xx: bool = False  # every other 4xx is a refusal, judged by status alone
    # Told only when the body is not the API's, because the API answers these statuses
    # with its own error reply (Chevereto: every error is a 400 with its own code).
    late_statuses: Mapping[int, Advice] = field(default_factory=dict)

    def check_status(self, errors: HostErrors, response: httpx.Response, said: str | None) -> None:
        """Raise for a redirect, a 429, a status of the table, a server error (and, with
        refuse_other_4xx, any 4xx); return for the others, which the body must judge."""
        code = response.status_code
        if code in REDIRECTS:
            cls, advice = self.redirect
            location = response.headers.get("Location")
            where = redact_url(location) if location else "elsewhere"  # the host's words
            errors.fail(cls, advice.format(where=where), code, said)
        if code == 429:
            wait = wait_from(response.headers)
            errors.rate_limited(f"{self.speaker} asks us to slow down (HTTP 429)", wait, code, said)
        if code in self.statuses:
            errors.fail(*self.statuses[code], code, said)
        if code >= 500:
            self._fail_quoting(errors, response, said, TransientHostError, "had a server error")
        if code >= 400 and self.refuse_other_4xx:
            self._fail_quoting(errors, response, said, HostError, "refused")

    def not_the_api(
        self, errors: HostErrors, response: httpx.Response, said: str | None
    ) -> NoReturn:
        """Raise for a reply whose body is not the API's: wrong 'url', a proxy, a web page.

        A page where the API should answer is WrongEndpoint (about the host: every other
        upload would get the same page), unless the status says the host refused this one.
        """
        code = response.status_code
        if code in self.late_statuses:
            errors.fail(*self.late_statuses[code], code)
        if said and code >= 400:  # a framework's error, such as a 422 validation reply
            errors.fail(HostError, f"{self.speaker} refused the upload (HTTP {code})", code, said)
        advice = f"the reply is not from the {self.api} API; is 'url' the API base ({self.base})?"
        errors.fail(WrongEndpoint, f"{advice} It began: {errors.quote(response.text)}", code)

    def _fail_quoting(
        self,
        errors: HostErrors,
        response: httpx.Response,
        said: str | None,
        cls: type[HostError],
        what: str,
    ) -> NoReturn:
        code = response.status_code
        advice = f"{self.speaker} {what} (HTTP {code})"
        if said:
            errors.fail(cls, advice, code, said)
        errors.fail(cls, f"{advice}; it began: {errors.quote(response.text)}", code)


def wait_from(headers: httpx.Headers) -> float | None:
    """Seconds to wait after a 429: Retry-After, else X-RateLimit-Reset; None if neither."""
    wait = retry_after(headers.get("Retry-After"))
    if wait is None and (reset := reset_at(headers, time.time())) is not None:
        wait = max(0.0, reset - time.time())
    return wait


def text(value: Any) -> str | None:
    """`value` if it is non-empty text, else None: for fields of a reply that may be anything."""
    return value if isinstance(value, str) and value else None


class _NamedErrors(HostErrors):
    """HostErrors whose advice names an option by the environment variable that set it."""

    def __init__(
        self, host: str, secrets: tuple[str | None, ...], origins: Mapping[str, str]
    ) -> None:
        super().__init__(host, secrets)
        self.origins = dict(origins)

    def fail(
        self, cls: type[HostError], message: str, status: int | None, said: str | None = None
    ) -> NoReturn:
        super().fail(cls, named_by_origin(message, self.origins), status, said)

    def rate_limited(
        self, message: str, retry_after: float | None, status: int | None, said: str | None
    ) -> NoReturn:
        super().rate_limited(named_by_origin(message, self.origins), retry_after, status, said)


class KitHost:
    """The common part of a host: its identity, a repr without the secret, errors, sending.

    A subclass sets `type_name`, reads its options, then calls
    `super().__init__(url, secret, http)`; its `upload` uses `send`.
    """

    type_name: ClassVar[str]
    secret_option: ClassVar[str] = "token"  # the option that holds the credential, for repr
    upload_path: ClassVar[str] = "/upload"

    def __init__(
        self,
        url: str,
        secret: str | None,
        http: httpx.Client,
        *,
        also_secret: tuple[str | None, ...] = (),
        origins: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self._has_secret = bool(secret)
        self._http = http
        # The secret lives on in HostErrors alone, which needs it to redact replies.
        secrets = (secret, *also_secret)
        # `origins` (ProfileOptions.origins): options the environment set, named by their
        # variables in the advice, as a user who set LSKY_BASE_URL never wrote 'url'.
        self.errors = (
            _NamedErrors(self.identity, secrets, origins)
            if origins
            else HostErrors(self.identity, secrets)
        )

    def __repr__(self) -> str:
        # Spelled out so the secret can never appear in a repr.
        state = "set" if self._has_secret else "none"
        return f"{type(self).__name__}({self.url!r}, {self.secret_option}={state})"

    @property
    def identity(self) -> str:
        return f"{self.type_name} {self.url}"

    @property
    def max_size(self) -> int | None:
        # Most hosts' limits are admin settings their API does not expose.
        return None

    @staticmethod
    def open(request: UploadRequest) -> IO[bytes]:
        """The bytes to send (the file, or its stripped copy streamed), open; ImageError if
        the file can't be read."""
        try:
            return request.plan.open() if request.plan else request.path.open("rb")
        except OSError as exc:
            raise ImageError(f"{request.path} can't be read: {exc.strerror or exc}") from None

    def send(
        self,
        files: Any,
        *,
        headers: Mapping[str, str],
        data: Mapping[str, str],
        budget: RateBudget | None = None,
        units: int = 1,
    ) -> httpx.Response:
        """POST a multipart upload; timeouts and connection errors become TransientHostError.

        The reply is read within bounds (bounded.py): HostError if it is too large,
        TransientHostError if it is not whole within the deadline. With a `budget`,
        `units` of it are reserved first (RateLimited then means nothing was sent) and
        settled by the reply.
        """
        if budget is not None:
            budget.reserve(units)
        try:
            with self.errors.transport(self.url):
                response = post_bounded(
                    self._http,
                    f"{self.url}{self.upload_path}",
                    headers={"Accept": "application/json", **headers},
                    data=data,
                    files=files,
                    host=self.identity,
                )
        except BaseException:
            if budget is not None:
                budget.settle(units, None)
            raise
        if budget is not None:
            budget.settle(units, response)
        return response

    def read(self, path: str, *, headers: Mapping[str, str]) -> httpx.Response:
        """GET `{url}{path}` once, for a check that uploads nothing (check_access): read
        within the bounds of an upload's reply; timeouts and connection errors become
        TransientHostError. Never retried: a check reports what it found."""
        with self.errors.transport(self.url):
            return get_bounded(
                self._http,
                f"{self.url}{path}",
                headers={"Accept": "application/json", **headers},
                host=self.identity,
            )

    def remove(self, path: str, *, headers: Mapping[str, str]) -> httpx.Response:
        """DELETE `{url}{path}` once, read within bounds like `read`; the caller paces and
        retries."""
        with self.errors.transport(self.url):
            return delete_bounded(
                self._http,
                f"{self.url}{path}",
                headers={"Accept": "application/json", **headers},
                host=self.identity,
            )
