"""What `imgsync migrate` prints: the moves (all of them with --dry-run), what could not be
verified, failures and a summary; or one JSON document. Nothing here prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .migrate import MigrateReport, Move
from .render import (
    INTERRUPTED,
    Output,
    failure_document,
    failure_lines,
    json_text,
    warning_lines,
)
from .report import display_path

ORIGINS = ("target", "local", "download")


def migrate_output(
    report: MigrateReport, *, as_json: bool = False, verbose: bool = False, quiet: bool = False
) -> Output:
    """With --dry-run, each reference that would move and where its bytes would come from
    on stdout; with --verbose, each file rewritten; the rest on stderr."""
    if as_json:
        return Output(stdout=(json_text(migrate_document(report)),))
    sync = report.sync
    out: list[str] = []
    if sync.dry_run:
        out = [move_line(move, report.target) for move in report.moves]
    elif verbose:
        out = [f"rewrote {display_path(path)}" for path in sync.files_changed]
    err = [
        *warning_lines(sync.warnings),
        *(f"note: {note}" for note in report.notes),
        *failure_lines(sync.failures, sync.host_verdict, verbose=verbose),
    ]
    if sync.interrupted:
        err.append(INTERRUPTED)
    if not quiet:
        err.append(migrate_summary(report))
    return Output(tuple(out), tuple(err))


def move_line(move: Move, target: str) -> str:
    """`FILE:LINE: URL (old -> new; bytes: where from)`."""
    if move.origin == "target":
        source = f"already on {target}"
    elif move.origin == "local":
        source = f"the local file {display_path(Path(move.source))}"
    else:
        source = f"downloaded from {move.source}"
    return f"{move.where}: {move.url} ({move.profile} -> {target}; bytes: {source})"


def migrate_summary(report: MigrateReport) -> str:
    sync = report.sync
    if sync.dry_run:
        counts = {o: len({m.source for m in report.moves if m.origin == o}) for o in ORIGINS}
        text = (
            f"would move {len(report.moves)} reference(s) to {report.target}: "
            f"{counts['local']} image(s) from local files, {counts['download']} to download, "
            f"{counts['target']} already on {report.target}"
        )
    elif not report.moves:
        text = f"nothing to move: no reference is hosted elsewhere than on {report.target}"
    else:
        text = (
            f"moved {sync.links_rewritten} of {len(report.moves)} reference(s) in "
            f"{len(sync.files_changed)} file(s) to {report.target}: "
            f"{report.from_local} image(s) from local files, {_downloaded(report)}, "
            f"{report.already_there} already there; {len(sync.uploaded)} uploaded"
        )
    if report.foreign:
        text += f"; {report.foreign} foreign reference(s) left alone"
    return text


def _downloaded(report: MigrateReport) -> str:
    unverified = len(report.notes)
    if not unverified:
        return f"{report.downloaded} downloaded and verified"
    verified = report.downloaded - unverified
    return (
        f"{report.downloaded} downloaded ({verified} verified against the cache, "
        f"{unverified} only checked to be an image: see the notes)"
    )


def migrate_document(report: MigrateReport) -> dict[str, Any]:
    sync = report.sync
    return {
        "version": 1,
        "target": report.target,
        "dry_run": sync.dry_run,
        "exit_status": report.exit_status(),
        "files_scanned": sync.files_scanned,
        "files_changed": [display_path(p) for p in sync.files_changed],
        "references_moved": sync.links_rewritten,
        "moves": [
            {
                "file": display_path(m.where.path),
                "line": m.where.line,
                "url": m.url,
                "profile": m.profile,
                "bytes_from": m.origin,
                "source": m.source,
            }
            for m in report.moves
        ],
        "images": {
            "from_local": report.from_local,
            "downloaded": report.downloaded,
            "already_there": report.already_there,
            "uploaded": len(sync.uploaded),
        },
        "not_verified": report.notes,
        "foreign_left": report.foreign,
        "failures": [failure_document(f) for f in sync.failures],
    }
