"""The command line: parse arguments, call the library, turn its report into an exit status."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .config import Settings, load_settings, write_starter_config
from .errors import CacheError, ConfigError, ImgsyncError
from .report import EXIT_INTERRUPTED, EXIT_USAGE, Failure, Report, display_path

if TYPE_CHECKING:
    from .progress import Progress

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run imgsync with `argv` (default: sys.argv[1:]); return the exit status."""
    args = _parser().parse_args(_with_default_command(list(sys.argv[1:] if argv is None else argv)))
    try:
        return _run(args)
    except (ConfigError, CacheError) as error:
        print(f"imgsync: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ImgsyncError as error:
        print(f"imgsync: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("imgsync: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    if args.command == "init":
        return _init(args)
    settings = _settings(args)
    if args.command == "check":
        from .pipeline import check

        report = check(_paths(args), settings)
        if args.format == "github" and not args.json:
            return _annotate(report, args)
        args.json = args.json or args.format == "json"
        return _finish(report, args, command="check")
    if args.command == "watch":
        from .watch import watch

        if args.json:
            print("imgsync: error: watch prints one line a round, not --json", file=sys.stderr)
            return EXIT_USAGE
        return watch(
            _paths(args),
            settings,
            host_name=args.host,
            poll=args.poll,
            verbose=args.verbose,
            quiet=args.quiet,
        )
    if args.command == "upload":
        from .upload import upload_files

        if args.dry_run:
            print(
                "imgsync: error: upload has no --dry-run (it would still upload); "
                "`imgsync --dry-run PATH` lists what a sync would upload",
                file=sys.stderr,
            )
            return EXIT_USAGE

        return upload_files(
            [Path(p) for p in args.files],
            settings,
            host_name=args.host,
            output=args.format,
            as_json=args.json,
            progress=_progress(args),
        )
    from .pipeline import sync

    # A factory: a run with nothing to upload never sets up a progress display.
    report = sync(
        _paths(args),
        settings,
        host_name=args.host,
        dry_run=args.dry_run,
        progress=lambda: _progress(args),
    )
    return _finish(report, args, command="sync")


def _settings(args: argparse.Namespace) -> Settings:
    config = Path(args.config) if args.config else None
    settings = load_settings(cwd=Path.cwd(), config_file=config, env=dict(os.environ))
    if args.jobs is not None:
        from dataclasses import replace

        settings = replace(settings, jobs=args.jobs)
    return settings


def _paths(args: argparse.Namespace) -> list[Path]:
    return [Path(p) for p in args.paths]


def _progress(args: argparse.Namespace) -> Progress:
    from .progress import Progress

    in_ci = bool(os.environ.get("CI"))
    return Progress(
        sys.stderr,
        quiet=args.quiet or args.json,
        verbose=args.verbose,
        bar=not in_ci and _is_terminal(sys.stderr),
    )


def _finish(report: Report, args: argparse.Namespace, *, command: str) -> int:
    status = report.exit_status()
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return status
    out, err = sys.stdout, sys.stderr
    if command == "check" or report.dry_run:
        for pending in report.pending:
            print(pending, file=out)
    elif args.verbose:
        for path in report.files_changed:
            print(f"rewrote {display_path(path)}", file=out)
    by_text: dict[str, list[str]] = {}
    for image, text in report.warnings:
        by_text.setdefault(text, []).append(image)
    for text, images in by_text.items():
        shown = images[0] if len(images) == 1 else f"{images[0]} and {len(images) - 1} more"
        print(f"warning: {shown}: {text}", file=err)
    _print_failures(report, err)
    if not args.quiet:
        _print_summary(report, command, err)
    return status


def _annotate(report: Report, args: argparse.Namespace) -> int:
    """`check --format github`: a GitHub Actions error annotation on stdout per finding."""
    from .annotations import github_annotations

    for line in github_annotations(report):
        print(line)
    if not args.quiet:
        _print_summary(report, "check", sys.stderr)
    return report.exit_status()


def _print_failures(report: Report, stream: TextIO) -> None:
    """One line per failure; a reason shared by several is said once, above their places."""
    by_reason: dict[str, list[Failure]] = {}
    for failure in report.failures:
        by_reason.setdefault(failure.reason, []).append(failure)
    for reason, failures in by_reason.items():
        if len(failures) == 1:
            print(f"error: {failures[0]}", file=stream)
            continue
        print(f"error: {len(failures)} references failed: {reason}", file=stream)
        for failure in failures:
            print(
                f"  {failure.where}: {failure.image}" if failure.image else f"  {failure.where}",
                file=stream,
            )


def _print_summary(report: Report, command: str, stream: TextIO) -> None:
    if command == "check":
        files = len({p.where.path for p in report.pending})
        if report.pending:
            print(
                f"{len(report.pending)} local image reference(s) left in {files} file(s); "
                "run `imgsync` to upload them",
                file=stream,
            )
        else:
            print(f"no local image references in {report.files_scanned} file(s)", file=stream)
        return
    print(report.summary(), file=stream)
    if report.interrupted:
        print(
            "interrupted: finished uploads were recorded and their references rewritten; "
            "run again to finish",
            file=stream,
        )


def _init(args: argparse.Namespace) -> int:
    path = Path(args.config) if args.config else Path.cwd() / "imgsync.toml"
    write_starter_config(path, force=args.force)
    print(f"wrote {path}; edit the [hosts] table, then run `imgsync check .`", file=sys.stderr)
    return 0


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def _with_default_command(argv: list[str]) -> list[str]:
    """Put the command first: `imgsync docs/` is `imgsync sync docs/`, and options written
    before the command (`imgsync --host b check .`) move after it."""
    takes_value = {"--config", "--host", "--jobs", "-j", "--format"}
    index = 0
    while index < len(argv):
        token = argv[index]
        if token in ("-h", "--help", "--version"):
            return argv
        if token in COMMANDS:
            return [token, *argv[:index], *argv[index + 1 :]]
        if token == "--" or not token.startswith("-"):
            break
        index += 2 if token in takes_value else 1
    return ["sync", *argv]


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
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

    parser = argparse.ArgumentParser(
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
