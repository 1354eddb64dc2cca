"""What the configuration says of a host: its profile and the network settings, nothing more."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
