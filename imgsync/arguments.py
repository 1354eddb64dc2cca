"""The command line's grammar: the commands, their options and the help that teaches them."""

from __future__ import annotations

import argparse
from typing import NoReturn

from . import __version__
from .terminal import safe_line

COMMANDS = ("sync", "check", "watch", "upload", "init")

_DESCRIPTION = """\
Upload the local images of your Markdown files to an image host and point the
references at the hosted URLs, changing nothing else in the files. Each image is
uploaded once, ever: the cache file (commit it) remembers the MD5 of its bytes.

  imgsync docs/                 sync: upload new images, rewrite references
  imgsync check docs/           offline: list local images left (exit 1 if any)
  imgsync watch docs/           sync, then sync each post again when it is saved
  imgsync upload a.png b.png    upload files, print one URL a line
  imgsync init                  write a starter imgsync.toml
"""

_EPILOG = """\
exit status: 0 done (nothing local left), 1 check or --dry-run found work to do,
2 usage or configuration error, 3 some images failed (the rest were done and saved),
130 interrupted. `watch` runs until Ctrl-C, then exits 0.

configuration: imgsync.toml in this folder or a parent, or [tool.imgsync] in
pyproject.toml; without one, LSKY_BASE_URL and LSKY_TOKEN in the environment.
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


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        help="the configuration file (default: "
        "imgsync.toml or pyproject.toml found upward from here)",
    )
    common.add_argument("--host", metavar="NAME", help="the [hosts.NAME] profile to use")
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        metavar="N",
        help="uploads at a time (default: `jobs` in the config, else 8)",
    )
    common.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    common.add_argument("-v", "--verbose", action="store_true", help="say more")

    parser = _Parser(
        prog="imgsync",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"imgsync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sync = sub.add_parser(
        "sync",
        parents=[common],
        help="upload new images and rewrite (default)",
        description="Upload each local image never uploaded before, then "
        "rewrite its references to the hosted URL.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sync.add_argument("paths", nargs="+", metavar="PATH", help="Markdown files or folders")
    sync.add_argument(
        "-n",
        "--dry-run",
        action="store_true",
        help="upload and write nothing; list what would change (exit 1 if anything)",
    )

    check = sub.add_parser(
        "check",
        parents=[common],
        help="offline: list local images left",
        description="List every local image reference left, as FILE:LINE: "
        "REFERENCE. Makes no network request. Exit 1 if any is left.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text: FILE:LINE: REFERENCE lines (default); json: the --json document; "
        "github: GitHub Actions error annotations",
    )
    check.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)

    watch = sub.add_parser(
        "watch",
        parents=[common],
        help="sync, then sync each post again when it is saved",
        description=_WATCH_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch.add_argument("paths", nargs="+", metavar="PATH", help="Markdown files or folders")
    watch.add_argument(
        "--poll",
        action="store_true",
        help="look for changes every 0.5 s instead of waiting for the system's events "
        "(network shares, container mounts, WSL folders on Windows drives)",
    )

    upload = sub.add_parser(
        "upload",
        parents=[common],
        help="upload image files, print URLs",
        description="Upload image files and print their URLs, one a line, in "
        "the order given (what Typora's custom upload command reads).",
    )
    upload.add_argument("files", nargs="+", metavar="FILE")
    upload.add_argument(
        "--format",
        choices=("url", "markdown"),
        default="url",
        help="print bare URLs (default) or ![name](url) lines",
    )
    upload.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)

    init = sub.add_parser(
        "init",
        parents=[common],
        help="write a starter imgsync.toml",
        description="Write a commented starter imgsync.toml here (or at --config FILE).",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    return parser


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("must be from 1 to 64")
    return value
