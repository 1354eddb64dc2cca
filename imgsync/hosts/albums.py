"""Uploads into the profile's `album` (by name): found among the host's albums, made where
the host's API can make one, its id remembered so the next run asks nothing.

Generic: any AlbumHost whose profile takes `album_id` works through it (the host is
built again with the id found as its `album_id`), whether it can create albums or not.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..errors import ConfigError, HostError
from . import create_host
from .album_option import split_album
from .base import AlbumHost, Host, HostProfile

if TYPE_CHECKING:
    import httpx

    from ..state.album_ids import AlbumIds


@dataclass(frozen=True)
class AlbumChoice:
    """The album a run uploads into, and whether its id came from memory unasked."""

    name: str
    id: str
    remembered: bool
    identity: str  # the host's, as the memory is keyed

    def forget(self, memory: AlbumIds) -> None:
        """Drop the remembered id: the next run looks the album up again by name."""
        memory.remember(self.identity, self.name, None)


def create_upload_host(
    profile: HostProfile, http: httpx.Client, memory: AlbumIds
) -> tuple[Host, AlbumChoice | None]:
    """The host a run uploads with: with the profile's `album` found (or made) and set as
    its `album_id`. ConfigError naming the file for an album the host can't have."""
    bare, name = split_album(profile)
    host = create_host(bare, http)
    if name is None:
        return host, None
    if not isinstance(host, AlbumHost):
        raise ConfigError(
            f"host profile {profile.name!r}: 'album' is found by name among the host's "
            f"albums, and the {profile.type} API lists none: set album_id (the id the host's "
            "web page shows) instead",
            profile.source,
        )
    remembered = memory.get(host.identity, name)
    album_id = remembered if remembered is not None else _find_or_make(host, name, profile)
    if remembered is None:
        memory.remember(host.identity, name, album_id)
    choice = AlbumChoice(name, album_id, remembered is not None, host.identity)
    with_id = dataclasses.replace(bare, options={**bare.options, "album_id": album_id})
    return create_host(with_id, http), choice


def _find_or_make(host: AlbumHost, name: str, profile: HostProfile) -> str:
    """The id of the album called `name` (the oldest, if several are), made if missing."""
    albums = host.albums()
    named = [album for album in albums if album.name == name]
    if named:
        return min(named, key=lambda album: _id_order(album.id)).id
    if host.can_create_albums:
        return host.create_album(name).id
    others = ", ".join(repr(album.name) for album in albums[:10]) or "none"
    more = f" and {len(albums) - 10} more" if len(albums) > 10 else ""
    raise ConfigError(
        f"host profile {profile.name!r}: album {name!r} is not among the host's albums "
        f"({others}{more}), and the {profile.type} API can't create albums: create it on the "
        "host's web page, then run again (or set album_id to an album's id)",
        profile.source,
    )


def _id_order(album_id: str) -> tuple[int, int | str]:
    return (0, int(album_id)) if album_id.isdigit() else (1, album_id)


Finding = tuple[Literal["ok", "note", "fail"], str, str]  # verdict, what was found, advice


def album_finding(profile: HostProfile, host: Host) -> Finding | None:
    """What `imgsync doctor` says of the profile's album, asking the host only to list:
    (verdict, what was found, advice); None when the profile names no album."""
    bare, name = split_album(profile)
    note = getattr(type(host), "album_note", "")  # e.g. who reads album_id (Lsky Pro+ only)
    told = f"; {note}" if note else ""
    if name is None:
        if "album_id" not in bare.options:
            return None
        return (
            "note" if note else "ok",
            f"uploads go to album_id {bare.options['album_id']}{told}",
            "",
        )
    if not isinstance(host, AlbumHost):
        return (
            "fail",
            f"'album' {name!r} can't be found by name: the {profile.type} API lists no albums",
            "set album_id (the id the host's web page shows) instead",
        )
    try:
        albums = host.albums()
    except HostError as error:
        return (
            "fail",
            f"the host's albums could not be listed: {error}",
            "read the host's message",
        )
    named = sorted((a for a in albums if a.name == name), key=lambda a: _id_order(a.id))
    if named:
        count = f", {named[0].image_count} image(s)" if named[0].image_count is not None else ""
        found = f"album {name!r} is id {named[0].id} on the host{count}{told}"
        return ("note" if note else "ok", found, "")
    if host.can_create_albums:
        return (
            "ok",
            f"album {name!r} is not on the host yet: the first sync that uploads creates it",
            "",
        )
    return (
        "fail",
        f"album {name!r} is not among the host's {len(albums)} album(s), and the "
        f"{profile.type} API can't create albums",
        "create it on the host's web page, or set album_id to an album's id",
    )
