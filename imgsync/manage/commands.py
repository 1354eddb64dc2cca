"""The front end of `imgsync list`, `prune`, `delete` and `albums`: the host and the cache
opened, the library called, its outcome worded (stdout for results, stderr for progress
and problems), the exit status returned."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..cache import UploadCache
from ..config import Settings
from ..errors import HostError
from ..hosts.base import AlbumHost, DeletingHost, ListingHost
from ..progress import Progress
from ..report import EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXIT_WORK_LEFT
from ..sizes import human_size
from ..terminal import safe_line
from ..upload import open_host
from .albums import albums_json, albums_lines
from .delete import find_uploads
from .listing import join_listing
from .project import cannot, count_uses
from .prune import PrunePlan, Upload, delete_uploads, plan_prune
from .references import References, url_key


def _out(line: str) -> None:
    print(safe_line(line), flush=True)


def _err(line: str) -> None:
    print(safe_line(line), file=sys.stderr, flush=True)


def _open_cache(settings: Settings) -> UploadCache:
    return UploadCache.open(
        settings.cache_path, project=settings.root, allow_http=settings.allow_http
    )


def list_images(
    settings: Settings,
    host_name: str | None,
    *,
    as_json: bool,
    progress: Progress,
    within: list[str] | None = None,
) -> int:
    cache = _open_cache(settings)
    progress.action = "listing"
    with open_host(settings, host_name) as host:
        if (problem := cannot(host, "list")) is not None or not isinstance(host, ListingHost):
            _err(f"imgsync: {problem}")
            return EXIT_USAGE
        entries = cache.entries_for(host.identity)

        listed = _listing_progress(progress)
        try:
            images = list(host.list_images(listed))
        except HostError as error:
            progress.finish()
            _err(f"imgsync: error: listing the images failed: {error}")
            return EXIT_FAILED
        progress.finish()
    refs = count_uses(settings, [image.url for image in images])
    listing = join_listing(images, entries, refs)
    if within is not None:
        listing = listing.within(within)
    totals = listing.totals()
    if as_json:
        document = {
            "host": host.identity,
            "images": [row.to_json() for row in listing.rows],
            "totals": totals,
            "recorded_not_listed": listing.not_listed,
            "warnings": refs.warnings + refs.unread,
        }
        print(json.dumps(document, ensure_ascii=True, indent=2))
        return EXIT_OK
    for row in listing.rows:
        size = human_size(row.image.size) if row.image.size is not None else "size unknown"
        _out(f"{row.status:<12} {row.image.url} ({size})")
        for use in row.uses:
            _out(f"    {use}")
    for status in ("referenced", "unreferenced", "unknown", "all"):
        count = totals[status]
        _out(f"{status}: {count['images']} image(s), {human_size(count['bytes'])}")
    if listing.not_listed:
        _out(
            f"{listing.not_listed} upload(s) the cache records were not in the host's listing"
            " (deleted by hand, or in an album the listing leaves out)"
        )
    for warning in refs.warnings + refs.unread:
        _err(f"imgsync: warning: {warning} (its uses are not counted)")
    return EXIT_OK


def _listing_progress(progress: Progress) -> Callable[[int, int | None], None]:
    """What list_images calls after each page: the bar moved to the count listed so far."""
    shown = [0]

    def listed(done: int, total: int | None) -> None:
        if shown[0] == 0 and done:
            progress.start(max(total or 0, done))
        for _ in range(done - shown[0]):
            progress.advance("")
        shown[0] = done

    return listed


def prune(
    settings: Settings,
    host_name: str | None,
    *,
    yes: bool,
    older_than: timedelta,
    undated: bool,
    sources: Sequence[str] | None,
    progress: Progress,
    verbose: bool = False,
) -> int:
    cache = _open_cache(settings)
    with open_host(settings, host_name) as host:
        entries = cache.entries_for(host.identity)
        problem = cannot(host, "delete")
        if problem is not None and yes:
            _err(f"imgsync: {problem}; nothing was deleted")
            return EXIT_USAGE

        def recount() -> References:  # mentions of every URL planned for, deleted ones too
            return count_uses(settings, [e.url for e in entries.values()])

        refs = recount()
        now = datetime.now(UTC)
        plan = plan_prune(
            entries,
            refs,
            now=now,
            older_than=older_than,
            undated=undated,
            sources=sources,
            need_handle=problem is None,
        )
        for warning in refs.warnings + (refs.unread if not yes else []):
            _err(f"imgsync: warning: {warning} (its uses are not counted)")
        if yes and plan.doomed and refs.unread:
            return _unread(refs)
        if not yes or not plan.doomed:
            _show_plan(plan, by_hand=problem is not None, verbose=verbose)
            if problem is not None and plan.doomed:
                _err(f"imgsync: {problem}: delete each one above by hand, in the site's pages")
            return EXIT_WORK_LEFT if plan.doomed else EXIT_OK
        assert isinstance(host, DeletingHost)
        progress.action = "deleting"
        progress.start(len(plan.doomed))
        done = delete_uploads(
            plan.doomed, host, cache, settings.state_dir, recount, on_each=progress.advance
        )
        progress.finish()
    _show_kept(plan.kept, verbose=verbose)
    for upload in done.used_meanwhile:
        _out(f"kept {upload.entry.url}: used meanwhile, at {_places(upload)}")
    for upload, reason in done.failed:
        _err(f"imgsync: error: {upload.entry.url}: not deleted: {reason}")
    size = sum(u.entry.size for u in done.deleted)
    _out(f"deleted {len(done.deleted)} upload(s) from the host ({human_size(size)})")
    return EXIT_FAILED if done.failed else EXIT_OK


def _unread(refs: References) -> int:
    """Nothing deleted while git can't say where the images are used."""
    for what in refs.unread:
        _err(f"imgsync: error: {what}")
    _err(
        "imgsync: nothing was deleted: git could not be read, so uses on other branches and"
        " tags are unknown; fix what git says (e.g. `git config --global --add"
        " safe.directory DIR`), then run again"
    )
    return EXIT_USAGE


