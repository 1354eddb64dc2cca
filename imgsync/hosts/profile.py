"""What the configuration says of a host: its profile and the network settings, nothing more."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class HostProfile:
    """One `[hosts.NAME]` table of the configuration, `${VAR}`s already expanded.

    `options` holds every key but `type`; each host checks its own keys and
    raises ConfigError naming `source` (the config file) and the key.
    """

    name: str
    type: str
    options: Mapping[str, Any]
    source: Path | None = None


@dataclass(frozen=True)
class HttpSettings:
    """Network knobs shared by all hosts."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    write_timeout: float = 60.0
    ca_file: Path | None = None
