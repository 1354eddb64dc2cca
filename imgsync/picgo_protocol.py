"""The PicGo server protocol, as PicGo, PicGo-Core 3 and PicList speak it: the one place for
its paths, parameters and JSON shapes (docs/picgo.md says where each fact was read).

The client is hosts/picgo.py; the fake (testing/fake_picgo.py) answers with these shapes, and
a server of the same protocol (`imgsync serve`, issue 19) can build its replies here too.

    POST {base}/upload      JSON {"list": ["/absolute/path.png", ...]}: the server reads the files
                            multipart/form-data, the files in field "files" (PicList takes any)
                            -> {"success": true, "result": ["https://...", ...]}
                               PicList adds "fullResult": one object per URL ("type": the picbed)
                            -> {"success": false, "message": "..."}
    POST {base}/heartbeat   -> {"success": true, "result": "alive"}

A body without "list", or with an empty one, uploads the server's clipboard: never send it.
The result leaves out the files that failed, without saying which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_URL = "http://127.0.0.1:36677"  # both apps' default; PicList listens on 0.0.0.0
UPLOAD_PATH = "/upload"
HEARTBEAT_PATH = "/heartbeat"
ALIVE = "alive"
FORM_FIELD = "files"  # PicGo-Core 3 reads this field; PicList's multer takes any
KEY_PARAMETER = "key"  # PicList's server key, in the query
SECRET_PARAMETER = "secret"  # PicGo-Core 3's secret in the query (it prefers a Bearer header)
PICBED_PARAMETER = "picbed"  # PicList: upload with this picbed for this request
CONFIG_PARAMETER = "configName"  # PicList: ...and its configuration of this name
DEFAULT_CONFIG = "Default"  # PicList's name for a picbed's first configuration
# What each server says to a request without the right secret.
PICLIST_BAD_KEY = "server key is uncorrect"  # (sic) HTTP 200
PICGO_UNAUTHORIZED = "Unauthorized"  # HTTP 401


def upload_body(paths: Sequence[str]) -> dict[str, list[str]]:
    """The JSON body that uploads `paths` (absolute); ValueError for none, which would upload
    the server's clipboard instead."""
    if not paths or not all(isinstance(p, str) and p.strip() for p in paths):
        raise ValueError("an upload names at least one path (none uploads the clipboard)")
    return {"list": list(paths)}


def success_reply(
    urls: Sequence[str], full: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "result": list(urls)}
    if full is not None:
        body["fullResult"] = [dict(item) for item in full]
    return body


def failure_reply(message: str) -> dict[str, Any]:
    return {"success": False, "message": message}


def heartbeat_reply() -> dict[str, Any]:
    return {"success": True, "result": ALIVE}


def is_alive(body: Mapping[str, Any] | None) -> bool:
    return body is not None and body.get("success") is True and body.get("result") == ALIVE


@dataclass(frozen=True)
class UploadReply:
    """An upload reply read: `urls` as sent (the failed files left out), or a failure."""

    success: bool
    urls: list[str] = field(default_factory=list)
    message: str | None = None
    # PicList's fullResult, one per URL; None when the server sent none (PicGo).
    full: list[Mapping[str, Any]] | None = None


def read_upload_reply(body: Mapping[str, Any] | None) -> UploadReply | None:
    """The reply as the protocol shapes it; None when `body` is not of this protocol."""
    if body is None or not isinstance(body.get("success"), bool):
        return None
    message = body.get("message")
    message = message if isinstance(message, str) and message else None
    if body["success"] is not True:
        return UploadReply(False, message=message)
    result = body.get("result")
    if not isinstance(result, list) or not all(isinstance(url, str) for url in result):
        return None
    full = body.get("fullResult")
    if isinstance(full, list) and all(isinstance(item, Mapping) for item in full):
        return UploadReply(True, list(result), message, list(full))
    return UploadReply(True, list(result), message)
