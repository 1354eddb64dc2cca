"""What the configuration says of a host: its profile and the network settings, nothing more."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Trusted:
    """What the environment, never the repository, says about hosts (config.py reads it)."""

    variables: Mapping[str, str] = field(default_factory=dict, repr=False)  # for ${VAR}
    pinned_url: str | None = field(default=None, repr=False)  # IMGSYNC_HOST_URL
    allow_http: bool = False  # IMGSYNC_ALLOW_HTTP=1: http:// to hosts off this machine


@dataclass(frozen=True)
class HostProfile:
    """One `[hosts.NAME]` table of the configuration, as written, and what the environment says.

    `options` holds every key but `type`, `${VAR}`s not expanded: each host reads its
    keys through ProfileOptions, which expands them only where a secret belongs (from
    `trusted`) and raises ConfigError naming `source` (the config file) and the key.
    """

    name: str
    type: str
    options: Mapping[str, Any]
    source: Path | None = None
    trusted: Trusted = field(default_factory=Trusted)
    # option -> the environment variable that set it, when no file did (LSKY_BASE_URL made
    # the profile): messages then name the variable, never a key the user never wrote.
    from_environment: Mapping[str, str] = field(default_factory=dict)
    # `serves`: URL prefixes under which the host's images are served (a CDN in front of
    # it, an old domain), normalised by served_prefixes; a reference under one is hosted
    # there even when the cache doesn't know its URL (remote.py).
    serves: tuple[str, ...] = ()
    # `strip_metadata` of this profile ("location", "all", "none"), None: the global one.
    strip_metadata: str | None = None
    # Processing keys of this profile (max_width, convert...: processing.py), checked.
    processing: Mapping[str, Any] = field(default_factory=dict)


def served_prefixes(value: Any) -> tuple[str, ...]:
    """A profile's `serves` value checked and normalised (scheme and host lower-case, the path
    ending in `/`, so `https://cdn.example/i` never covers `https://cdn.example/img/`).
    ValueError says, without quoting a value, what is wrong."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(
            'must be a URL prefix or a list of them, e.g. ["https://cdn.example.com/i/"]'
        )
    prefixes = []
    for text in values:
        parts = urlsplit(text.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("entries must start with http:// or https:// and name a host")
        if "@" in parts.netloc or parts.query or parts.fragment or "?" in text or "#" in text:
            raise ValueError("entries must hold no user name, password, query or fragment")
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            raise ValueError("entries must have a port that is a number") from None
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        prefixes.append(f"{parts.scheme.lower()}://{parts.hostname.lower()}{port}{path}")
    return tuple(dict.fromkeys(prefixes))


def named_by_origin(text: str, variables: Mapping[str, str]) -> str:
    """`text` with each quoted option (`'url'`) that an environment variable set named by
    that variable instead (`LSKY_BASE_URL`)."""
    for key, variable in variables.items():
        text = text.replace(f"'{key}'", variable)
    return text


@dataclass(frozen=True)
class HttpSettings:
    """Network knobs shared by all hosts."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    write_timeout: float = 60.0
    ca_file: Path | None = None
