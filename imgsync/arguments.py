"""The command line's grammar: the commands, their options and the help that teaches them."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from . import __version__
from .arguments_moves import add_restore_and_adopt
from .terminal import safe_line

COMMANDS = (
    "sync",
    "check",
    "watch",
    "upload",
    "doctor",
    "init",
    "list",
    "prune",
    "delete",
    "albums",
    "verify",
    "migrate",
    "restore",
    "adopt",
    "serve",
)

_DESCRIPTION = """\
Upload the local images of your Markdown files to an image host and point the
references at the hosted URLs, changing nothing else in the files. Each image is
uploaded once, ever: the cache file (commit it) remembers the MD5 of its bytes.

  imgsync                       sync the project: upload new images, rewrite links
  imgsync docs/                 sync only docs/
  imgsync check                 offline: list local images left (exit 1 if any)
  imgsync watch                 sync, then sync each post again when it is saved
  imgsync upload a.png b.png    upload files, print one URL a line
  imgsync serve                 a PicGo-compatible server for editors (127.0.0.1:36677)
  imgsync -o build/ content/    publish-only: rewrite a copy, keep the sources local
  imgsync init                  write a starter imgsync.toml
  imgsync doctor                check the set-up end to end (uploads nothing)
  imgsync list                  the host's images: used here, unused, unknown
  imgsync prune                 list uploads nothing uses (--yes deletes them)
  imgsync delete a.png          delete one upload (refused while it is used)
  imgsync albums                the host's albums
  imgsync verify                every hosted image URL still serves its image
  imgsync migrate --to pichub   move every hosted image to another host profile
  imgsync restore               hosted images back as local files
  imgsync adopt                 host images hot-linked from other sites

Without PATH a command works on the project: the folders listed in `paths` in the
config, else the project's root: the config file's folder; without one, the folder
of an existing .imgsync-cache.json here or above (never above the git work tree),
else the git work tree's top, else this folder; from below your home folder, the
search stops short of it. `imgsync COMMAND --help` for more.
"""

_EPILOG = """\
exit status: 0 done (nothing local left), 1 check or --dry-run found work to do,
or doctor found a problem, 2 usage or configuration error, 3 some images failed
(the rest were done and saved), 130 interrupted. `watch` runs until Ctrl-C, then
exits 0.

