"""What a hosted image URL must be before it enters Markdown or the cache: the one check for both.

A host's reply and a committed cache are input (a hostile host, a pull request), and what
they name ends up in `<img src>` or a Markdown destination. So only an absolute https://
URL with a host gets in (http:// only where `allow_http` says so), and nothing in it may
break out of a destination, a tag or a log line.

One exception: a folder of the site itself (`type = "folder"` with `url = "/images/"`) is
served by the site under a root-relative path, its identity's URL ("folder /images/"). Its
uploads' URLs are root-relative paths under that one prefix, and nothing else.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import urlsplit

MAX_LENGTH = 4096  # no host serves image URLs longer than this; a longer one is a payload
QUOTE_LENGTH = 80  # characters of a refused URL worth quoting in a message
# Printable ASCII that RFC 3986 never allows in a URL and HTML or Markdown read specially.
_FORBIDDEN = frozenset(' "<>\\^`{|}')
# The ASCII characters `_refused_char` refuses: the controls and DEL (not printable), and
# _FORBIDDEN. A cache holds thousands of URLs, nearly all ASCII: one search each in C.
_ASCII_REFUSED = re.compile(r'[\x00-\x20\x7f"<>\\^`{|}]')
# Second-level labels under which a country's registrable domains sit (example.co.uk).
_SHARED_SECOND_LEVEL = frozenset({"ac", "co", "com", "edu", "gov", "ne", "net", "or", "org"})


def url_problem(url: object, *, allow_http: bool, rooted_under: str | None = None) -> str | None:
    """Why `url` can't be used as a hosted image's URL, or None when it can.

    `allow_http` lets plain http:// through; the caller decides it (see http_allowed).
    `rooted_under` (rooted_base of the host's identity): the URL must instead be a plain
    root-relative path under that prefix.
    """
    if not isinstance(url, str):
        return "it is not text"
    if not url:
        return "it is empty"
    if len(url) > MAX_LENGTH:
        return f"it is longer than {MAX_LENGTH} characters"
    check = _remembered_problem if len(url) <= _REMEMBERED_LENGTH else _text_problem
    return check(url, allow_http, rooted_under)


def _text_problem(url: str, allow_http: bool, rooted_under: str | None) -> str | None:
    if (char := _refused_char(url)) is not None:
        return f"it holds {_name(char)}, which can't stand in a URL"
    if rooted_under is not None:
        return _rooted_problem(url, rooted_under)
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return "it is not a well-formed URL"
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme.lower() not in schemes:
        if parts.scheme.lower() == "http":
            return "it is plain http://, allowed only for a host on this machine (loopback)"
        if not parts.scheme:
            return "it is not an absolute URL (it has no https:// scheme)"
        return f"its scheme is {parts.scheme}:, not https:"
    if not parts.netloc or not parts.hostname:
        return "it names no host"
    if "@" in parts.netloc:
        return "it holds user info (user@host)"
    if not port_ok:
        return "its port is not valid"
    return None


# A cache is read with its journal, which repeats each of its URLs: each is checked once a
# run. Only URLs of a real host's length are kept, so that what a hostile cache holds
# can't keep the memo large (at most 32,768 x 512 characters) in a long `watch`.
_REMEMBERED_LENGTH = 512
_remembered_problem = functools.lru_cache(maxsize=1 << 15)(_text_problem)


def _refused_char(url: str) -> str | None:
    """The first character of `url` that can't stand in a URL, or None."""
    if url.isascii():
        found = _ASCII_REFUSED.search(url)
        return None if found is None else found.group()
    for char in url:
        # isprintable() is False for control, format (bidi overrides, zero-width) and
        # separator characters; space and the characters below are printable but unsafe.
        if not char.isprintable() or char in _FORBIDDEN:
            return char
    return None


def rooted_prefix(text: str) -> str | None:
    """`text` as a root-relative URL prefix ending in `/` ("/images" -> "/images/"), or None
    when it is not a plain root-relative path (absolute, `//host`, a query, `..`, a space)."""
    if not text.startswith("/") or text.startswith("//") or len(text) > MAX_LENGTH:
        return None
    if any(not c.isprintable() or c in _FORBIDDEN or c in "?#%" for c in text):
        return None
    segments = text.split("/")[1:]
    if any(segment in (".", "..") for segment in segments) or "" in segments[:-1]:
        return None
    return text if text.endswith("/") else text + "/"


def rooted_base(identity: str) -> str | None:
    """The root-relative prefix a host serves its images under ("/images/" for the identity
    "folder /images/"); None for a host with an absolute URL."""
    base = base_url_of(identity)
    return base if rooted_prefix(base) == base else None


def _rooted_problem(url: str, prefix: str) -> str | None:
    if not url.startswith(prefix) or url == prefix:
        return f"it is not a path under {prefix}, where this host's images are served"
    if rooted_prefix(url.split("?", 1)[0].split("#", 1)[0]) is None:
        return "it is not a plain root-relative path (no `//`, `.` or `..` segments)"
    return None


def http_allowed(base_url: str | None) -> bool:
    """Whether a host configured at `base_url` may send http:// URLs: only on loopback.

    A host on this machine (the fakes and the tests; a developer's local Lsky) serves
    http, and no one else can see or change what it sends. Anywhere else http:// would
    put a URL an attacker on the path may rewrite into the Markdown.
    """
    if not base_url:
        return False
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() == "http" and bool(host) and is_loopback(host or "")


def is_loopback(hostname: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: the only hosts plain http stays on."""
    if hostname.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def base_url_of(identity: str) -> str:
    """The URL part of a host identity ("lsky https://img.example.com/api/v1")."""
    return identity.partition(" ")[2]


# Hosts whose API runs on this machine while their images live elsewhere: PicGo's server
# hands each upload to a picbed on the internet. Their loopback URL vouches for nothing.
_RELAY_TYPES = ("picgo",)


def identity_allows_http(identity: str) -> bool:
    """Whether the host of `identity` may give http:// URLs off this machine: when its API is
    http on loopback (http_allowed), unless it only relays to hosts elsewhere (PicGo). A
    committed cache is read with this, so a pull request can't slip http:// links in under
    a PicGo profile's loopback URL."""
    if identity.partition(" ")[0] in _RELAY_TYPES:
        return False
    return http_allowed(base_url_of(identity))


def quoted(url: object) -> str:
    """`url` for a message: escaped (repr) and shortened."""
    if not isinstance(url, str):
        return f"({type(url).__name__})"
    if len(url) > QUOTE_LENGTH:
        return repr(url[:QUOTE_LENGTH]) + "…"
    return repr(url)


def site(url: str) -> str:
    """The registrable part of a URL's host ("example.com" for https://img.cdn.example.com/x),
    by a rule of thumb (no public suffix list): the last two labels, three under co.uk & co."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    labels = host.split(".")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    keep = 2
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SHARED_SECOND_LEVEL:
        keep = 3
    return ".".join(labels[-keep:])


def _name(char: str) -> str:
    if char == " ":
        return "a space"
    if char in _FORBIDDEN:
        return f"the character {char!r}"
    return f"the character U+{ord(char):04X}"
