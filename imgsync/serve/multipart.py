"""The files of a `multipart/form-data` body, as editors send them to a PicGo server.

PicList takes files in any field; Obsidian's "Image auto upload" plugin names its field `list`
and each file by the path it was read from (or a timestamp and `.png` for a pasted image),
PicGo-Core 3 reads `files`. Every file part is taken, whatever its field; text fields are
ignored. The body is read whole, within the server's size cap, and parsed by the standard
library's MIME parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import PurePosixPath, PureWindowsPath


class FormError(ValueError):
    """A body that is not the multipart form its Content-Type says."""


@dataclass(frozen=True)
class FormFile:
    name: str  # the file's own name: the last part of the filename sent, without folders
    data: bytes


def form_files(content_type: str, body: bytes) -> list[FormFile]:
    """The files of `body`, in order; FormError when it can't be read as a form."""
    if "boundary=" not in content_type:
        raise FormError("multipart/form-data without a boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise FormError("the body is not the multipart form its Content-Type says")
    files = []
    for part in message.iter_parts():
        filename = _filename(part)
        if filename is None:
            continue  # a text field
        data = part.get_payload(decode=True)
        files.append(FormFile(filename, data if isinstance(data, bytes) else b""))
    return files


def _filename(part: Message) -> str | None:
    raw = part.get_param("filename", header="content-disposition")
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else str(raw[2])
    # A path (Obsidian sends the one it read), in either style: its last part only.
    name = PureWindowsPath(PurePosixPath(text).name).name
    return name.strip() or "image"
