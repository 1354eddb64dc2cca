"""The command line: parse arguments, call the library, turn its report into an exit status."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

from .arguments import build_parser, with_default_command
from .config import Settings, load_settings
from .discover import Walked
from .errors import CacheError, ConfigError, ImgsyncError
from .render import Output, annotations_output, doctor_output, report_output, upload_output
from .report import EXIT_INTERRUPTED, EXIT_USAGE
from .terminal import safe_line

if TYPE_CHECKING:
    from .progress import Progress
    from .report import Report


def main(argv: Sequence[str] | None = None) -> int:
    """Run imgsync with `argv` (default: sys.argv[1:]); return the exit status."""
    # httpx's package imports its own command line, and with it click and pygments when
    # they happen to be installed (mkdocs brings click): 15-30 ms of every upload's start
    # for a program imgsync never runs. A module marked absent is an ImportError, which
    # httpx expects (it then defines a `main` that says to install httpx[cli]).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    started_ns = time.time_ns()  # what the run memo's files must be older than
    given = list(sys.argv[1:] if argv is None else argv)
    memo = _Memo(given, started_ns, _identity(given), Walked())
    parser = build_parser()
    args, unknown = parser.parse_known_args(with_default_command(given, parser))
    if unknown:  # said for the command: an option of another command is the likely mistake
        parser.error(
            f"`{args.command}` does not take {' '.join(unknown)}; "
            f"`imgsync {args.command} --help` lists what it takes"
        )
    try:
        return _run(args, memo)
    except (ConfigError, CacheError) as error:
        _say(f"imgsync: error: {error}")
        return EXIT_USAGE
    except ImgsyncError as error:
        _say(f"imgsync: error: {error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("imgsync: interrupted")
        return EXIT_INTERRUPTED


class _Memo(NamedTuple):
    """What the run memo of a `sync` or `check` is made of (run_memo.py): the command line,
    when the run began, and what its discovery walked."""

    argv: list[str]
    started_ns: int
    identity: bytes | None  # run_memo.identity as the run began (None: no folder to be in)
    walked: Walked

    def remember(
        self,
        args: argparse.Namespace,
        settings: Settings,
        paths: list[Path],
        report: Report,
        printed: tuple[str, str],
    ) -> None:
        """Leave the memo of this run, if it found nothing to do: the same command line
        is then answered before the rest of imgsync is even imported (launch.py)."""
        from .run_memo_write import remember

        if self.identity is None:
            return
        remember(
            argv=self.argv,
            environ=os.environ,
            started_ns=self.started_ns,
            identity=self.identity,
            settings=settings,
            paths=paths,
            named=[Path(args.config)] if args.config else [],
            walked=self.walked,
            report=report,
            printed=printed,
        )


def _identity(argv: list[str]) -> bytes | None:
    """What the run memo's answer rests on besides files (run_memo.identity), as this run
    begins: the code it runs among it. None if the current folder is gone."""
    from .run_memo import identity

    try:
        return identity(os.getcwd(), argv, os.environ)
    except OSError:
        return None


def _run(args: argparse.Namespace, memo: _Memo) -> int:
    if args.command == "init":
        return _init(args)
    if args.command == "doctor":
        from .doctor import diagnose  # the network checks: only for doctor

        diagnosis = diagnose(
            cwd=Path.cwd(),
            config_file=Path(args.config) if args.config else None,
            env=dict(os.environ),
            host_name=args.host,
            paths=_paths(args),
        )
        _show(doctor_output(diagnosis, as_json=args.json), document=args.json)
        return diagnosis.exit_status()
    settings = _settings(args)
    if args.command in ("list", "prune", "delete", "albums"):
        return _manage(args, settings)
    if args.command == "check":
        from .pipeline import check  # the Markdown seam: not for `upload`, `serve`

        paths = _paths(args, settings)
        report = check(paths, settings, walked=memo.walked)
        if args.format == "github" and not args.json:
            printed = _show(annotations_output(report, quiet=args.quiet), annotations=True)
        else:
            as_json = args.json or args.format == "json"
            output = report_output(
                report, command="check", as_json=as_json, verbose=args.verbose, quiet=args.quiet
            )
            printed = _show(output, document=as_json)
        memo.remember(args, settings, paths, report, printed)
        return report.exit_status()
    if args.command == "verify":
        return _verify(args, settings)
    if args.command == "migrate":
        return _migrate(args, settings)
    if args.command in ("restore", "adopt"):
        return _move(args, settings)
    if args.command == "serve":
        from .serve import print_line, serve  # the server: only for serve

        key = args.key or os.environ.get("IMGSYNC_SERVE_KEY") or None
        return serve(settings, host_name=args.host, port=args.port, key=key, say=print_line)
    if args.command == "watch":
        from .watch import watch  # loads watchdog: only for watch mode

        return watch(
            _paths(args, settings),
            settings,
            host_name=args.host,
            poll=args.poll,
            verbose=args.verbose,
            quiet=args.quiet,
        )
    if args.command == "upload":
        from .upload_command import upload_files  # the upload seam: httpx and the worker pool

        if args.dry_run:
            _say(
                "imgsync: error: upload has no --dry-run (it would still upload); "
                "`imgsync --dry-run PATH` lists what a sync would upload"
            )
            return EXIT_USAGE

        outcome = upload_files(
            [Path(p) for p in args.files],
            settings,
            host_name=args.host,
            progress=_progress(args),
        )
        # The URLs are flushed at once (Typora reads them); a JSON document never was.
        output = upload_output(outcome, output=args.format, as_json=args.json)
        _show(output, flush=not args.json, document=args.json)
        return outcome.exit_status()
    if args.reprocess:
        settings = replace(settings, reprocess=True)
    publish_to = None
    if args.output is not None:
        from .publish import plan_output

        if args.reprocess:
            raise ConfigError("--output and --reprocess don't go together: run --reprocess alone")
        publish_to = plan_output(_paths(args, settings), Path(args.output))
    from .pipeline import sync  # the Markdown seam: not for `upload`, `serve`

    # A factory: a run with nothing to upload never sets up a progress display.
    paths = _paths(args, settings)
    report = sync(
        paths,
        settings,
        host_name=args.host,
        dry_run=args.dry_run,
        progress=lambda: _progress(args),
        output=publish_to,
        walked=memo.walked,
    )
    output = report_output(
        report, command="sync", as_json=args.json, verbose=args.verbose, quiet=args.quiet
    )
    printed = _show(output, document=args.json)
    memo.remember(args, settings, paths, report, printed)
    return report.exit_status()


def _manage(args: argparse.Namespace, settings: Settings) -> int:
    """list, prune, delete, albums: the life of an image on the host (manage/)."""
    from .manage import commands  # the upload seam: httpx, the host
    from .manage.durations import parse_duration

    sources = [project_relative(Path(p), settings.root) for p in args.paths] or None
    if args.command == "list":
        return commands.list_images(
            settings, args.host, as_json=args.json, progress=_progress(args), within=sources
        )
    if args.command == "prune":
        return commands.prune(
            settings,
            args.host,
            yes=args.yes,
            older_than=parse_duration(args.older_than),
            undated=args.undated,
            sources=sources,
            progress=_progress(args),
            verbose=args.verbose,
        )
    if args.command == "delete":
        return commands.delete(settings, args.host, args.names, force=args.force)
    return commands.albums(settings, args.host, as_json=args.json)


def project_relative(path: Path, root: Path) -> str:
    """A PATH as the cache records sources: relative to the project's root, `/`s."""
    try:
        return path.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        raise ConfigError(f"{path}: not inside the project ({root})") from None


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from .render_verify import verify_output  # fetches: the upload seam
    from .verify import VerifyOptions, verify

    options = VerifyOptions(args.foreign, args.allow_private_addresses, args.jobs)
    report = verify(_paths(args, settings), settings, options)
    output = "json" if args.json else args.format
    _show(
        verify_output(report, output=output, quiet=args.quiet),
        document=output == "json",
        annotations=output == "github",
    )
    return report.exit_status()


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from .migrate import MigrateOptions, migrate  # downloads and uploads: the upload seam
    from .render_migrate import migrate_output

    options = MigrateOptions(args.dry_run, args.allow_private_addresses, lambda: _progress(args))
    report = migrate(_paths(args, settings), settings, args.to, options)
    output = migrate_output(report, as_json=args.json, verbose=args.verbose, quiet=args.quiet)
    _show(output, document=args.json)
    return report.exit_status()


