"""Downloading an image URL with the Markdown's distrust: bounded, hand-redirected, address-checked.

Every URL `verify` (and later `migrate`, `restore`, `adopt`) fetches comes from files a pull
request may have written, so a download:

- never connects to a loopback, private, link-local, metadata or otherwise non-global
  address unless `allow_private` says so: the host name is resolved here, every address it
  has is checked, and the connection goes to the checked address (the URL's host kept in the
  `Host` header and the TLS server name), so a second DNS answer can't swap it (rebinding);
- follows at most `max_redirects` redirects, each checked the same way, by hand: headers
  that carry credentials (`Authorization`, `Cookie`) are dropped once the origin changes,
  and the client's cookie jar is never sent;
- reads at most `limit` bytes (streamed: reading stops past the cap) and takes at most
  `deadline` seconds in all, redirects included (a watchdog cuts a drip).

Statuses are returned, not raised: a 404 is an answer `verify` reports. DownloadError is
raised when no answer could be had (refused address, too large, too slow, unreachable).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import DownloadError
from ..images import sniff_image_type
from ..sizes import human_size
from .bounded import _watchdog
from .host_url import redact_url

MAX_REDIRECTS = 5
HEAD_BYTES = 4096  # enough to sniff any image type imgsync knows (an SVG's root included)
_CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
Resolver = Callable[[str, int], list[str]]
ADDRESS_RULE = (
    "imgsync never downloads from loopback, private, link-local or cloud-metadata addresses "
    "unless explicitly allowed, so that a pull request can't make CI fetch internal URLs"
)


@dataclass(frozen=True)
class Fetched:
    """What a URL answered, after the redirects followed."""

    url: str  # where the answer came from (the last redirect's target)
    status: int
    content_type: str  # lower-case, parameters dropped; "" when not said
    body: bytes  # the whole body, or its first `head` bytes when asked for a head only
    redirects: tuple[str, ...] = ()  # the URLs redirected to, in order
    location: str = ""  # a redirect's target left unfollowed (max_redirects reached)
    retry_after: str = ""  # the Retry-After header, for a 429 or a 503

    def image_type(self) -> str | None:
        """The MIME type the body's bytes show, or None if they are no image."""
        sniffed = sniff_image_type(self.body)
        return sniffed[1] if sniffed else None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), as text."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_refused(address: str) -> bool:
    """Whether the address rule refuses `address`: anything but a global unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def fetch(
    http: httpx.Client,
    url: str,
    *,
    limit: int,
    deadline: float,
    head: int | None = None,
    allow_private: bool = False,
    headers: Mapping[str, str] | None = None,
    max_redirects: int = MAX_REDIRECTS,
    resolve: Resolver = system_resolver,
) -> Fetched:
    """GET `url` within the bounds above. `head`: only the first `head` bytes are wanted (a
    ranged GET; a server that ignores the range is cut off there). DownloadError if no
    answer could be had."""
    until = time.monotonic() + deadline
    sent = {"User-Agent": "imgsync", "Accept": "image/*", **(headers or {})}
    if head is not None:
        sent["Range"] = f"bytes=0-{head - 1}"
    redirects: list[str] = []
    current = _parsed(url)
    while True:
        try:
            response = _one(http, current, sent, allow_private, until, deadline, resolve)
        except UnicodeError:  # a host name IDNA can't encode (`xn--`)
            raise DownloadError("names a host that can't exist", url=redact_url(url)) from None
        try:
            location = response.headers.get("Location", "")
            if response.status_code not in _REDIRECTS or not location:
                # Only a 2xx body is the image; of an error page its start is enough.
                whole = head is None and 200 <= response.status_code < 300
                wanted = limit if whole else (head or HEAD_BYTES)
                body = _read(response, wanted, whole, until, redact_url(url))
                return Fetched(
                    str(current),
                    response.status_code,
                    _content_type(response),
                    body,
                    tuple(redirects),
                    retry_after=response.headers.get("Retry-After", ""),
                )
        finally:
            response.close()
        target = _parsed(location, current)
        if len(redirects) >= max_redirects:
            status = response.status_code
            return Fetched(str(current), status, "", b"", tuple(redirects), str(target))
        if target.scheme not in ("http", "https") or not target.host:
            raise DownloadError(
                "redirected to something that is not an http(s) URL", url=redact_url(url)
            )
        if _origin(target) != _origin(current):  # credentials stay with their origin
            sent = {k: v for k, v in sent.items() if k.lower() not in _CREDENTIALS}
        redirects.append(str(target))
        current = target


def download_image(
    http: httpx.Client,
    url: str,
    *,
    limit: int,
    deadline: float,
    allow_private: bool = False,
    resolve: Resolver = system_resolver,
) -> tuple[bytes, str]:
    """The whole image at `url` and its MIME type (sniffed from the bytes); DownloadError if
    the answer is not a 2xx image."""
    fetched = fetch(
        http, url, limit=limit, deadline=deadline, allow_private=allow_private, resolve=resolve
    )
    shown = redact_url(url)
    if not 200 <= fetched.status < 300:
        raise DownloadError(f"the server answered HTTP {fetched.status}", url=shown)
    mime = fetched.image_type()
    if mime is None:
        said = (
            f", though the server calls it {fetched.content_type}" if fetched.content_type else ""
        )
        start = fetched.body[:16]
        raise DownloadError(
            f"the reply is not an image (its bytes start {start!r}{said})", url=shown
        )
    return fetched.body, mime


def _one(
    http: httpx.Client,
    url: httpx.URL,
    headers: Mapping[str, str],
    allow_private: bool,
    until: float,
    deadline: float,
    resolve: Resolver,
) -> httpx.Response:
    """One request, sent to an address that passed the rule; the reply's body not read yet."""
    shown = redact_url(str(url))
    if url.scheme not in ("http", "https") or not url.host:
        raise DownloadError("is not an http(s) URL", url=shown)
    if url.userinfo:  # httpx would send it as Basic credentials: not ours to send
        raise DownloadError("holds a user name or password; imgsync sends none", url=shown)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = resolve(url.host, port)
        refused = [a for a in addresses if address_refused(a)]
    except (OSError, UnicodeError, ValueError) as error:
        raise DownloadError(f"looking up {url.host!r} failed ({error})", url=shown) from None
    if not addresses:
        raise DownloadError(f"{url.host!r} has no address", url=shown)
    if not allow_private and refused:
        said = refused[0] if refused[0] == url.host else f"{url.host!r} is at {refused[0]}, which"
        raise DownloadError(
            f"{said} is not a public address: {ADDRESS_RULE}",
            url=shown,
            refused_address=True,
        )
    address = addresses[0]
    sent = dict(headers)
    sent["Host"] = url.netloc.decode("ascii")
    extensions: dict[str, Any] = {}
    if url.scheme == "https":
        extensions["sni_hostname"] = url.host
    left = until - time.monotonic()
    if left <= 0:
        raise DownloadError(f"no answer within {deadline:g}s", url=shown)
    # Built by hand, not with http.build_request: the client's cookies and headers stay out.
    request = httpx.Request("GET", url.copy_with(host=address), headers=sent, extensions=extensions)
    request.extensions["timeout"] = httpx.Timeout(min(left, _timeout(http))).as_dict()
    try:
        return http.send(request, stream=True)
    except httpx.TimeoutException:
        raise DownloadError(f"no answer within {deadline:g}s", url=shown) from None
    except httpx.HTTPError as error:
        raise DownloadError(f"could not be reached ({type(error).__name__})", url=shown) from None


