"""A host's reply read within bounds: at most MAX_REPLY bytes, whole within a deadline.

httpx reads a reply whole into memory, and its read timeout starts again with every
byte: a hostile or broken host could fill the memory (a reply of gigabytes, a stream
that never ends) or hold the run forever (one byte every few seconds). So the reply is
streamed, and reading stops at the cap or the deadline; a watchdog shuts the connection
down at the deadline, so a drip can't hold a read past it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

import httpx

from ..errors import HostError, TransientHostError
from ..sizes import human_size
from .watchdog import WATCHDOG

# An upload reply is a few hundred bytes of JSON (Lsky's, with all its links, about 1 KB;
# PicHub's for a batch of 20, some 20 KB). 1 MiB leaves room for any host's verbose
# reply or error page, and is still nothing to hold in memory.
MAX_REPLY = 1024 * 1024
DEFAULT_DEADLINE = 60.0  # seconds, when the client has no read timeout
# Headers that describe the body as it came over the wire, not as it is now held.
_WIRE_HEADERS = (b"content-encoding", b"content-length", b"transfer-encoding")


def reply_deadline(http: httpx.Client) -> float:
    """Seconds the whole reply may take, from its headers to its last byte: the read timeout.

    The read timeout then bounds the reply as a whole, not each byte of it: a JSON reply
    arrives in well under a second, so a reply still arriving after the time one silent
    read may take is a drip.
    """
    read = http.timeout.read
    return read if read is not None and read > 0 else DEFAULT_DEADLINE


def post_bounded(
    http: httpx.Client,
    url: str,
    *,
    headers: Mapping[str, str],
    data: Mapping[str, str],
    files: Any,
    host: str,
    limit: int = MAX_REPLY,
    deadline: float | None = None,
) -> httpx.Response:
    """POST, and read the reply within `limit` bytes and `deadline` seconds.

    Returns the reply with its body read. HostError (not worth retrying: the host is
    broken or hostile) for a reply over `limit`; TransientHostError (like a timeout) for
    one not whole within `deadline`. httpx's own errors pass through for the caller.
    """
    request = http.build_request("POST", url, headers=headers, data=data, files=files)
    return _send_bounded(http, request, host, limit, deadline)


def get_bounded(
    http: httpx.Client,
    url: str,
    *,
    headers: Mapping[str, str],
    host: str,
    limit: int = MAX_REPLY,
    deadline: float | None = None,
) -> httpx.Response:
    """GET, read within the same bounds as post_bounded: a host's read calls (`imgsync
    doctor`'s check of a token) face the same hostile or broken replies as its uploads."""
    return request_bounded(
        http, "GET", url, headers=headers, host=host, limit=limit, deadline=deadline
    )


def delete_bounded(
    http: httpx.Client,
    url: str,
    *,
    headers: Mapping[str, str],
    host: str,
    limit: int = MAX_REPLY,
    deadline: float | None = None,
) -> httpx.Response:
    """DELETE, read within the same bounds as post_bounded (a host's delete call)."""
    return request_bounded(
        http, "DELETE", url, headers=headers, host=host, limit=limit, deadline=deadline
    )


def request_bounded(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    host: str,
    limit: int = MAX_REPLY,
    deadline: float | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """A request without a form (GET, DELETE; a POST of `content`, such as JSON with its
    Content-Type in `headers`), read within post_bounded's bounds."""
    request = http.build_request(method, url, headers=headers, content=content)
    return _send_bounded(http, request, host, limit, deadline)


def send_bounded(
    http: httpx.Client,
    request: httpx.Request,
    *,
    host: str,
    limit: int = MAX_REPLY,
    deadline: float | None = None,
) -> httpx.Response:
    """A request the caller built (a body of its own, such as GitHub's streamed JSON), its
    reply read within post_bounded's bounds."""
    return _send_bounded(http, request, host, limit, deadline)


def _send_bounded(
    http: httpx.Client,
    request: httpx.Request,
    host: str,
    limit: int,
    deadline: float | None,
) -> httpx.Response:
    seconds = reply_deadline(http) if deadline is None else deadline
    response = http.send(request, stream=True)
    try:
        with _watchdog(response, seconds) as fired:
            try:
                body = _read(response, limit, time.monotonic() + seconds, seconds, host)
            except httpx.HTTPError:
                if not fired.is_set():
                    raise
        # Cut by the watchdog: an error, or (a reply that ends when the connection does)
        # a body that only looks whole.
        if fired.is_set():
            _late(seconds, host)
    finally:
        response.close()
    # The raw byte pairs, not the decoded text: httpx encodes text headers back as ASCII, so a
    # reply header holding UTF-8 or Latin-1 bytes (a filename, a stray "²") would raise here,
    # after the upload succeeded, and the upload would never be recorded.
    kept = [(k, v) for k, v in response.headers.raw if k.lower() not in _WIRE_HEADERS]
    return httpx.Response(response.status_code, headers=kept, content=body, request=request)


def _read(response: httpx.Response, limit: int, until: float, seconds: float, host: str) -> bytes:
    announced = response.headers.get("Content-Length", "")
    if announced.strip().isdecimal() and int(announced) > limit:
        _too_large(f"announced {human_size(int(announced))}", limit, host)
    body = bytearray()
    # Decoded bytes count: a small gzip that unpacks to gigabytes is stopped as well.
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            _too_large(f"more than {human_size(limit)}", limit, host)
        if time.monotonic() > until:
            _late(seconds, host)
    return bytes(body)


@contextlib.contextmanager
def _watchdog(response: httpx.Response, seconds: float) -> Iterator[threading.Event]:
    """Shut the reply's connection down after `seconds`: a read blocked on a drip returns.

    httpx's read timeout starts again with each byte, so without this a byte a little
    less often than the read timeout would keep one read going well past the deadline.
    The event says whether it fired.
    """
    fired = threading.Event()
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if not isinstance(sock, socket.socket):
        yield fired
        return

    def cut() -> None:
        fired.set()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    alarm = WATCHDOG.set(seconds, cut)
    try:
        yield fired
    finally:
        alarm.cancel()


def _late(seconds: float, host: str) -> NoReturn:
    raise TransientHostError(
        f"the host's reply was not whole after {seconds:g}s (read_timeout, the most a reply "
        "may take): imgsync stopped waiting for it",
        host=host,
    )


def _too_large(what: str, limit: int, host: str) -> NoReturn:
    raise HostError(
        f"the host's reply is too large ({what}; an upload reply is a few KB, and imgsync "
        f"reads at most {human_size(limit)}): it stopped reading; is 'url' the host's API, "
        "or is the host broken or hostile?",
        host=host,
    )
