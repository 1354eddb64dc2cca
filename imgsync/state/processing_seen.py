"""The processing settings each profile last ran with, so that a change is told once.

Images already uploaded keep the processing they were sent with until `--reprocess` (see
docs/processing.md). A sync whose references are all hosted reads no cache and would say
nothing of a change to `quality` or `max_width`; this small memory lets it say so, once, at
no cost but one small file: `.imgsync/processing.json`, never committed, keyed by profile
name. A memory only: a missing or damaged file is started afresh, silently.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from ..files import atomic_write, private_folder, read_inside

STATE_NAME = "processing.json"
VERSION = 1
NONE = "none"  # what is recorded for a profile without processing


def changed_processing(
    state_dir: Path, project: Path, profile: str, label: str | None
) -> str | None:
    """The label `profile` last ran with when it differs from `label` (then `label` is kept
    for next time); None when it is the same or unknown (a first run)."""
    path = state_dir / STATE_NAME
    today = label or NONE
    try:
        document = json.loads(read_inside(path, project))
        seen = document["profiles"] if document.get("version") == VERSION else {}
    except (OSError, ValueError, RecursionError, KeyError, AttributeError, TypeError):
        seen = {}
    if not isinstance(seen, dict):
        seen = {}
    before = seen.get(profile)
    if before == today:
        return None
    seen[profile] = today
    with contextlib.suppress(OSError):  # a failure only loses the hint
        private_folder(state_dir)
        text = json.dumps({"version": VERSION, "profiles": seen}, indent=1, sort_keys=True)
        atomic_write(path, text.encode() + b"\n", project=project)
    return before if isinstance(before, str) else None
