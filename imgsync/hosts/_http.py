"""What every HTTP host needs around a request: secrets kept out of errors, replies read safely."""

from __future__ import annotations

import json
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx

from ..errors import HostError, HostUnreachable, RateLimited, TransientHostError
from .host_url import redact_url

QUOTE_LIMIT = 200  # characters of a reply body worth showing in an error
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class HostErrors:
    """Builds a host's errors: each one names the host, and no secret survives into its text."""

    def __init__(self, host: str, secrets: tuple[str | None, ...] = ()) -> None:
        self.host = host  # the host's identity, which never holds a secret
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __repr__(self) -> str:
        return f"HostErrors({self.host!r}, {len(self._secrets)} secret(s))"

    def redact(self, text: str) -> str:
        # A server's debug page may echo request headers or fields back; never pass them on.
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def quote(self, text: str) -> str:
        """The start of a reply body on one line, redacted and quoted, for an error message."""
        flat = " ".join(self.redact(text).split())
        if not flat:
            return "''"
        return repr(flat[:QUOTE_LIMIT] + ("…" if len(flat) > QUOTE_LIMIT else ""))

    def fail(
        self, cls: type[HostError], message: str, status: int | None, said: str | None = None
    ) -> NoReturn:
        """Raise `cls` with our advice and the host's own words, both redacted."""
        raise cls(
            self.redact(message),
            host=self.host,
            status=status,
            host_message=self.redact(said) if said else None,
        )

    def rate_limited(
        self, message: str, retry_after: float | None, status: int | None, said: str | None
    ) -> NoReturn:
        raise RateLimited(
            self.redact(message),
            retry_after=retry_after,
            host=self.host,
            status=status,
            host_message=self.redact(said) if said else None,
        )

    @contextmanager
    def transport(self, where: str) -> Iterator[None]:
        """Turn httpx's timeouts and connection errors into HostErrors: HostUnreachable when no
        connection could be made, TransientHostError when one was made and then failed.

        `where` (a URL) is shown without user name, password, query or fragment.
        """
        where = redact_url(where)
        try:
            yield
        except httpx.ConnectTimeout:
            # `from None`: httpx errors hold the request, and so its secret headers and fields.
            raise HostUnreachable(
                f"could not reach {where}: no connection within connect_timeout",
                worth_retrying=True,
                host=self.host,
            ) from None
        except httpx.TimeoutException:
            raise TransientHostError(f"{where} did not answer in time", host=self.host) from None
        except httpx.ConnectError as exc:
            raise self._unreachable(where, exc) from None
        except httpx.HTTPError as exc:
            reason = self.redact(str(exc)) or type(exc).__name__
            raise TransientHostError(f"could not reach {where}: {reason}", host=self.host) from None

    def _unreachable(self, where: str, exc: httpx.ConnectError) -> HostUnreachable:
        """What kept the connection from being made, said plainly; whether trying again can help."""
        cause = _root_cause(exc)
        reason = self.redact(str(exc)) or type(exc).__name__
        if isinstance(cause, socket.gaierror):
            hostname = urlsplit(where).hostname or where
            if cause.errno == socket.EAI_AGAIN:
                said = "the name server did not answer (are you offline?)"
            else:
                said = "no such host name"
            message = f"could not reach {where}: {said}; looking up {hostname!r} failed ({reason})"
            return HostUnreachable(message, worth_retrying=False, host=self.host)
        if isinstance(cause, ssl.SSLCertVerificationError):
            message = (
                f"could not reach {where}: its TLS certificate did not verify ({reason}); if the "
                "host uses a private CA, set ca_file"
            )
            return HostUnreachable(message, worth_retrying=False, host=self.host)
        if isinstance(cause, ssl.SSLError):
            message = f"could not reach {where}: the TLS handshake failed ({reason})"
            return HostUnreachable(message, worth_retrying=False, host=self.host)
        if isinstance(cause, ConnectionRefusedError):
            message = f"could not reach {where}: the connection was refused (is the host down?)"
            return HostUnreachable(message, worth_retrying=True, host=self.host)
        return HostUnreachable(
            f"could not reach {where}: {reason}", worth_retrying=True, host=self.host
        )


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception httpx wrapped: the socket's or ssl's own error."""
    seen = {id(exc)}
    while True:
        inner = exc.__cause__ or exc.__context__
        if inner is None or id(inner) in seen:
            return exc
        seen.add(id(inner))
        exc = inner


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The reply body as a JSON object, or None when it is anything else."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):  # RecursionError: a hostile reply nested deep
        return None
    return body if isinstance(body, dict) else None


# A number in a header or setting: ASCII digits only (str.isdecimal also takes "²"-like and
# other scripts' digits), and few enough of them that no hostile header reaches Python's
# limit on converting long digit strings (a ValueError past 4,300 digits). 15 digits is
# more than any count of seconds, bytes or requests needs.
MAX_DIGITS = 15
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")
_DATE_LIMIT = 64  # characters: an HTTP date is 29


def ascii_whole(text: str) -> int | None:
    """`text` (spaces around allowed) as a whole number of ASCII digits; None for anything
    else, including more than MAX_DIGITS digits."""
    text = text.strip()
    return int(text) if _DIGITS.fullmatch(text) else None


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    seconds = ascii_whole(value)
    if seconds is not None:
        return float(seconds)
    if len(value) > _DATE_LIMIT:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a year of many digits
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def whole_number(value: object) -> int | None:
    """A whole number from a header, or from a setting (a number, or text: `${VAR}` expands to
    text); None for anything else, bools included. Text must be ASCII digits, at most
    MAX_DIGITS of them."""
    if isinstance(value, str):
        return ascii_whole(value)
    return value if type(value) is int else None
