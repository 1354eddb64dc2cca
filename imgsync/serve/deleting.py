"""`POST /delete` of `imgsync serve`: delete from the host images this project uploaded.

Editors send back the `fullResult` items of the upload reply (Obsidian's "Image auto upload"
plugin does, when its user deletes an image through it): each item's `imgUrl` is the image.
Only an upload the project's cache records on the configured host can be deleted; anything
else is refused. The editor asks while the note still holds the image (it removes the reference
once the delete succeeded), so one use in the work tree is expected; an image used anywhere
else too (another note, another branch or tag) is kept and the reply says where. The delete
is prune's: under the upload claims, forgotten in the cache and its journal.
"""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..errors import ImgsyncError

MOST_USES = 1  # the note the editor is deleting the image from


def delete_urls(settings: Settings, host_name: str | None, items: list[Any]) -> list[str]:
    """Delete each upload `items` names; the problems, one line each (none: all deleted)."""
    from ..cache import UploadCache
    from ..hosts.base import DeletingHost
    from ..manage.delete import find_uploads
    from ..manage.project import cannot, count_uses
    from ..manage.prune import Upload, delete_uploads
    from ..upload import open_host

    urls = [_url(item) for item in items]
    if not urls or any(url is None for url in urls):
        return ["each item must be an upload reply's fullResult item (with imgUrl) or a URL"]
    wanted = [url for url in urls if url is not None]
    cache = UploadCache.open(
        settings.cache_path, project=settings.root, allow_http=settings.allow_http
    )
    try:
        with open_host(settings, host_name) as host:
            if (problem := cannot(host, "delete")) is not None or not isinstance(
                host, DeletingHost
            ):
                return [problem or "this host can't delete"]
            uploads, problems = find_uploads(
                wanted, cache.entries_for(host.identity), settings.root, settings.root
            )
            if problems:
                return problems
            refs = count_uses(settings, wanted)
            chosen, kept = [], []
            for upload in uploads:
                uses = refs.uses(upload.entry.url, upload.md5)
                if len(uses) > MOST_USES:
                    places = ", ".join(str(use) for use in uses[:5])
                    kept.append(f"{upload.entry.url} is used in {len(uses)} places ({places})")
                else:
                    chosen.append(Upload(upload.md5, upload.entry, tuple(uses)))
            if kept:
                return [f"{line}; not deleted" for line in kept]
            done = delete_uploads(chosen, host, cache, settings.state_dir, None)
    except ImgsyncError as error:
        return [str(error)]
    return [f"{upload.entry.url}: not deleted: {reason}" for upload, reason in done.failed]


def _url(item: Any) -> str | None:
    if isinstance(item, str) and "//" in item:
        return item
    if isinstance(item, dict) and isinstance(item.get("imgUrl"), str):
        return str(item["imgUrl"])
    return None
