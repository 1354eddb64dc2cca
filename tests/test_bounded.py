"""A host's reply read within bounds, against the attacker server on loopback."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from imgsync.errors import HostError, TransientHostError
from imgsync.hosts.bounded import MAX_REPLY, post_bounded, reply_deadline
from imgsync.testing.attacker import Attacker, drip, endless, huge, json_answer


def post(attacker: Attacker, deadline: float | None = None) -> httpx.Response:
    with httpx.Client(timeout=httpx.Timeout(5.0)) as http:
        url = attacker.origin + "/upload"
        data = {"a": "b"}
        return post_bounded(
            http, url, headers={}, data=data, files=None, host="test", deadline=deadline
        )


def test_a_small_reply_is_read_whole() -> None:
    with Attacker(json_answer({"status": True, "message": "ok"}, status=201)) as attacker:
        response = post(attacker)

    assert response.status_code == 201 and response.json() == {"status": True, "message": "ok"}
    assert response.headers["Content-Type"] == "application/json"
    assert b"a=b" in attacker.received


def test_a_reply_announced_too_large_is_refused_unread() -> None:
    with Attacker(huge(MAX_REPLY + 1)) as attacker, pytest.raises(HostError) as caught:
        post(attacker)

    assert "too large (announced" in str(caught.value)
    assert not isinstance(caught.value, TransientHostError)  # not worth asking again


def test_an_endless_reply_stops_at_the_cap() -> None:
    with Attacker(endless()) as attacker, pytest.raises(HostError, match="more than"):
        post(attacker)


def gzip_bomb(request: bytes, stop: threading.Event) -> Iterator[bytes]:
    body = gzip.compress(b" " * (20 * MAX_REPLY))
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    yield head.encode() + body


def test_a_small_compressed_reply_counts_as_what_it_unpacks_to() -> None:
    with Attacker(gzip_bomb) as attacker, pytest.raises(HostError, match="more than"):
        post(attacker)


def test_a_drip_fails_at_the_deadline_not_at_the_next_byte() -> None:
    started = time.monotonic()
    with Attacker(drip(3)) as attacker, pytest.raises(TransientHostError, match="after 1s"):
        post(attacker, deadline=1.0)

    assert time.monotonic() - started < 2.5


def until_closed(request: bytes, stop: threading.Event) -> Iterator[bytes]:
    """A reply whose body ends when the connection does (no length, not chunked)."""
    yield b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"status": '
    while not stop.wait(3):
        yield b" "


def test_a_reply_cut_at_the_deadline_is_not_taken_for_whole() -> None:
    started = time.monotonic()
    with Attacker(until_closed) as attacker, pytest.raises(TransientHostError, match="after 1s"):
        post(attacker, deadline=1.0)
    assert time.monotonic() - started < 2.5  # cut by the watchdog, not by a later byte


def test_the_deadline_is_the_read_timeout() -> None:
    with httpx.Client(timeout=httpx.Timeout(5.0, read=42.0)) as http:
        assert reply_deadline(http) == 42.0
    with httpx.Client(timeout=None) as http:
        assert reply_deadline(http) == 60.0
