"""The `album = "name"` profile option read and checked, apart from every host's own options.

Any host whose API takes an album on upload (`album_id`) and lists its albums takes it;
albums.py finds the album by name. Every host is built from the profile without it.
"""

from __future__ import annotations

import dataclasses

from .options import ProfileOptions
from .profile import HostProfile

ALBUM_OPTION = "album"


def split_album(profile: HostProfile) -> tuple[HostProfile, str | None]:
    """The profile without `album`, and the album's name (None when not set).

    ConfigError naming the file and the profile for a name that is not text, or for
    `album` and `album_id` together (which one should the uploads go to?).
    """
    if ALBUM_OPTION not in profile.options:
        return profile, None
    options = ProfileOptions(profile, profile.options)  # every key known: only `album` read
    name = options.text(ALBUM_OPTION, message="'album' must be an album's name (a string)")
    if "album_id" in profile.options:
        options.bad(
            "'album' and 'album_id' both name an album: keep 'album' (found by name, its id "
            "remembered) or 'album_id' (the id as the host shows it), not both"
        )
    kept = {k: v for k, v in profile.options.items() if k != ALBUM_OPTION}
    return dataclasses.replace(profile, options=kept), name
