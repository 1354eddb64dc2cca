"""The host kit's parts on their own: the option reader's getters and the size formatter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imgsync.errors import ConfigError
from imgsync.hosts.options import ProfileOptions
from imgsync.hosts.profile import HostProfile, Trusted
from imgsync.sizes import human_size

KNOWN = ("flag", "kind", "n", "secret", "tags", "url")


def reader(**options: Any) -> ProfileOptions:
    return ProfileOptions(HostProfile("p", "demo", options, Path("imgsync.toml")), KNOWN)


@pytest.mark.parametrize(
    ("options", "read", "expected"),
    [
        ({"url": " https://x.example/api/ "}, lambda o: o.url(), "https://x.example/api"),
        ({}, lambda o: o.url(default="https://d.example"), "https://d.example"),
        ({"secret": " s3cret "}, lambda o: o.secret("secret", what="a key", hint="h"), "s3cret"),
        ({}, lambda o: o.optional_secret("secret", what="a key", if_empty="e"), None),
        ({"n": "42"}, lambda o: o.whole("n", high=100), 42),  # `${VAR}` expands to text
        ({}, lambda o: o.whole("n", default=5), 5),
        ({"flag": "Yes"}, lambda o: o.flag("flag"), True),
        ({"flag": 0}, lambda o: o.flag("flag"), False),
        ({"kind": "PNG"}, lambda o: o.choice("kind", ("png", "jpeg")), "png"),
        ({"kind": "public"}, lambda o: o.choice("kind", {"public": "1"}), "1"),
        ({"tags": "a, b,,c"}, lambda o: o.comma_list("tags", reason="r"), ["a", "b", "c"]),
        ({"n": 7}, lambda o: o.text("n", least=1), "7"),
    ],
)
def test_getters_read_what_hosts_accept(options: dict[str, Any], read: Any, expected: Any) -> None:
    assert read(reader(**options)) == expected


@pytest.mark.parametrize(
    ("options", "read", "complaint"),
    [
        ({"colour": 1}, lambda o: None, "unknown key 'colour' for type demo (known: flag, kind, "),
        ({"url": "ftp://x"}, lambda o: o.url(), "'url' must start with http:// or https://"),
        ({"url": 5}, lambda o: o.url(example="e"), "'url' is required, e.g. 'e'"),
        ({"url": ""}, lambda o: o.url(default="https://d"), "'url' must be the API base, starting"),
        ({"url": 5}, lambda o: o.url(default="https://d"), "'url' must be the API base, starting"),
        ({"url": "https://x?a=1"}, lambda o: o.url(no_query="q"), "must not hold a query"),
        ({"secret": "a b"}, lambda o: o.secret("secret", what="a key", hint="h"), "holds spaces"),
        ({"n": True}, lambda o: o.whole("n"), "'n' must be a positive whole number"),
        ({"n": "0"}, lambda o: o.whole("n", high=9), "'n' must be a whole number from 1 to 9"),
        ({"flag": "maybe"}, lambda o: o.flag("flag"), "'flag' must be true or false"),
        ({"kind": True}, lambda o: o.choice("kind", ("true",)), "'kind' must be one of true"),
        ({"tags": ["a,b"]}, lambda o: o.comma_list("tags", reason="r"), "can't hold commas (r)"),
    ],
)
def test_each_complaint_names_the_file_the_profile_and_the_key(
    options: dict[str, Any], read: Any, complaint: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read(reader(**options))
    assert str(caught.value).startswith("imgsync.toml: host profile 'p': ")
    assert complaint in str(caught.value) and "a b" not in str(caught.value)


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 bytes"), (1023, "1023 bytes"), (1536, "1.5 KB"), (50 * 2**20 + 1, "50.0 MB")],
)
def test_one_size_format_for_the_whole_package(size: int, text: str) -> None:
    assert human_size(size) == text


# --- ${VAR}: expanded only where a secret belongs ------------------------------------

ENV = {"S": "s3cret-value", "URL": "https://img.example.com/api/v1", "T": "${U}"}


def trusting(
    *, pinned: str | None = None, allow_http: bool = False, **options: Any
) -> ProfileOptions:
    """A reader whose profile carries what the environment says, as resolve_host gives it."""
    trusted = Trusted(ENV, pinned_url=pinned, allow_http=allow_http)
    profile = HostProfile("p", "demo", options, Path("imgsync.toml"), trusted)
    return ProfileOptions(profile, KNOWN)


def secret(o: ProfileOptions) -> str:
    return o.secret("secret", what="a key", hint="h")


@pytest.mark.parametrize(
    ("options", "read", "expected"),
    [
        ({"secret": "${S}"}, secret, "s3cret-value"),
        ({"secret": "1|${S}"}, secret, "1|s3cret-value"),  # a secret may be built of pieces
        ({"secret": "${T}"}, secret, "${U}"),  # a value from the environment is not expanded again
        ({"secret": "$${S}"}, secret, "${S}"),
        ({"url": "${URL}"}, lambda o: o.url(), ENV["URL"]),
        ({"url": " ${URL} "}, lambda o: o.url(), ENV["URL"]),
        ({"url": "https://x.example/$${a}"}, lambda o: o.url(), "https://x.example/${a}"),
        ({"kind": "costs $${DOLLARS}"}, lambda o: o.text("kind"), "costs ${DOLLARS}"),
        ({"tags": ["$${a}", "b"]}, lambda o: o.comma_list("tags", reason="r"), ["${a}", "b"]),
        ({"kind": {"b": "$${c}"}}, lambda o: o.raw("kind"), {"b": "${c}"}),
    ],
)
def test_variables_expand_in_secrets_and_in_a_whole_url(
    options: dict[str, Any], read: Any, expected: Any
) -> None:
    assert read(trusting(**options)) == expected


@pytest.mark.parametrize(
    ("options", "read", "complaint"),
    [
        # The attack: a secret in the path of a URL the repository chose.
        (
            {"url": "http://x/${S}/api/v1"},
            lambda o: o.url(),
            "'url' names the variable ${S} inside",
        ),
        ({"url": "https://x/a?k=${S}"}, lambda o: o.url(), "'url' names the variable ${S} inside"),
        ({"url": "${URL}/v2"}, lambda o: o.url(), "a URL may come from the environment only whole"),
        # ...and an environment value in a form field.
        ({"kind": "${S}"}, lambda o: o.text("kind"), "'kind' names the variable ${S}, but"),
        ({"n": "${S}"}, lambda o: o.whole("n"), "expanded only in a secret option"),
        ({"flag": "${S}"}, lambda o: o.flag("flag"), "'flag' names the variable ${S}"),
        ({"tags": ["a", "${S}"]}, lambda o: o.comma_list("tags", reason="r"), "'tags' names"),
        ({"kind": {"b": "${S}"}}, lambda o: o.raw("kind"), "'kind.b' names the variable ${S}"),
        ({"kind": "a ${"}, lambda o: o.raw("kind"), "'kind' has a `${` that is not a ${NAME}"),
        ({"secret": "x${oops"}, secret, "'secret' has a `${` that is not a ${NAME} reference"),
        ({"secret": "${1X}"}, secret, "'secret' has a `${`"),
        ({"secret": "${NOPE}"}, secret, "'secret' uses ${NOPE}, but the environment variable NOPE"),
        ({"url": "${NOPE}"}, lambda o: o.url(), "environment variable NOPE is not set"),
        ({"url": "${S}"}, lambda o: o.url(), "'url' must start with http:// or https://"),
    ],
)
def test_a_variable_anywhere_else_is_refused_naming_the_key(
    options: dict[str, Any], read: Any, complaint: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read(trusting(**options))
    text = str(caught.value)
    assert text.startswith("imgsync.toml: host profile 'p': ") and complaint in text
    assert ENV["S"] not in text and ENV["URL"] not in text


# --- the pinned host URL ---------------------------------------------------------------

PIN = "https://img.example.com/api/v1"


@pytest.mark.parametrize(
    "options",
    [{}, {"url": PIN}, {"url": "HTTPS://IMG.example.com/api/v1/"}, {"url": "${URL}"}],
)
def test_a_pinned_url_is_used_when_the_profile_names_it_or_none(options: dict[str, Any]) -> None:
    assert trusting(pinned=PIN, **options).url(example="e") == PIN


@pytest.mark.parametrize(
    ("options", "pinned", "complaint"),
    [
        ({"url": "https://evil.example/api/v1"}, PIN, "'url' names another host than"),
        ({"url": "https://img.example.com/api/v2"}, PIN, "IMGSYNC_HOST_URL, which pins"),
        ({"url": 5}, PIN, "'url' names another host"),
        ({}, "http://img.example.invalid/api", "the pinned host URL (IMGSYNC_HOST_URL in the"),
        ({}, "https://u:p@img.example.com/api", "must not hold a user name or password"),
    ],
)
def test_a_pinned_url_refuses_another(options: dict[str, Any], pinned: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        trusting(pinned=pinned, **options).url(example="e")
    assert complaint in str(caught.value)
    assert "evil" not in str(caught.value) and pinned not in str(caught.value)


def test_the_pin_is_for_the_host_url_only() -> None:
    assert trusting(pinned=PIN, kind="https://cdn.example/x").url("kind") == "https://cdn.example/x"
