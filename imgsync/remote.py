"""Remote image references told apart: hosted by one of the project's host profiles, or foreign.

A reference is hosted by a profile when its URL (query and fragment dropped) is one the cache
recorded under that profile's host identity, or when it lies under a URL prefix the profile
declares (`serves = ["https://cdn.example.com/i/"]`). Anything else on http(s) is foreign: a
picture hot-linked from another site. Local references are neither (`ImageRef.is_local`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from .errors import ConfigError
from .hosted_url import rooted_prefix
from .hosts.profile import HostProfile

if TYPE_CHECKING:
    from .config import Settings
    from .scan import ImageRef
    from .state.cache_file import CacheEntry

# Hosts that may store other bytes than those uploaded (PicHub converts to WebP by default):
# their bytes can't be held against the cache's SHA-256.
RE_ENCODING_TYPES = frozenset({"pichub"})


@dataclass(frozen=True)
class HostedBy:
    """The profile a remote reference is hosted by, and what the cache knows of its image."""

    profile: str  # the [hosts.NAME] name
    host_type: str  # "lsky", "pichub", ...
    identity: str  # the cache's host identity ("lsky https://img.example.com/api/v1")
    md5: str | None = None  # None: under a `serves` prefix, unknown to the cache
    entry: CacheEntry | None = None

    @property
    def re_encodes(self) -> bool:
        return self.host_type in RE_ENCODING_TYPES


@dataclass(frozen=True)
class RemoteRef:
    """An http(s) image reference and who hosts it (None: foreign)."""

    ref: ImageRef
    url: str  # absolute: a scheme-relative `//host/x.png` is read as https
    hosted: HostedBy | None

    @property
    def foreign(self) -> bool:
        return self.hosted is None


def absolute_url(url: str) -> str | None:
    """`url` when it is http(s), a `//host/...` one read as https; None for anything else."""
    text = url.strip()
    if text.startswith("//"):
        text = "https:" + text
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        return None
    return text


def bare_url(url: str) -> str:
    """`url` without its query or fragment, scheme and host lower-case: what two spellings
    of one image share."""
    head = url.split("#", 1)[0].split("?", 1)[0]
    scheme, _, rest = head.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


@dataclass(frozen=True)
class ProfileView:
    """What classification needs of a profile: its name, type, identity and prefixes."""

    name: str
    host_type: str
    identity: str | None  # None when it could not be worked out (no url option readable)
    serves: tuple[str, ...] = ()


class RemoteClassifier:
    """Classifies references against the profiles and the cache's entries for them."""

    def __init__(
        self,
        profiles: Iterable[ProfileView],
        entries: Mapping[str, Mapping[str, CacheEntry]],
    ) -> None:
        """`entries`: host identity -> MD5 -> cache entry (UploadCache.entries_for each)."""
        self.profiles = list(profiles)
        self._by_url: dict[str, HostedBy] = {}
        for view in self.profiles:
            if view.identity is None:
                continue
            for md5, entry in entries.get(view.identity, {}).items():
                hosted = HostedBy(view.name, view.host_type, view.identity, md5, entry)
                self._by_url.setdefault(bare_url(entry.url), hosted)

    def classify(self, ref: ImageRef) -> RemoteRef | None:
        """The reference as a remote one, or None when it isn't http(s) (local, data:, ...)."""
        if ref.is_local:
            return None
        url = absolute_url(ref.url)
        if url is None:
            return None
        bare = bare_url(url)
        known = self._by_url.get(bare)
        if known is not None:
            return RemoteRef(ref, url, known)
        for view in self.profiles:
            if any(bare.startswith(prefix) for prefix in view.serves):
                identity = view.identity or view.name
                return RemoteRef(ref, url, HostedBy(view.name, view.host_type, identity))
        return RemoteRef(ref, url, None)


def rooted_prefixes(profiles: Mapping[str, HostProfile]) -> tuple[str, ...]:
    """The root-relative prefixes under which a folder of the site serves its images: a
    `folder` profile's `url` when it is one ("/images/"). A reference under one is hosted
    there: the file is already in place, so it is never a local image to upload."""
    found = []
    for profile in profiles.values():
        url = profile.options.get("url")
        if profile.type == "folder" and isinstance(url, str):
            prefix = rooted_prefix(url.strip())
            if prefix is not None:
                found.append(prefix)
    return tuple(sorted(set(found)))


def profile_views(settings: Settings) -> list[ProfileView]:
    """Every profile of the settings with its host identity, worked out without needing its
    token (a scheduled `verify` may run without one)."""
    from .config import resolve_host

    return [_view(resolve_host(settings, name)) for name in sorted(settings.hosts)]


def _view(profile: HostProfile) -> ProfileView:
    return ProfileView(profile.name, profile.type, _identity(profile), profile.serves)


def _identity(profile: HostProfile) -> str | None:
    """The identity the host would have: built by the host itself where its options allow
    (no network is touched), else as its class tells from the options without the secret
    (S3), else its type and `url` as written."""
    from .hosts import create_host
    from .hosts.base import HttpSettings, make_http_client

    try:
        with make_http_client(HttpSettings()) as http:
            return create_host(profile, http).identity
    except ConfigError:
        return offline_identity(profile)


def offline_identity(profile: HostProfile) -> str | None:
    """The identity worked out without the host (its token may be missing): the host
    class's own `identity_of` where it has one (S3), else its type and `url` as written;
    None when the url is not written out. A guess that only ever costs a cache miss: a
    host whose identity is spelt otherwise finds nothing under it."""
    from .hosts import identity_without_secrets
    from .hosts.variables import expand_whole

    if (known := identity_without_secrets(profile)) is not None:
        return known

    def unusable(problem: str) -> NoReturn:
        raise ConfigError(problem)

    url = profile.options.get("url")
    if not isinstance(url, str):
        return None
    try:  # a whole `${VAR}` is read from the environment, as the host reads it
        url = expand_whole(url, "url", profile.trusted.variables, unusable)
    except ConfigError:
        return None
    return f"{profile.type} {url.strip().rstrip('/')}" if url.strip() else None
