"""Reading a host profile's options: known keys only, typed getters, errors naming file and key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

from ..environment import LSKY_URL_VARIABLE, PIN_VARIABLE
from ..errors import ConfigError
from ._http import whole_number
from .host_url import same_url, url_problem
from .profile import HostProfile, named_by_origin
from .variables import expand_secret, expand_whole, literal

_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class ProfileOptions:
    """One profile's options, checked as a host reads them.

    Every complaint is a ConfigError naming the file (`profile.source`), the profile
    and the key, never a value. `${VAR}` is read from the environment only in the
    secret getters and in a `url` given whole as one variable; every other getter
    refuses it. Values may be text where a number is meant.
    """

    def __init__(self, profile: HostProfile, known: Iterable[str]) -> None:
        self.profile = profile
        self.known = sorted(known)
        # option -> the environment variable it came from: the host's messages name it.
        self.origins = dict(profile.from_environment)
        for key in profile.options:
            if key not in self.known:
                known_keys = ", ".join(self.known)
                self.bad(f"unknown key {key!r} for type {profile.type} (known: {known_keys})")

    def __contains__(self, key: str) -> bool:
        return key in self.profile.options

    def raw(self, key: str, default: Any = None) -> Any:
        """The value as configured, for a check only one host makes; `$${` reads as `${`.

        Every getter but `url` and the secret ones reads through here, so a `${VAR}`
        in any other option is refused (variables.py says why).
        """
        if key not in self.profile.options:
            return default
        return literal(self.profile.options[key], key, self.bad)

    def bad(self, problem: str) -> NoReturn:
        problem = named_by_origin(problem, self.origins)
        raise ConfigError(f"{self._whose()}: {problem}", self.profile.source)

    def _whose(self) -> str:
        if self.profile.source is None and self.profile.from_environment:
            made_by = self.profile.from_environment.get("url", "the environment")
            return f"the host {made_by} sets up (no [hosts] profile is configured)"
        return f"host profile {self.profile.name!r}"

    def url(
        self,
        key: str = "url",
        *,
        example: str | None = None,
        default: str | None = None,
        no_query: str | None = None,
        pinned: bool | None = None,
    ) -> str:
        """The host's API base without its trailing slash: required (say an `example`) or `default`.

        It may be one `${VAR}` whole. It must be https:// (http:// only on loopback, or
        where the environment allows it), without user name, password, query or fragment
        (`no_query` says where the credential goes instead). When the environment pins
        the host URL, the API base ('url', or the key a host names with `pinned`, such as
        S3's 'endpoint') must be that URL or be left out.
        """
        trusted = self.profile.trusted
        value = self.profile.options.get(key)
        if isinstance(value, str):
            value = expand_whole(value, key, trusted.variables, self.bad)
        if (key == "url" if pinned is None else pinned) and trusted.pinned_url is not None:
            if value is None:  # the pin is the URL: messages about it name its variable
                self.origins.setdefault(key, self._pin_variable())
            value = self._pinned(key, value, trusted.pinned_url.strip())
        if value is None:
            value = default
        if default is None and (not isinstance(value, str) or not value.strip()):
            self.bad(f"{key!r} is required, e.g. {example!r}")
        text = value.strip() if isinstance(value, str) else ""
        problem = url_problem(text, allow_http=trusted.allow_http)
        if problem is not None:
            # Never the URL itself: it may have come from the environment, or hold a password.
            if default is not None and problem.startswith("must start"):
                problem = f"must be the API base, starting with http:// or https://: {default!r}"
            where = f" ({no_query})" if no_query and "query" in problem else ""
            self.bad(f"{key!r} {problem}{where}")
        return text.rstrip("/")

    def _pinned(self, key: str, value: Any, pinned: str) -> str:
        """The pinned URL, if the profile names the same one or none."""
        problem = url_problem(pinned, allow_http=self.profile.trusted.allow_http)
        pin = self._pin_variable()
        if problem is not None:
            if self.profile.from_environment.get(key) == pin:  # the user set the URL there only
                self.bad(f"{pin} {problem}")
            self.bad(f"the pinned host URL ({pin} in the environment) {problem}")
        if value is not None and not (isinstance(value, str) and same_url(value, pinned)):
            self.bad(
                f"{key!r} names another host than {pin}, which pins this run's host in "
                f"the environment: a configuration can't send the credentials elsewhere; leave "
                f"{key!r} out or make it the pinned URL"
            )
        return pinned

    def _pin_variable(self) -> str:
        """The variable the pinned URL came from (config.py's order: IMGSYNC_HOST_URL first)."""
        variables = self.profile.trusted.variables
        if LSKY_URL_VARIABLE in variables and PIN_VARIABLE not in variables:
            return LSKY_URL_VARIABLE
        return PIN_VARIABLE

    def secret(self, key: str, *, what: str, hint: str) -> str:
        """A required credential; `what` names its kind ("a token"), `hint` where to get it."""
        value = self._expanded(key)
        if not isinstance(value, str) or not value.strip():
            self.bad(f"{key!r} is required (is its variable set?): {hint}")
        return self._clean_secret(key, value, what)

    def optional_secret(self, key: str, *, what: str, if_empty: str) -> str | None:
        """A credential that may be left out; `if_empty` says what leaving it out does."""
        value = self._expanded(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.bad(f"{key!r} must be a string")
        if not value.strip():
            self.bad(f"{key!r} is empty (is its variable set?); {if_empty}")
        return self._clean_secret(key, value, what)

    def _expanded(self, key: str) -> Any:
        """A secret option: the one place `${VAR}` may appear inside a value."""
        value = self.profile.options.get(key)
        if not isinstance(value, str):
            return value
        return expand_secret(value, key, self.profile.trusted.variables, self.bad)

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
