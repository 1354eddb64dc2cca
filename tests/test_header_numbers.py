"""Numbers in a host's headers (imgsync/hosts/_http.py, _pacing.py): hostile, read strictly."""

from __future__ import annotations

import httpx
import pytest

from imgsync.hosts._http import retry_after, whole_number
from imgsync.hosts._pacing import reset_at

# Each of these once raised ValueError (Python's 4,300-digit limit, float("²")) or passed
# for a number; now each is "no usable value".
UNUSABLE = [
    "9" * 5000,
    "9" * 16,
    "²",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: str.isdecimal() says yes
    "1e999",
    "inf",
    "nan",
    "-5",
    "",
    " ",
    "Fri, 31 Dec " + "9" * 5000 + " 23:59:59 GMT",
    "Fri, 31 Dec 99999999999999999999 23:59:59 GMT",
]


@pytest.mark.parametrize("value", UNUSABLE)
def test_a_header_number_that_is_not_a_few_ascii_digits_is_no_value(value: str) -> None:
    assert whole_number(value) is None
    assert retry_after(value) is None
    raw = httpx.Headers([(b"X-RateLimit-Reset", value.encode())])  # as the wire gives it
    assert reset_at(raw, 1000.0) is None


def test_ordinary_header_numbers_still_read() -> None:
    assert whole_number(" 60 ") == 60 and whole_number("9" * 15) == 10**15 - 1
    assert whole_number(7) == 7 and whole_number(True) is None
    assert retry_after("30") == 30.0
    assert retry_after("Fri, 31 Dec 1999 23:59:59 GMT") == 0.0
    headers = httpx.Headers
    assert reset_at(headers({"X-RateLimit-Reset": "20"}), 1000.0) == 1020.0
    assert reset_at(headers({"X-RateLimit-Reset": "1700000000.5"}), 0.0) == 1700000000.5
    assert reset_at(headers({"X-RateLimit-Reset": "1700000000000"}), 0.0) == 1700000000.0
