"""The registry of image hosts: type name -> class, imported only when used.

A host of another package joins through the entry-point group `imgsync.hosts`:

    [project.entry-points."imgsync.hosts"]
    myhost = "my_package.my_module:MyHost"

Built-in type names win over outside ones of the same name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    import httpx

    from .base import Host, HostProfile

# Sorted by type name. A new host is one module plus one line here.
BUILTIN_HOSTS: dict[str, str] = {
    "chevereto": "imgsync.hosts.chevereto:CheveretoHost",
    "command": "imgsync.hosts.command:CommandHost",
    "folder": "imgsync.hosts.folder:FolderHost",
    "github": "imgsync.hosts.github:GitHubHost",
    "lsky": "imgsync.hosts.lsky:LskyHost",
    "picgo": "imgsync.hosts.picgo:PicGoHost",
    "pichub": "imgsync.hosts.pichub:PicHubHost",
    "s3": "imgsync.hosts.s3:S3Host",
}


ENTRY_POINT_GROUP = "imgsync.hosts"


def _outside_hosts() -> dict[str, str]:
    from importlib.metadata import entry_points  # slow to import: only when a host is made

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def host_types() -> list[str]:
    """The type names a profile may use: the built-in ones and those of installed packages."""
    return sorted(set(BUILTIN_HOSTS) | set(_outside_hosts()))


def identity_without_secrets(profile: HostProfile) -> str | None:
    """The identity of a profile's host when the host can't be built (its secret is not in
    the environment: a scheduled `verify`), from the class's `identity_of(profile)` where it
    has one; None when it has none or the options don't tell."""
    target = BUILTIN_HOSTS.get(profile.type)
    if target is None:
        return None
    module_name, _, class_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        return None
    identity_of = getattr(cls, "identity_of", None)
    if identity_of is None:
        return None
    try:
        known: str | None = identity_of(profile)
    except ConfigError:
        return None
    return known


def create_host(profile: HostProfile, http: httpx.Client) -> Host:
    """Build the host a profile describes; ConfigError if its type is unknown or won't load.

    The generic `album` option is checked and left out: albums.py finds the album by
    name for the runs that upload (create_upload_host).
    """
    from .album_option import split_album

    profile, _album = split_album(profile)
    target = BUILTIN_HOSTS.get(profile.type) or _outside_hosts().get(profile.type)
    if target is None:
        known = ", ".join(host_types())
        raise ConfigError(
            f"host profile {profile.name!r} has type {profile.type!r}; known types: {known}",
            profile.source,
        )
    module_name, _, class_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ConfigError(
            f"host type {profile.type!r} ({target}) could not be loaded: {error}", profile.source
        ) from None
    host: Host = cls(profile, http)
    return host
