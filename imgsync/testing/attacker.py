"""A hostile server on loopback: it logs every byte it receives and answers as a test tells it.

The hostile-repository suite points imgsync at it (through a pull request's config, or as
the host itself) to prove what leaves the machine and what a hostile reply can do. Unlike
the fake hosts it speaks raw HTTP over sockets, so it can send what no well-behaved
server would: a reply of hundreds of megabytes produced as it goes, a stream that never
ends, one byte every few seconds. Every reply stops by itself after `max_seconds`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Self

# A reply: given the request's bytes and the server's stop event, the bytes to send.
Answer = Callable[[bytes, threading.Event], Iterator[bytes]]
_CHUNK = 64 * 1024


def head(status: int = 200, length: int | None = None, **headers: str) -> bytes:
    """A status line and headers; chunked when `length` is None."""
    lines = [f"HTTP/1.1 {status} Hostile", "Content-Type: application/json", "Connection: close"]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_answer(payload: Any, status: int = 200) -> Answer:
    """A plain JSON reply, such as a host's success naming a hostile URL."""
    body = json.dumps(payload).encode()

    def answer(request: bytes, stop: threading.Event) -> Iterator[bytes]:
        yield head(status, len(body)) + body

    return answer


def lsky_success(url: str) -> Answer:
    """What Lsky Pro answers to an upload, with `url` as the image's link."""
    return json_answer(
        {"status": True, "message": "ok", "data": {"key": "k", "links": {"url": url}}}
    )


def huge(size: int) -> Answer:
    """A JSON-looking reply of `size` bytes with a Content-Length, made as it is sent."""
    filler = b" " * _CHUNK

    def answer(request: bytes, stop: threading.Event) -> Iterator[bytes]:
        yield head(200, size) + b'{"status": true, "message": "'
        sent = 30
        while sent < size and not stop.is_set():
            piece = filler[: min(_CHUNK, size - sent)]
            sent += len(piece)
            yield piece

    return answer


def endless() -> Answer:
    """A chunked reply that never ends (until the server stops or `max_seconds` pass)."""
    chunk = b"%x\r\n%s\r\n" % (_CHUNK, b" " * _CHUNK)

    def answer(request: bytes, stop: threading.Event) -> Iterator[bytes]:
        yield head(200, None) + b'7\r\n{"a": "\r\n'
        while not stop.is_set():
            yield chunk

    return answer


def drip(every: float) -> Answer:
    """A reply that promises 1 MB and sends one byte every `every` seconds."""

    def answer(request: bytes, stop: threading.Event) -> Iterator[bytes]:
        yield head(200, 1024 * 1024)
        while not stop.wait(every):
            yield b" "

    return answer


class Attacker:
    """Listens on 127.0.0.1; `received` holds every byte of every request, in order."""

    def __init__(self, answer: Answer | None = None, *, max_seconds: float = 120.0) -> None:
        self.answer = answer or json_answer({"status": False, "message": "no"}, status=400)
        self.max_seconds = max_seconds  # no reply goes on longer than this
        self.requests = 0
        self._received = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socket: socket.socket | None = None

    @property
    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    @property
    def origin(self) -> str:
        if self._socket is None:
            raise RuntimeError("the attacker is not started")
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def start(self) -> Self:
        self._stop.clear()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        threading.Thread(target=self._accept, name="attacker", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        assert self._socket is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        deadline = time.monotonic() + self.max_seconds
        with conn, contextlib.suppress(OSError):
            request = self._read_request(conn)
            with self._lock:
                self.requests += 1
            for piece in self.answer(request, self._stop):
                if time.monotonic() > deadline:
                    break
                conn.sendall(piece)

    def _read_request(self, conn: socket.socket) -> bytes:
        """Read one request whole (headers, then the body its headers announce), logging it."""
        conn.settimeout(10)
        data = bytearray()
        while b"\r\n\r\n" not in data:
            piece = conn.recv(_CHUNK)
            if not piece:
                break
            self._log(piece)
            data += piece
        headers, _, body = bytes(data).partition(b"\r\n\r\n")
        length = 0
        for line in headers.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        while len(body) < length:
            piece = conn.recv(_CHUNK)
            if not piece:
                break
            self._log(piece)
            body += piece
        return headers + b"\r\n\r\n" + body

    def _log(self, piece: bytes) -> None:
        with self._lock:
            self._received += piece
