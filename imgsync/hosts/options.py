"""Reading a host profile's options: known keys only, typed getters, errors naming file and key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

from ..errors import ConfigError
from ._http import whole_number
from .profile import HostProfile

_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class ProfileOptions:
    """One profile's options, checked as a host reads them.

    Every complaint is a ConfigError naming the file (`profile.source`), the profile
    and the key. Values may be text where a number is meant: `${VAR}` expansion
    always yields text. A secret's value is never quoted.
    """

    def __init__(self, profile: HostProfile, known: Iterable[str]) -> None:
        self.profile = profile
        self.known = sorted(known)
        for key in profile.options:
            if key not in self.known:
                known_keys = ", ".join(self.known)
                self.bad(f"unknown key {key!r} for type {profile.type} (known: {known_keys})")

    def __contains__(self, key: str) -> bool:
        return key in self.profile.options

    def raw(self, key: str, default: Any = None) -> Any:
        """The value as configured, unchecked; for a check only one host makes."""
        return self.profile.options.get(key, default)

    def bad(self, problem: str) -> NoReturn:
        raise ConfigError(f"host profile {self.profile.name!r}: {problem}", self.profile.source)

    def url(
        self,
        key: str = "url",
        *,
        example: str | None = None,
        default: str | None = None,
        no_query: str | None = None,
    ) -> str:
        """An http(s) URL without its trailing slash: required (say an `example`) or `default`.

        With `no_query` (where the credential goes instead), a query or fragment is refused.
        """
        value = self.raw(key, default)
        if default is None and (not isinstance(value, str) or not value.strip()):
            self.bad(f"{key!r} is required, e.g. {example!r}")
        if not isinstance(value, str) or not value.strip().startswith(("http://", "https://")):
            if default is not None:
                self.bad(
                    f"{key!r} must be the API base, starting with http:// or https://: {default!r}"
                )
            self.bad(f"{key!r} must start with http:// or https://")
        url = value.strip().rstrip("/")
        if no_query is not None and ("?" in url or "#" in url):
            self.bad(f"{key!r} must not hold a query or fragment; {no_query}")
        return url

    def secret(self, key: str, *, what: str, hint: str) -> str:
        """A required credential; `what` names its kind ("a token"), `hint` where to get it."""
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            self.bad(f"{key!r} is required (is its variable set?): {hint}")
        return self._clean_secret(key, value, what)

    def optional_secret(self, key: str, *, what: str, if_empty: str) -> str | None:
        """A credential that may be left out; `if_empty` says what leaving it out does."""
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.bad(f"{key!r} must be a string")
        if not value.strip():
            self.bad(f"{key!r} is empty (is its variable set?); {if_empty}")
        return self._clean_secret(key, value, what)

    def _clean_secret(self, key: str, value: str, what: str) -> str:
        # The value is never quoted in these messages: it is a secret.
        value = value.strip()
        if not value.isascii() or not value.isprintable() or " " in value:
            self.bad(f"{key!r} holds spaces or characters {what} can't have")
        return value

    def whole(
        self,
        key: str,
        *,
        low: int = 1,
        high: int | None = None,
        default: int | None = None,
        why: str = "",
    ) -> int | None:
        """A whole number from `low` (to `high`), or `default` when the key is absent."""
        if key not in self:
            return default
        number = whole_number(self.raw(key))
        if number is None or number < low or (high is not None and number > high):
            if high is None:
                self.bad(f"{key!r} must be a positive whole number")
            self.bad(f"{key!r} must be a whole number from {low} to {high}{why}")
        return number

    def text(self, key: str, *, message: str | None = None, least: float | None = None) -> str:
        """Non-empty text, stripped; with `least`, also a whole number of at least that."""
        value = self.raw(key)
        if not (isinstance(value, str) and value.strip()):
            number = None if isinstance(value, str) else whole_number(value)
            if least is None or number is None or number < least:
                self.bad(message or f"{key!r} must be a non-empty string")
        return str(value).strip()

    def flag(self, key: str, *, why: str = "") -> bool | None:
        """true/false, 1/0 or yes/no (as text or not); None when the key is absent."""
        if key not in self:
            return None
        word = _word(self.raw(key), bool)
        if word not in _FLAGS:
            self.bad(f"{key!r} must be true or false{why}")
        return _FLAGS[word]

    def choice(
        self, key: str, choices: Mapping[str, str] | Sequence[str], *, message: str | None = None
    ) -> str:
        """One of `choices` (case ignored); a mapping turns the word into what to send."""
        word = _word(self.raw(key), int)
        if word not in choices:
            self.bad(message or f"{key!r} must be one of {', '.join(choices)}")
        return choices[word] if isinstance(choices, Mapping) else word

    def comma_list(self, key: str, *, reason: str) -> list[str]:
        """A list of strings or one comma-separated string; `reason` why commas can't be in one."""
        value = self.raw(key)
        if isinstance(value, str):
            items = [item.strip() for item in value.split(",")]
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            if any("," in item for item in value):
                self.bad(f"{key!r} entries can't hold commas ({reason})")
            items = [item.strip() for item in value]
        else:
            self.bad(f"{key!r} must be a list of strings or a comma-separated string")
        items = [item for item in items if item]
        if not items:
            self.bad(f"{key!r} is empty; remove the key to send no {key}")
        return items


def _word(value: object, also: type) -> str:
    """A value as a lower-case word: text, or a number (with `also`, bools or ints), else ""."""
    if isinstance(value, str) or type(value) is int or type(value) is also:
        return str(value).strip().lower()
    return ""