configuration: imgsync.toml in this folder or a parent, or [tool.imgsync] in
pyproject.toml; without one, LSKY_BASE_URL and LSKY_TOKEN in the environment.
"""

_SYNC_EXIT = """\
exit status: 0 done (nothing local left); 1 --dry-run found work to do; 2 usage or
configuration error; 3 some images failed (the rest were done and saved); 130
interrupted.
"""
_CHECK_EXIT = """\
exit status: 0 no local image left; 1 some are left (listed); 2 usage or
configuration error; 3 a file or reference could not be read.
"""
_UPLOAD_EXIT = """\
exit status: 0 every file has a URL; 2 usage or configuration error; 3 some files
failed (the others' URLs are printed); 130 interrupted.
"""
_DOCTOR_DESCRIPTION = """\
Check the set-up end to end without uploading anything, one line a check: the
config file (or the environment alone), the project root, the cache file (readable,
writable, valid), the host profile and its URL (and where the token comes from,
never the token), the host reachable (DNS, connect, TLS), the token accepted by a
read-only call where the host has one (Lsky: GET /profile; PicHub: GET /images;
Chevereto has none), and what a sync would do (offline, as --dry-run).
"""
_DOCTOR_EXIT = """\
exit status: 0 every check passed; 1 a check failed (its line says what to do);
2 usage error.
"""

_WATCH_DESCRIPTION = """\
Sync PATH once, then keep watching it: each Markdown file saved under PATH is
synced again 0.2 s after its last change, one line a round on stderr:

  docs/post.md: 1 uploaded, 2 links rewritten

- Saves through a temp file renamed over the post (most editors) are followed.
- imgsync's own rewrites are recognised by their content: they start no round.
- A post whose image is missing is synced again as soon as that file appears,
  so pasting the image after writing the link works.
- A failed round prints why; watching goes on. Fix it and save again.
- The configuration's include and exclude apply; hidden and temp files, and
  anything outside PATH, are left alone.

Ctrl-C stops watching: exit 0 (uploads already done are recorded).

  imgsync watch docs/
  imgsync watch --poll /mnt/share/blog    where the system sends no events
"""


def with_default_command(
    argv: list[str], parser: argparse.ArgumentParser | None = None
) -> list[str]:
    """Put the command first: `imgsync docs/` is `imgsync sync docs/`, and options written
    before the command (`imgsync --host b check .`) move after it.

    Which options take a value is read off `parser` (build_parser()'s, made here if not
    given), so that a new option can't be missing here.
    """
    index = 0
    while index < len(argv):
        token = argv[index]
        if token in ("-h", "--help", "--version"):
            return argv
        if token in COMMANDS:
            return [token, *argv[:index], *argv[index + 1 :]]
        if token == "--" or not token.startswith("-"):
            break
        if parser is None:
            parser = build_parser()
        index += 2 if token in _options_taking_a_value(parser) else 1
    return ["sync", *argv]


def _options_taking_a_value(parser: argparse.ArgumentParser) -> frozenset[str]:
    """Every option string, of any command, that is followed by a value (`--host NAME`)."""
    # argparse keeps its actions in attributes without a public accessor; the tests
    # in test_arguments.py read the same ones, so a change in argparse shows there.
    parsers = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            parsers.extend(action.choices.values())
    return frozenset(
        option
        for each in parsers
        for action in each._actions
        if action.nargs != 0  # flags (store_true, --help, --version) take none
        for option in action.option_strings
    )


class _Parser(argparse.ArgumentParser):
    """argparse's errors quote the arguments, which a shell glob may have filled with hostile
    file names (`imgsync upload *.png`): the message is made safe to print."""

    def error(self, message: str) -> NoReturn:
        super().error(safe_line(message))


# What every command's Namespace holds, whether or not the command offers the option, so
# that cli.py reads `args.json` alike for all: the defaults of options a command lacks.
_ABSENT: dict[str, object] = {
    "config": None,
    "host": None,
    "json": False,
    "jobs": None,
    "quiet": False,
}
_ABSENT |= {"verbose": False, "dry_run": False, "paths": [], "reprocess": False, "output": None}
_PROJECT_PATHS = (
    "Markdown files or folders (default: the project: `paths` in the config, else the "
    "project's root; `imgsync --help` says how it is found)"
)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's, told the terminal's width: argparse makes a formatter for every argument
    added, and without a width each one reads it through shutil, whose import (with bz2 and
    lzma) every run would pay for."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _terminal_columns() - 2  # as argparse does with shutil's
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    """shutil.get_terminal_size().columns: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="imgsync",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"imgsync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str, options: str, *, help: str, description: str, epilog: str | None = None
    ) -> _Parser:
        """A command that offers exactly `options` (letters, see _add_options)."""
        made: _Parser = sub.add_parser(
            name,
            help=help,
            description=description,
            epilog=epilog,
            formatter_class=_Formatter,
        )
        _add_options(made, options)
        made.set_defaults(**_ABSENT)
        return made

    sync = command(
        "sync",
        "chjqvJ",
        help="upload new images and rewrite (default)",
        description="Upload each local image never uploaded before, then rewrite its\n"
        "references to the hosted URL. `imgsync` alone, or with options only\n"
        "(`imgsync --dry-run`), syncs the project.",
        epilog=_SYNC_EXIT,
    )
    sync.add_argument("paths", nargs="*", metavar="PATH", help=_PROJECT_PATHS)
    sync.add_argument(
        "-n",
        "--dry-run",
        action="store_true",
        help="upload and write nothing; list what would change (exit 1 if anything)",
    )
    sync.add_argument(
        "--reprocess",
        action="store_true",
        help="upload again, with today's settings, the images that were uploaded with other "
        "processing settings (max_width, convert...), from their original files, and point "
        "their references (local or already hosted) at the new upload: docs/processing.md",
    )
    sync.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="publish-only: copy PATH (one folder or file) into DIR and rewrite the copies, "
        "leaving the sources with their local paths; uploads and the cache as ever "
        "(docs/publish.md)",
    )

    check = command(
        "check",
        "cjqv",
        help="offline: list local images left",
        description="List every local image reference left, as FILE:LINE: REFERENCE.\n"
        "Makes no network request.",
        epilog=_CHECK_EXIT,
    )
    check.add_argument("paths", nargs="*", metavar="PATH", help=_PROJECT_PATHS)
    check.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text: FILE:LINE: REFERENCE lines (default); json: the --json document; "
        "github: GitHub Actions error annotations",
    )
    check.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)

    serve = command(
        "serve",
        "ch",
        help="a local PicGo-compatible server for editors (Obsidian, Typora, VS Code)",
        description="Listen on 127.0.0.1 and upload what editors send, as PicGo's server does\n"
        '(POST /upload with {"list": [paths]} or a form, /delete, /heartbeat), through\n'
        "this project's host, cache and dedup. Point the editor's PicGo setting at\n"
        "http://127.0.0.1:36677/upload (docs/editors.md). Ctrl-C stops it.",
        epilog="exit status: 0 stopped with Ctrl-C; 2 usage or configuration error\n"
        "(the port in use, no host configured).",
    )
    serve.add_argument(
        "--port", type=_port, default=36677, help="the port on 127.0.0.1 (default: 36677, PicGo's)"
    )
    serve.add_argument(
        "--key",
        metavar="SECRET",
        help="require this key (?key=, as PicList sends it); better from the environment: "
        "IMGSYNC_SERVE_KEY, which no process list shows",
    )

    watch = command(
        "watch",
        "chqvJ",
        help="sync, then sync each post again when it is saved",
        description=_WATCH_DESCRIPTION,
    )
    watch.add_argument("paths", nargs="*", metavar="PATH", help=_PROJECT_PATHS)
    watch.add_argument(
        "--poll",
        action="store_true",
        help="look for changes every 0.5 s instead of waiting for the system's events "
        "(network shares, container mounts, WSL folders on Windows drives)",
    )

    upload = command(
        "upload",
        "chjqvJ",
        help="upload image files, print URLs",
        description="Upload image files and print their URLs, one a line, in the order\n"
        "given (what Typora's custom upload command reads).",
        epilog=_UPLOAD_EXIT,
    )
    upload.add_argument(
        "files", nargs="+", metavar="FILE", help="image files (PNG, JPEG, GIF, WebP, SVG...)"
    )
    upload.add_argument(
        "--format",
        choices=("url", "markdown"),
        default="url",
        help="print bare URLs (default) or ![name](url) lines",
    )
    upload.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)

    doctor = command(
        "doctor",
        "chj",
        help="check the set-up end to end, uploading nothing",
        description=_DOCTOR_DESCRIPTION,
        epilog=_DOCTOR_EXIT,
    )
    doctor.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="what to count as a sync would (default: the project, as for `imgsync` alone)",
    )

    _add_manage_commands(command)
    _add_verify(command)
    _add_migrate(command)
    add_restore_and_adopt(command, _jobs)

    init = sub.add_parser(
        "init",
        help="write a starter imgsync.toml",
        description="Write a commented starter imgsync.toml here (or at --config FILE), "
        "then run `imgsync doctor` to test it.",
        formatter_class=_Formatter,
    )
    init.add_argument(
        "--config", metavar="FILE", help="where to write it (default: ./imgsync.toml)"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(**(_ABSENT | {"config": None}))
    return parser


_USES = """\
What counts as a use: a reference to the hosted URL (its ?query and #fragment
ignored), a local reference to a file with the same bytes, or the URL anywhere in
a Markdown file's text (a code block: "mentioned"). Uses are counted in every
Markdown file of the project, and in a git work tree also in the committed
Markdown of every other local branch and every tag (read through git, nothing
checked out).
"""

_LIST_DESCRIPTION = (
    """\
List every image on the host account, joined with the project:
  referenced    used here (each use printed under it, FILE:LINE [on branch B])
  unreferenced  uploaded by this project (in its cache), used nowhere any more
  unknown       the cache doesn't record it: uploaded by hand or by another tool
then the totals, with bytes. A progress bar on stderr while pages are read.

"""
    + _USES
    + """
  imgsync list
  imgsync list --json > images.json      the schema: docs/host-images.md
  imgsync list posts/2024/               images used in or uploaded from there
  imgsync list --host pichub
"""
)

_PRUNE_DESCRIPTION = (
    """\
Delete from the host the uploads of this project (recorded in its cache, for
this host) that nothing uses any more. Without --yes it only lists them.

Kept, and listed with the reason: an upload used anywhere; one younger than
--older-than; one of unknown upload time (unless --undated); one the cache
records without a handle to delete it with. An image the cache doesn't record
is never deleted. A sync or watch running meanwhile can't lose an image: each
upload is taken out of the cache under its lock, its uses counted again, and
only then deleted.

"""
    + _USES
    + """
  imgsync prune                          what would be deleted (exit 1 if any)
  imgsync prune --yes                    delete them
  imgsync prune --older-than 2w --yes    only uploads at least two weeks old
  imgsync prune posts/2023/              only uploads made from posts/2023/
"""
)
_PRUNE_EXIT = """\
exit status: 0 nothing to prune, or all deleted; 1 something would be deleted
(without --yes); 2 usage or configuration error, or a host that can't delete
(Chevereto: without --yes it lists what to delete by hand in the site's pages);
3 some deletions failed (they stay in the cache).
"""

_DELETE_DESCRIPTION = """\
Delete chosen uploads from the host and forget them in the cache, each named by
its local image file (its bytes, or the path it was uploaded from) or by its
hosted URL. An upload still used is refused, saying where; --force deletes it all
the same and lists the references that now point at a deleted image. No Markdown
file is rewritten.

  imgsync delete posts/img/old-plot.png
  imgsync delete https://img.example.com/i/2026/11/23/abc.png
  imgsync delete --force img/draft.png
"""
_DELETE_EXIT = """\
exit status: 0 all deleted; 2 usage or configuration error, a name that names no
upload, or a host that can't delete; 3 some were refused (still used) or failed.
"""

_ALBUMS_DESCRIPTION = """\
List the albums of the host account, with their image counts when the host says.
A host without albums says so in one line (exit 2).

  imgsync albums
  imgsync albums --json
"""


def _add_manage_commands(command: Callable[..., _Parser]) -> None:
    """list, prune, delete, albums: the life of an image on the host."""
    listing = command(
        "list",
        "chjqv",
        help="the host's images, joined with the project",
        description=_LIST_DESCRIPTION,
        epilog="exit status: 0 listed; 2 usage or configuration error, or a host that\n"
        "can't list; 3 the host's listing failed.",
    )
    listing.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="only the images used in, or uploaded from, these files or folders (uses are "
        "always counted over the whole project)",
    )
    prune = command(
        "prune",
        "chqv",
        help="delete uploads nothing uses (lists unless --yes)",
        description=_PRUNE_DESCRIPTION,
        epilog=_PRUNE_EXIT,
    )
    prune.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="only uploads made from these files or folders (uses are always counted "
        "over the whole project)",
    )
    prune.add_argument("-y", "--yes", action="store_true", help="delete them (else only list)")
    prune.add_argument(
        "--older-than",
        default="7d",
        type=_duration,
        metavar="AGE",
        help="keep uploads younger than this: 30m, 12h, 7d, 2w, 0d for none (default: 7d)",
    )
    prune.add_argument(
        "--undated",
        action="store_true",
        help="also delete uploads whose upload time the cache doesn't know (taken over "
        "from the legacy Lsky cache); they are kept by default",
    )
    delete = command(
        "delete",
        "chqv",
        help="delete chosen uploads (refused while used)",
        description=_DELETE_DESCRIPTION,
        epilog=_DELETE_EXIT,
    )
    delete.add_argument("names", nargs="+", metavar="FILE|URL", help="local images or hosted URLs")
    delete.add_argument(
        "--force", action="store_true", help="delete even while used (rewrites nothing)"
    )
    command(
        "albums",
        "chj",
        help="the host's albums",
        description=_ALBUMS_DESCRIPTION,
        epilog="exit status: 0 listed; 2 usage or configuration error, or a host without\n"
        "albums; 3 the host's listing failed.",
    )


