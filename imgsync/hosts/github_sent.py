"""What a github upload sends, measured before it is sent (MD5, size, git blob SHA) and then
streamed as the base64 "content" of a JSON body, a piece at a time: never held whole."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from ..errors import ImageError

CHUNK = 3 * 256 * 1024  # a multiple of 3, so that base64 pieces join into one string


@dataclass(frozen=True)
class Sent:
    """The bytes an upload sends: their MD5 (the name), size and git blob SHA (what GitHub
    calls the file's `sha`, so a file found in the repository can be compared)."""

    md5: str
    size: int
    blob_sha: str


def measure(open_bytes: Callable[[], IO[bytes]], size_hint: int) -> Sent:
    """MD5, size and blob SHA in one streamed read. The blob SHA needs the size first: the
    hint is assumed, and the bytes read again in the rare case they are not that many."""
    md5, blob, size = hashlib.md5(), blob_hash(size_hint), 0
    with open_bytes() as stream:
        while chunk := stream.read(CHUNK):
            md5.update(chunk)
            blob.update(chunk)
            size += len(chunk)
    if size != size_hint:
        blob = blob_hash(size)
        with open_bytes() as stream:
            while chunk := stream.read(CHUNK):
                blob.update(chunk)
    return Sent(md5.hexdigest(), size, blob.hexdigest())


def blob_hash(size: int) -> Any:
    """A SHA-1 started as git starts a blob's object id: "blob {size}\\0"."""
    return hashlib.sha1(f"blob {size}\0".encode())


def base64_length(size: int) -> int:
    return 4 * ((size + 2) // 3)


def base64_chunks(stream: IO[bytes], size: int) -> Iterator[bytes]:
    """The bytes of `stream` as base64, piece by piece; ImageError if they are not the `size`
    bytes measured before (the file changed while being sent)."""
    sent, rest = 0, b""
    with stream:
        while chunk := stream.read(CHUNK):
            sent += len(chunk)
            data = rest + chunk
            cut = len(data) - len(data) % 3
            rest = data[cut:]
            if cut:
                yield base64.b64encode(data[:cut])
    if rest:
        yield base64.b64encode(rest)
    if sent != size:
        raise ImageError(f"the file changed while it was being sent ({sent} bytes, not {size})")
