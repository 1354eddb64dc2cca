"""The grammar and help of `restore` and `adopt`: hosted images back to local files, and
foreign images onto your host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_PATHS = (
    "Markdown files or folders (default: the project: `paths` in the config, else the "
    "project's root)"
)
_PRIVATE = (
    "let downloads reach loopback, private, link-local and metadata addresses (an intranet "
    "site, tests); never in CI on pull requests, whose Markdown could name internal URLs"
)

_RESTORE_DESCRIPTION = """\
The way back from a host: every image referenced by a URL of one of the project's
host profiles (its URL in the cache, or under a profile's `serves` prefix) becomes a
project file again, and each reference points at it: a path relative to the
Markdown file (a /rooted one when `site_root` is a folder of its own and the image
lies under it).

- Bytes: the file at the path the cache recorded, when it still holds the image;
  else downloaded (bounded in size and time) and held against the cache's SHA-256.
  Other bytes are refused, but where the host re-encodes (PicHub's WebP): those are
  restored as served and said "not verified", as are images known only by `serves`.
- Place: the recorded path when it is free or already holds the image, else --into
  under the recorded file's name (the MD5's start added on a clash). No existing
  file is ever replaced.
- The cache keeps its entries: a sync afterwards uploads nothing again.

  imgsync restore --dry-run             list the references that would come back
  imgsync restore                       the whole project
  imgsync restore posts/ --into static/img/restored
"""
_RESTORE_EXIT = """\
exit status: 0 every hosted image restored; 1 --dry-run found some; 2 usage or
configuration error; 3 some images failed (FILE:LINE: why; the rest were restored).
"""

_ADOPT_DESCRIPTION = """\
Host the images your Markdown hot-links from other sites (URLs of none of the
project's host profiles; a link only when it names an image file) on your own
host, and point the references at it. Each image is downloaded (at most
`max_size`, else 20 MB, within 60 s, redirects limited), held to be an image by
its bytes, and uploaded once: one with the bytes of an image already in the cache
is not uploaded again. The cache records the URL it came from. Downloads never go
to loopback, private, link-local or metadata addresses unless
--allow-private-addresses: a pull request must not make CI fetch internal URLs.
An image that fails (too large, not an image, refused) fails alone.

  imgsync adopt --dry-run                    list the foreign images referenced
  imgsync adopt --from example.com           only example.com's (and subdomains')
  imgsync adopt posts/ --host blog
"""
_ADOPT_EXIT = """\
exit status: 0 every foreign image hosted; 1 --dry-run found some; 2 usage or
configuration error; 3 some images failed (FILE:LINE: why; the rest were hosted).
"""


def add_restore_and_adopt(command: Any, jobs: Callable[[str], int]) -> None:
    """Both commands, made by build_parser's `command(name, letters, ...)`; `jobs` reads -j."""
    restore = command(
        "restore",
        "cjqv",
        help="bring hosted images back as local files",
        description=_RESTORE_DESCRIPTION,
        epilog=_RESTORE_EXIT,
    )
    restore.add_argument("paths", nargs="*", metavar="PATH", help=_PATHS)
    restore.add_argument(
        "-j", "--jobs", type=jobs, metavar="N", help="downloads at a time (default: `jobs`, 8)"
    )
    restore.add_argument(
        "--into",
        metavar="DIR",
        help="where images go that can't go back to their recorded path (default: "
        "images/restored under the project's root)",
    )
    adopt = command(
        "adopt",
        "chjqvJ",
        help="host images hot-linked from other sites",
        description=_ADOPT_DESCRIPTION,
        epilog=_ADOPT_EXIT,
    )
    adopt.add_argument("paths", nargs="*", metavar="PATH", help=_PATHS)
    adopt.add_argument(
        "--from",
        dest="domains",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="only images of this site and its subdomains (repeat for more)",
    )
    for made in (restore, adopt):
        made.add_argument(
            "-n",
            "--dry-run",
            action="store_true",
            help="download and write nothing; list the references (exit 1 if any)",
        )
        made.add_argument("--allow-private-addresses", action="store_true", help=_PRIVATE)