def _move(args: argparse.Namespace, settings: Settings) -> int:
    """restore, adopt: hosted images back to local files; foreign ones onto the host."""
    from .render_moves import move_output

    paths = _paths(args, settings)
    if args.command == "restore":
        from .restore import RestoreOptions, restore

        into = Path(args.into) if args.into else None
        options = RestoreOptions(into, args.dry_run, args.allow_private_addresses, args.jobs)
        report = restore(paths, settings, options)
    else:
        from .adopt import AdoptOptions, adopt

        private = args.allow_private_addresses
        choice = AdoptOptions(tuple(args.domains), args.host, args.dry_run, private, args.jobs)
        progress = _progress(args)
        if not progress.bar or args.json:  # its lines would name temp files; adopt says each
            progress.quiet = True
        report = adopt(paths, settings, choice, progress)
    output = move_output(
        report, command=args.command, verbose=args.verbose, quiet=args.quiet, as_json=args.json
    )
    _show(output, document=args.json)
    return report.exit_status()


def _settings(args: argparse.Namespace) -> Settings:
    config = Path(args.config) if args.config else None
    settings = load_settings(cwd=Path.cwd(), config_file=config, env=dict(os.environ))
    if args.jobs is not None:
        settings = replace(settings, jobs=args.jobs)
    return settings


