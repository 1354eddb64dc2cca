"""Ages typed on the command line and upload times as the cache writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from imgsync.manage.durations import describe_age, parse_duration, parse_upload_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("0d", timedelta(0)),
        ("45s", timedelta(seconds=45)),
        (" 3D ", timedelta(days=3)),
    ],
)
def test_durations_people_write(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7 days", "-1d", "1.5h", "7y", "1d2h"])
def test_anything_else_is_refused_saying_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration: .*12h or 7d"):
        parse_duration(text)


def test_upload_times_read_as_utc_and_unknown_stays_unknown() -> None:
    assert parse_upload_time("2026-11-23T11:30:05Z") == datetime(
        2026, 11, 23, 11, 30, 5, tzinfo=UTC
    )
    assert parse_upload_time("") is None
    assert parse_upload_time("yesterday") is None


@pytest.mark.parametrize(
    ("age", "said"),
    [
        (timedelta(seconds=1), "1 second"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(hours=3, minutes=5), "3 hours"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=7), "7 days"),
        (timedelta(days=15), "2 weeks"),
    ],
)
def test_ages_as_people_read_them(age: timedelta, said: str) -> None:
    assert describe_age(age) == said
