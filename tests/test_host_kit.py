"""The host kit's parts on their own: the option reader's getters and the size formatter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imgsync.errors import ConfigError
from imgsync.hosts.options import ProfileOptions
from imgsync.hosts.profile import HostProfile
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
