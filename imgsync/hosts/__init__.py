"""The registry of image hosts: type name -> class, imported only when used."""

from __future__ import annotations

import importlib

import httpx

from ..errors import ConfigError
from .base import Host, HostProfile

# Sorted by type name. A new host is one module plus one line here.
BUILTIN_HOSTS: dict[str, str] = {
    "chevereto": "imgsync.hosts.chevereto:CheveretoHost",
    "lsky": "imgsync.hosts.lsky:LskyHost",
}


def host_types() -> list[str]:
    """The type names a profile may use."""
    return sorted(BUILTIN_HOSTS)


def create_host(profile: HostProfile, http: httpx.Client) -> Host:
    """Build the host a profile describes; ConfigError if its type is unknown."""
    target = BUILTIN_HOSTS.get(profile.type)
    if target is None:
        known = ", ".join(host_types())
        raise ConfigError(
            f"host profile {profile.name!r} has type {profile.type!r}; known types: {known}",
            profile.source,
        )
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    host: Host = cls(profile, http)
    return host