def _show_plan(plan: PrunePlan, *, by_hand: bool, verbose: bool) -> None:
    _show_kept(plan.kept, verbose=verbose)
    for upload in plan.doomed:
        entry = upload.entry
        where = f" (uploaded from {entry.source})" if entry.source else ""
        # A delete_url an older imgsync kept (Chevereto) is a secret: never shown.
        _out(f"would delete {entry.url}{where}")
    size = sum(u.entry.size for u in plan.doomed)
    if plan.doomed:
        hint = "" if by_hand else "; `imgsync prune --yes` deletes them"
        _out(f"{len(plan.doomed)} upload(s) used nowhere ({human_size(size)}){hint}")
    else:
        _out("nothing to prune: every upload of this project is used or kept")


def _show_kept(kept: list[Upload], *, verbose: bool) -> None:
    """Each upload kept for a reason a user may not expect: used only on another branch or
    tag, only mentioned, too young, undated, without a handle. Those used in the work tree
    too are counted, and listed with --verbose."""
    plain = 0
    for upload in kept:
        here = any(u.where == "" and u.how == "reference" for u in upload.uses)
        if here and not verbose:
            plain += 1
            continue
        why = f"used at {_places(upload)}" if upload.uses else upload.kept_because
        _out(f"kept {upload.entry.url}: {why}")
    if plain:
        _out(f"kept {plain} upload(s) referenced in the work tree (--verbose lists them)")


def _places(upload: Upload, most: int = 3) -> str:
    uses = [str(use) for use in upload.uses]
    more = f" and {len(uses) - most} more" if len(uses) > most else ""
    return ", ".join(uses[:most]) + more


def delete(settings: Settings, host_name: str | None, names: Sequence[str], *, force: bool) -> int:
    cache = _open_cache(settings)
    with open_host(settings, host_name) as host:
        if (problem := cannot(host, "delete")) is not None or not isinstance(host, DeletingHost):
            _err(f"imgsync: {problem}")
            return EXIT_USAGE
        entries = cache.entries_for(host.identity)
        uploads, problems = find_uploads(names, entries, settings.root, Path.cwd())
        for line in problems:
            _err(f"imgsync: error: {line}")
        if problems:
            return EXIT_USAGE
        refs = count_uses(settings, [u.entry.url for u in uploads])
        if refs.unread and not force:
            return _unread(refs)
        broken = {u.md5: refs.by_url.get(url_key(u.entry.url), set()) for u in uploads}
        chosen: list[Upload] = []
        refused: list[Upload] = []
        for upload in uploads:
            uses = tuple(refs.uses(upload.entry.url, upload.md5))
            (refused if uses and not force else chosen).append(
                Upload(upload.md5, upload.entry, uses)
            )
        for upload in refused:
            _err(
                f"imgsync: {upload.entry.url} is still used, at {_places(upload, 10)}; not"
                " deleted (remove those references first, or --force)"
            )
        urls = [u.entry.url for u in uploads]
        recount = None if force else (lambda: count_uses(settings, urls))
        done = delete_uploads(chosen, host, cache, settings.state_dir, recount)
    for upload in done.deleted:
        _out(f"deleted {upload.entry.url}")
        dangling = [u for u in upload.uses if u in broken[upload.md5]]
        local = [u for u in upload.uses if u not in broken[upload.md5]]
        if dangling:
            _out("  these references now point at a deleted image:")
            for use in dangling:
                _out(f"    {use}")
        if local:
            _out("  still used here (the next sync uploads it again):")
            for use in local:
                _out(f"    {use}")
    for upload in done.used_meanwhile:
        _err(f"imgsync: {upload.entry.url} became used meanwhile, at {_places(upload, 10)}; kept")
    for upload, reason in done.failed:
        _err(f"imgsync: error: {upload.entry.url}: not deleted: {reason}")
    return EXIT_FAILED if refused or done.failed or done.used_meanwhile else EXIT_OK


def albums(settings: Settings, host_name: str | None, *, as_json: bool) -> int:
    with open_host(settings, host_name) as host:
        if (problem := cannot(host, "albums")) is not None or not isinstance(host, AlbumHost):
            _err(f"imgsync: {problem}")
            return EXIT_USAGE
        try:
            found = host.albums()
        except HostError as error:
            _err(f"imgsync: error: listing the albums failed: {error}")
            return EXIT_FAILED
    if as_json:
        print(json.dumps({"host": host.identity, "albums": albums_json(found)}, indent=2))
    else:
        for line in albums_lines(found):
            _out(line)
    return EXIT_OK