def _duration(text: str) -> str:
    from .manage.durations import parse_duration

    try:
        parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


_VERIFY_DESCRIPTION = """\
Fetch every image URL of the Markdown hosted by one of the project's host profiles
(its URL in the cache, or under a profile's `serves` prefix) and report each
reference, as FILE:LINE: URL: reason, whose image is gone (404/410), redirected to a
login or error page, not an image, or no longer the bytes uploaded (SHA-256 against
the cache, where the host keeps the bytes; PicHub re-encodes: "not comparable").
Each URL is fetched once, a few at a time per server; a ranged GET of its first
bytes where the whole image isn't needed. Loopback, private, link-local and
metadata addresses are refused. Foreign URLs are skipped unless --foreign.

  imgsync verify                       the whole project
  imgsync verify docs/ --format github annotations in a scheduled CI job
  imgsync verify --foreign --format json > links.json
"""
_VERIFY_EXIT = """\
exit status: 0 every URL checked serves its image; 1 some references are broken
(listed); 2 usage or configuration error; 3 a Markdown file could not be read.
"""


def _add_verify(command: Any) -> None:
    verify = command(
        "verify",
        "cjq",
        help="check that every hosted image URL still serves its image",
        description=_VERIFY_DESCRIPTION,
        epilog=_VERIFY_EXIT,
    )
    verify.add_argument("paths", nargs="*", metavar="PATH", help=_PROJECT_PATHS)
    verify.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        metavar="N",
        help="URLs fetched at a time (default: `jobs` in the config, else 8; at most 4 "
        "to one server)",
    )
    verify.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text: FILE:LINE: URL: reason lines (default); json: one document "
        "(docs/ci.md); github: GitHub Actions error annotations",
    )
    verify.add_argument(
        "--foreign",
        action="store_true",
        help="also check image URLs of other sites (that each serves an image)",
    )
    verify.add_argument(
        "--allow-private-addresses",
        action="store_true",
        help="let URLs reach loopback and private addresses (an intranet host, tests); "
        "never in CI on pull requests",
    )


