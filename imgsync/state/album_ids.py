"""The album ids found by name (`album = "name"`), remembered so the next run asks no host.

They live in `.imgsync/albums.json` beside the cache, never committed, keyed by the
host's identity and the album's name, each with the time it was last found on the host.
A memory, never a source of truth: a missing or damaged file is started afresh, an id
older than RECHECK_AFTER is looked up again (an album deleted on the host is found
again by name: a host such as Lsky takes an upload to a deleted album without a word),
and so is one of a run whose uploads failed.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from ..errors import NotAFolder
from ..files import atomic_write, private_folder, read_inside

STATE_NAME = "albums.json"
VERSION = 1
RECHECK_AFTER = 24 * 3600.0  # seconds a remembered id is used without asking the host


class AlbumIds:
    """host identity -> album name -> id, as found on the host."""

    def __init__(self, state_dir: Path, project: Path) -> None:
        self.path = state_dir / STATE_NAME
        self.project = project

    def _read(self) -> dict[str, dict[str, dict[str, object]]]:
        try:
            document = json.loads(read_inside(self.path, self.project))
        except (OSError, ValueError, RecursionError):  # OutsideProject is an OSError too
            return {}
        hosts = document.get("albums") if isinstance(document, dict) else None
        if document.get("version") != VERSION or not isinstance(hosts, dict):
            return {}
        return {
            host: {n: e for n, e in names.items() if isinstance(e, dict)}
            for host, names in hosts.items()
            if isinstance(names, dict)
        }

    def get(self, identity: str, name: str, now: float | None = None) -> str | None:
        """The id remembered for `name`, if it was found on the host within RECHECK_AFTER."""
        entry = self._read().get(identity, {}).get(name, {})
        album_id, found = entry.get("id"), entry.get("found")
        if not isinstance(album_id, str) or not album_id or type(found) not in (int, float):
            return None
        age = (time.time() if now is None else now) - float(found)  # type: ignore[arg-type]
        return album_id if 0 <= age < RECHECK_AFTER else None

    def remember(self, identity: str, name: str, album_id: str | None) -> None:
        """Keep `album_id` for `name` on the host (None: forget it); a failure only costs a
        request next time."""
        known = self._read()
        names = known.setdefault(identity, {})
        if album_id is None:
            names.pop(name, None)
        else:
            names[name] = {"id": album_id, "found": int(time.time())}
        document = {"version": VERSION, "albums": {h: n for h, n in known.items() if n}}
        data = (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
        # A link leading out of the project, or a file where the folder should be.
        with contextlib.suppress(OSError, NotAFolder):
            private_folder(self.path.parent, project=self.project)
            atomic_write(self.path, data, project=self.project)