def _read(response: httpx.Response, limit: int, whole: bool, until: float, shown: str) -> bytes:
    """At most `limit` bytes of the body; past them a DownloadError if the whole was wanted."""
    announced = response.headers.get("Content-Length", "").strip()
    if whole and announced.isdecimal() and int(announced) > limit:
        raise DownloadError(
            f"is {human_size(int(announced))}, above the cap of {human_size(limit)}",
            url=shown,
            too_large=True,
        )
    body = bytearray()
    seconds = max(0.0, until - time.monotonic())
    with _watchdog(response, seconds) as fired:
        try:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    if not whole:
                        return bytes(body[:limit])
                    raise DownloadError(
                        f"is larger than the cap of {human_size(limit)}", url=shown, too_large=True
                    )
                if time.monotonic() > until:
                    break
        except httpx.HTTPError:
            if not fired.is_set():
                raise DownloadError("the connection broke while reading", url=shown) from None
    if fired.is_set() or time.monotonic() > until:
        raise DownloadError("the reply was not whole within the deadline", url=shown)
    return bytes(body)


def _parsed(url: str, base: httpx.URL | None = None) -> httpx.URL:
    """`url` (joined to `base`, a redirect's Location) as httpx reads it; DownloadError if it
    can't be read: a pull request's Markdown may hold anything."""
    try:
        return base.join(url) if base is not None else httpx.URL(url)
    except (httpx.InvalidURL, ValueError, UnicodeError):
        raise DownloadError("is not a URL that can be fetched", url=redact_url(url)) from None


def _timeout(http: httpx.Client) -> float:
    read = http.timeout.read
    return read if read is not None and read > 0 else 60.0


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = 443 if url.scheme == "https" else 80
    return url.scheme, url.host.lower(), url.port or default


def _content_type(response: httpx.Response) -> str:
    said: str = response.headers.get("Content-Type", "")
    return said.partition(";")[0].strip().lower()
