"""Reading PicHub's reply to a batch: which item, or which error, belongs to which file sent."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from .base import UploadRequest

Slot = Mapping[str, Any] | str | None  # a file's reply item, its error message, or nothing
_NAMES = ("original_name", "original_filename", "originalName")  # the name a file was sent as
_FILE_KEY = re.compile(r"(?:files|file|image)(?:\.|\[)(\d+)\]?")  # Laravel's "files.1"


def batch_slots(body: Mapping[str, Any], sent: Sequence[UploadRequest]) -> list[Slot] | None:
    """Each sent file's slot from a successful reply; None when the reply has no data at all."""
    data = body.get("data")
    items = [data] if isinstance(data, Mapping) else data if isinstance(data, list) else None
    if items is None:
        return None
    # Files refused in a request that partly went up: a list of items, or Laravel's map.
    errors, failed = body.get("errors"), {}
    if isinstance(errors, list):
        items = items + [{"success": False, **e} for e in errors if isinstance(e, Mapping)]
    elif isinstance(errors, Mapping):
        for key, value in errors.items():
            if (match := _FILE_KEY.fullmatch(str(key))) is not None:
                failed[int(match.group(1))] = "; ".join(_words(value)) or "refused"
    return _match([i for i in items if isinstance(i, Mapping)], failed, sent)


def item_url(item: Mapping[str, Any]) -> str | None:
    """The image's URL, wherever this reply style puts it."""
    links = item.get("links")
    links_url = links.get("url") if isinstance(links, Mapping) else None
    for value in (item.get("url"), links_url, item.get("cdn_url")):
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return None


def said(body: Mapping[str, Any] | None) -> str | None:
    """The host's own words from either error shape: `error: {message, details}`, or flat."""
    error = body.get("error") if body else None
    if isinstance(error, Mapping):
        message, details = error.get("message"), error.get("details")
    elif body:
        message, details = error or body.get("message"), body.get("errors")
    else:
        return None
    words = message.strip() if isinstance(message, str) else ""
    extra = [word for word in _words(details) if word != words][:3]
    if extra:
        words = f"{words} ({'; '.join(extra)})" if words else "; ".join(extra)
    return words or None


def _words(value: Any) -> list[str]:
    """The messages in an error's details, whatever their shape (text, list, field map)."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Mapping):
        return _words(value["message"]) if "message" in value else _words(list(value.values()))
    return [word for item in value for word in _words(item)] if isinstance(value, list) else []


def _match(
    items: list[Mapping[str, Any]], failed: dict[int, str], sent: Sequence[UploadRequest]
) -> list[Slot]:
    """Each file's reply item: by the name it was sent as, when the reply says it, else by order."""
    slots: list[Slot] = [failed.get(index) for index in range(len(sent))]
    waiting: dict[str, deque[int]] = {}
    for index, request in enumerate(sent):
        if slots[index] is None:
            waiting.setdefault(request.filename, deque()).append(index)
    unnamed = []
    for item in items:
        name = next((item[k] for k in _NAMES if isinstance(item.get(k), str)), None)
        if queue := waiting.get(name or ""):
            slots[queue.popleft()] = item
        else:
            unnamed.append(item)
    free = [index for index, slot in enumerate(slots) if slot is None]
    if len(unnamed) == len(free):  # else a URL could land on the wrong file: leave them empty
        for index, item in zip(free, unnamed, strict=True):
            slots[index] = item
    return slots