def _paths(args: argparse.Namespace, settings: Settings | None = None) -> list[Path]:
    """The PATHs given; none means the project (Settings.default_paths)."""
    if not args.paths and settings is not None:
        return list(settings.default_paths())
    return [Path(p) for p in args.paths]


def _progress(args: argparse.Namespace) -> Progress:
    from .progress import Progress  # the progress display: only when something goes up

    in_ci = bool(os.environ.get("CI"))
    return Progress(
        sys.stderr,
        quiet=args.quiet or args.json,
        verbose=args.verbose,
        bar=not in_ci and _is_terminal(sys.stderr),
    )


def _show(
    output: Output, *, flush: bool = False, document: bool = False, annotations: bool = False
) -> tuple[str, str]:
    """Write what the renderer returned: stdout's lines first, then stderr's; every line made
    safe to print (terminal.py), but a JSON document (render made its text safe, and its
    lines are its own) and the workflow commands of `--format github` (escaped by render).
    Return the texts written to stdout and stderr."""
    raw = document or annotations
    out = "".join(f"{line if raw else safe_line(line)}\n" for line in output.stdout)
    sys.stdout.write(out)
    if flush:
        sys.stdout.flush()
    for line in output.stderr:
        _say(line)
    return out, "".join(f"{safe_line(line)}\n" for line in output.stderr)


def _say(line: str) -> None:
    """A line on stderr, made safe to print: it may name files, references, URLs."""
    print(safe_line(line), file=sys.stderr)


def _init(args: argparse.Namespace) -> int:
    from .starter_config import write_starter_config  # only for init

    path = Path(args.config) if args.config else Path.cwd() / "imgsync.toml"
    write_starter_config(path, force=args.force)
    _say(
        f"wrote {path}; edit the [hosts] table (or set LSKY_BASE_URL and LSKY_TOKEN), "
        "then run `imgsync doctor` to test the set-up, host and token included"
    )
    return 0


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False
