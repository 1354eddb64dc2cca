"""Host URLs a secret may be sent to: https (http on loopback), nothing that can carry a secret."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from ..environment import ALLOW_HTTP_VARIABLE
from ..hosted_url import is_loopback

# Both are read from the environment only (config.py): a pull request can't set them.


def url_problem(url: str, *, allow_http: bool) -> str | None:
    """Why `url` can't be a host's API base, in words that never quote it; None if it can."""
    if not url.isprintable() or any(char.isspace() for char in url):
        return "holds spaces or control characters"
    parts = _split(url)
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "must start with http:// or https:// and name a host"
    if not _name_can_exist(parts.hostname):
        return (
            "names a host that can't exist (an empty part, as in a..b, or a part over 63"
            " characters)"
        )
    if "@" in parts.netloc:
        # A password here would be sent to the host and printed in errors and the cache.
        return "must not hold a user name or password (user:pass@); the credential has its own key"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return "must not hold a query (?...) or a fragment (#...); the credential has its own key"
    if parts.scheme.lower() == "http" and not allow_http and not is_loopback(parts.hostname):
        return (
            "uses http:// for a host that is not this machine, so the token would travel "
            f"unencrypted: use https://, or set {ALLOW_HTTP_VARIABLE}=1 in the environment"
        )
    return None


def same_url(one: str, other: str) -> bool:
    """Whether two API bases name the same place (scheme and host case, a final slash ignored)."""
    return _normal(one) == _normal(other)


def redact_url(url: str) -> str:
    """`url` fit to print: without user name, password, query or fragment."""
    parts = _split(url)
    if parts is None:
        return "(an unreadable URL)"
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    port = parts.port
    netloc = f"{host}:{port}" if port is not None else host
    scheme = f"{parts.scheme}:" if parts.scheme else ""
    return f"{scheme}//{netloc}{parts.path}" if netloc or parts.scheme else parts.path


def _normal(url: str) -> str:
    parts = _split(url.strip())
    if parts is None:
        return url
    netloc = parts.netloc.lower()
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


def _name_can_exist(hostname: str) -> bool:
    """Whether a resolver can be asked for `hostname`: its IDNA form is what a lookup sends,
    and a name that has none raised UnicodeError from deep in the HTTP client."""
    try:
        hostname.encode("idna")
    except UnicodeError:
        return False
    return True


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        _ = parts.port  # urlsplit checks a port only when asked
    except ValueError:
        return None
    return parts
