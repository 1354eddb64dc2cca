"""`${VAR}` in host options: expanded only where a secret belongs, refused everywhere else.

A repository's config is not trusted (a pull request writes it), so it may name an
environment variable only where the value goes where the environment's secrets go
anyway: a secret option (its token or key), or a URL that is one variable whole (CI
pins the host from a secret). Anywhere else a variable could carry any environment
value to the host, in a form field or in a URL's path, so naming one is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")
_WHOLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Raises a ConfigError naming the file and the profile; the problem names the key.
Complain = Callable[[str], NoReturn]

_BROKEN = "has a `${` that is not a ${NAME} reference (write `$${` for a literal `${`)"
_ONLY_SECRETS = (
    ", but variables are expanded only in a secret option (the token or key) and in a URL given "
    "whole, so that a repository's config can't send environment values anywhere else "
    "(write `$${` for a literal `${`)"
)
_URL_WHOLE = (
    " inside a longer value: a URL may come from the environment only whole, as "
    'url = "${NAME}", so that no environment value is put into a URL sent to a host'
)


def expand_secret(value: str, key: str, env: Mapping[str, str], complain: Complain) -> str:
    """`value` with every ${VAR} read from `env` and `$${` as a literal `${`."""

    def read(var: str) -> str:
        if var not in env:
            # Name the variable, never a value.
            complain(f"{key!r} uses ${{{var}}}, but the environment variable {var} is not set")
        return env[var]

    return _substitute(value, key, complain, read)


def expand_whole(value: str, key: str, env: Mapping[str, str], complain: Complain) -> str:
    """`value` read from `env` when it is one ${VAR} whole; otherwise a literal."""
    whole = _WHOLE.fullmatch(value.strip())
    if whole is None:
        text: str = literal(value, key, complain, why=_URL_WHOLE)
        return text
    return expand_secret(whole.group(), key, env, complain)


def literal(value: Any, key: str, complain: Complain, *, why: str = _ONLY_SECRETS) -> Any:
    """`value` (nested lists and tables too) with `$${` as `${`; a ${VAR} in it is refused."""
    if isinstance(value, list):
        return [literal(item, key, complain, why=why) for item in value]
    if isinstance(value, dict):
        return {k: literal(v, f"{key}.{k}", complain, why=why) for k, v in value.items()}
    if not isinstance(value, str) or "${" not in value:
        return value

    def refuse(var: str) -> NoReturn:
        complain(f"{key!r} names the variable ${{{var}}}{why}")

    return _substitute(value, key, complain, refuse)


def _substitute(value: str, key: str, complain: Complain, variable: Callable[[str], str]) -> str:
    """`value` with `$${` as a literal `${`, each ${VAR} as `variable(VAR)` says, and a
    stray `${` refused."""

    def one(match: re.Match[str]) -> str:
        var = match.group(1)
        if match.group() == "$${":
            return "${"
        if var is None:
            complain(f"{key!r} {_BROKEN}")
        return variable(var)

    return _REFERENCE.sub(one, value)
