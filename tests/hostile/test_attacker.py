"""The attacker server itself: it logs what it receives and sends what no host would."""

from __future__ import annotations

import socket
import time

from imgsync.testing.attacker import Attacker, drip, huge, lsky_success


def exchange(attacker: Attacker, request: bytes, limit: int = 1 << 20) -> bytes:
    host, port = attacker.origin.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        reply = bytearray()
        while len(reply) < limit and (piece := conn.recv(65536)):
            reply += piece
    return bytes(reply)


def test_every_byte_received_is_logged_and_the_told_answer_sent() -> None:
    request = b"POST /api/v1/upload HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
    with Attacker(lsky_success("javascript:alert(1)")) as attacker:
        reply = exchange(attacker, request)

    assert attacker.received == request and attacker.requests == 1
    assert reply.startswith(b"HTTP/1.1 200") and b'"javascript:alert(1)"' in reply


def test_a_huge_reply_is_made_as_it_is_sent() -> None:
    with Attacker(huge(300 * 1024 * 1024)) as attacker:
        reply = exchange(attacker, b"GET / HTTP/1.1\r\n\r\n", limit=2 * 1024 * 1024)

    assert b"Content-Length: 314572800" in reply and len(reply) >= 2 * 1024 * 1024


def test_a_drip_sends_a_byte_at_a_time_and_stops_at_its_limit() -> None:
    started = time.monotonic()
    with Attacker(drip(0.05), max_seconds=0.5) as attacker:
        reply = exchange(attacker, b"GET / HTTP/1.1\r\n\r\n")

    assert 0.4 < time.monotonic() - started < 5
    assert reply.endswith(b" ") and b"Content-Length: 1048576" in reply
