"""What of an old URL's ?query#fragment belongs to the reference, and moves with it."""

from __future__ import annotations

import pytest

from imgsync.migrate import own_suffix

LINKED = "https://cdn.pichub.app/abc.webp?w=800&fit=cover"


@pytest.mark.parametrize(
    ("url", "linked", "suffix"),
    [
        ("https://img.example.com/i/a.png", "", ""),
        ("https://img.example.com/i/a.png?v=2#top", "", "?v=2#top"),
        ("https://img.example.com/i/a.png#", "", "#"),
        ("https://img.example.com/i/a.png?a=1&b", "", "?a=1&b"),  # untouched: as written
        (LINKED, LINKED, ""),  # the old host's transform: left behind
        (LINKED + "#left", LINKED, "#left"),
        ("https://cdn.pichub.app/abc.webp?w=800&fit=cover&v=3", LINKED, "?v=3"),
        ("https://cdn.pichub.app/abc.webp?w=400", LINKED, "?w=400"),  # the writer's own width
    ],
)
def test_own_suffix(url: str, linked: str, suffix: str) -> None:
    assert own_suffix(url, linked) == suffix
