"""`imgsync prune`: delete from the host the uploads of this project that nothing uses.

The plan is pure: the cache's entries for the host, the uses found (references.py), the
time. Carrying it out holds the upload claims (state/claims.py) on the images: a sync that
would upload the same bytes waits, then finds them gone from the cache and uploads afresh.
Each entry is forgotten by the cache first, the uses counted again, and only then is the
image deleted: a reference added meanwhile keeps it (put back into the cache).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ..cache import CacheEntry, UploadCache
from ..errors import HostError
from ..files import private_folder
from ..hosts.base import DeletingHost
from ..state.claims import UploadClaims
from .durations import describe_age, parse_upload_time
from .references import References, Use

DEFAULT_OLDER_THAN = "7d"


@dataclass(frozen=True)
class Upload:
    """One upload of the cache, and what the plan says of it."""

    md5: str
    entry: CacheEntry
    uses: tuple[Use, ...] = ()
    kept_because: str = ""  # "" when it is to be deleted

    @property
    def doomed(self) -> bool:
        return not self.kept_because


@dataclass
class PrunePlan:
    """The uploads to delete and those kept, each with why."""

    doomed: list[Upload] = field(default_factory=list)
    kept: list[Upload] = field(default_factory=list)


def plan_prune(
    entries: Mapping[str, CacheEntry],
    refs: References,
    *,
    now: datetime,
    older_than: timedelta,
    undated: bool = False,
    sources: Sequence[str] | None = None,
    need_handle: bool = True,
) -> PrunePlan:
    """Which of `entries` (the cache's, for one host, by MD5) nothing uses.

    Kept: those used anywhere (`refs`), those uploaded less than `older_than` ago, those of
    unknown upload time (unless `undated`), those recorded without a handle (which can't be
    deleted). `sources` (project-relative folders or files) keeps to uploads made from there.
    `need_handle` False: a host whose API can't delete (Chevereto), where each is deleted by
    hand in its web pages, so a handle doesn't matter.
    """
    plan = PrunePlan()
    for md5, entry in sorted(entries.items(), key=lambda item: (item[1].source, item[0])):
        if sources is not None and not any(_under(entry.source, s) for s in sources):
            continue
        uses = tuple(refs.uses(entry.url, md5))
        when = parse_upload_time(entry.uploaded_at)
        if uses:
            why = "used"
        elif when is None and not undated:
            why = "its upload time is unknown (--undated deletes such uploads too)"
        elif when is not None and now - when < older_than:
            why = (
                f"uploaded {describe_age(now - when)} ago, younger than {describe_age(older_than)}"
            )
        elif not entry.handle and need_handle:
            why = "the cache has no handle to delete it with (upload made by an older tool)"
        else:
            why = ""
        upload = Upload(md5, entry, uses, why)
        (plan.doomed if upload.doomed else plan.kept).append(upload)
    return plan


def _under(source: str, folder: str) -> bool:
    folder = folder.strip("/")
    return folder in ("", ".") or source == folder or source.startswith(folder + "/")


@dataclass
class Deletion:
    """What deleting did: deleted, kept after all (used meanwhile), failed (and why)."""

    deleted: list[Upload] = field(default_factory=list)
    used_meanwhile: list[Upload] = field(default_factory=list)
    failed: list[tuple[Upload, str]] = field(default_factory=list)


def delete_uploads(
    uploads: Sequence[Upload],
    host: DeletingHost,
    cache: UploadCache,
    state_dir: Path,
    recount: Callable[[], References] | None,
    on_each: Callable[[str], None] = lambda line: None,
) -> Deletion:
    """Delete `uploads` from `host` and forget them in `cache`, safely against a sync or a
    watch running meanwhile (see the module's docstring). `recount` gives the uses as they
    are now (None: don't look again: `delete --force`)."""
    done = Deletion()
    if not uploads:
        return done
    identity = host.identity
    claims = UploadClaims(private_folder(state_dir) / "uploading.lock")
    with claims.hold([u.md5 for u in uploads]) as held:
        assert held  # no stop event: it waits for as long as a sync uploads
        cache.reload()
        gone = cache.forget(identity, [u.md5 for u in uploads])
        refs = recount() if recount is not None else None
        for upload in uploads:
            entry = gone.get(upload.md5)
            if entry is None:
                done.failed.append((upload, "no longer in the cache (another imgsync forgot it)"))
                continue
            if entry.url != upload.entry.url:  # uploaded again elsewhere meanwhile: not ours
                cache.record(identity, upload.md5, entry)
                done.used_meanwhile.append(upload)
                continue
            uses = refs.uses(entry.url, upload.md5) if refs is not None else []
            if uses:
                cache.record(identity, upload.md5, entry)
                done.used_meanwhile.append(Upload(upload.md5, entry, tuple(uses), "used"))
                continue
            try:
                host.delete(entry.handle)
            except (HostError, ValueError) as error:
                cache.record(identity, upload.md5, entry)  # still on the host: remembered
                done.failed.append((upload, str(error)))
                on_each(f"failed {entry.url}: {error}")
                continue
            done.deleted.append(upload)
            on_each(f"deleted {entry.url}")
    return done
