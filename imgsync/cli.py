"""The command line: parse arguments, call the library, turn its report into an exit status."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .arguments import build_parser, with_default_command
from .config import Settings, load_settings
from .errors import CacheError, ConfigError, ImgsyncError
from .report import EXIT_INTERRUPTED, EXIT_USAGE, Failure, Report, display_path
from .starter_config import write_starter_config

if TYPE_CHECKING:
    from .progress import Progress


def main(argv: Sequence[str] | None = None) -> int:
    """Run imgsync with `argv` (default: sys.argv[1:]); return the exit status."""
    args = build_parser().parse_args(
        with_default_command(list(sys.argv[1:] if argv is None else argv))
    )
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
        from .upload_command import upload_files

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
    for notice in report.warnings:
        by_text.setdefault(notice.text, []).append(notice.image)
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
