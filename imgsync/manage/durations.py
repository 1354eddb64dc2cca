"""Ages as people write them on the command line (`30m`, `12h`, `7d`, `2w`), and upload times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"\s*(\d+)\s*([smhdw])\s*", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_NAMES = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}


def parse_duration(text: str) -> timedelta:
    """`30m`, `12h`, `7d`, `2w` (or `0d`: no age needed); ValueError says what is accepted."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: write a whole number and a unit, "
            "s (seconds), m (minutes), h (hours), d (days) or w (weeks), e.g. 12h or 7d"
        )
    return timedelta(seconds=int(match[1]) * _UNITS[match[2].lower()])


def parse_upload_time(text: str) -> datetime | None:
    """The cache's and the hosts' "2026-11-23T11:30:05Z" as a UTC time; None when unknown
    ("") or unreadable, which callers treat as unknown, never as old."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def describe_age(age: timedelta) -> str:
    """An age as a person reads it: "45 minutes", "3 hours", "2 days"."""
    seconds = max(0, int(age.total_seconds()))
    for unit in ("w", "d", "h", "m"):
        if seconds >= _UNITS[unit] * (2 if unit == "w" else 1):
            count = seconds // _UNITS[unit]
            return f"{count} {_NAMES[unit]}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def describe_duration(text: str) -> str:
    """`7d` as "7 days", for messages that repeat what the user asked."""
    return describe_age(parse_duration(text))