_MIGRATE_DESCRIPTION = """\
Move every image reference hosted by another of the project's host profiles (its
URL in the cache, or under a profile's `serves` prefix) to the profile NAME. Each
image's bytes come from its local file while that still matches the cache's hashes,
else they are downloaded from the old URL and checked against the cache's MD5 and
SHA-256 (a host that re-encodes, such as PicHub's WebP, can't be checked that way:
said for each such image). Each image is uploaded once (one already on NAME is not
uploaded again), recorded in the cache, and only then are its references rewritten,
a URL's own ?query and #fragment kept. Foreign and local references stay as they
are; so do the old host's images (`imgsync prune --host OLD` can delete them later).
Interrupted, it is run again: it finishes without uploading anything twice.

  imgsync migrate --to pichub --dry-run   what would move, and where bytes come from
  imgsync migrate --to pichub             move the whole project
  imgsync migrate --to pichub posts/      only the posts under posts/
"""
_MIGRATE_EXIT = """\
exit status: 0 every hosted reference is on NAME; 1 --dry-run found references to
move; 2 usage or configuration error; 3 some images failed (the rest were moved and
saved: run it again once fixed); 130 interrupted.
"""


def _add_migrate(command: Any) -> None:
    migrate = command(
        "migrate",
        "cjqvJ",
        help="move every hosted image to another host profile",
        description=_MIGRATE_DESCRIPTION,
        epilog=_MIGRATE_EXIT,
    )
    migrate.add_argument("paths", nargs="*", metavar="PATH", help=_PROJECT_PATHS)
    migrate.add_argument(
        "--to", required=True, metavar="NAME", help="the [hosts.NAME] profile to move to"
    )
    migrate.add_argument(
        "-n",
        "--dry-run",
        action="store_true",
        help="download, upload and write nothing; list each reference that would move "
        "and where its bytes would come from (exit 1 if any)",
    )
    migrate.add_argument(
        "--allow-private-addresses",
        action="store_true",
        help="let downloads reach loopback and private addresses (an intranet host, "
        "tests); never in CI on pull requests",
    )


def _add_options(parser: argparse.ArgumentParser, letters: str) -> None:
    """The options shared by several commands, each named by a letter: c --config,
    h --host, j --json, q --quiet, v --verbose, J --jobs. Same name, same meaning everywhere."""
    if "c" in letters:
        parser.add_argument(
            "--config",
            metavar="FILE",
            help="the configuration file (default: "
            "imgsync.toml or pyproject.toml found upward from here)",
        )
    if "h" in letters:
        parser.add_argument("--host", metavar="NAME", help="the [hosts.NAME] profile to use")
    if "j" in letters:
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    if "J" in letters:
        parser.add_argument(
            "-j",
            "--jobs",
            type=_jobs,
            metavar="N",
            help="uploads at a time (default: `jobs` in the config, else 8)",
        )
    if "q" in letters:
        parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    if "v" in letters:
        parser.add_argument("-v", "--verbose", action="store_true", help="say more")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be from 0 to 65535 (0: any free port)")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("must be from 1 to 64")
    return value
