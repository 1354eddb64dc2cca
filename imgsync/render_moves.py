"""What `restore` and `adopt` print: one line an image on stdout (with --dry-run, one line a
reference), failures, notes and the summary on stderr; nothing here prints."""

from __future__ import annotations

from typing import Any

from .remote_files import MoveReport
from .render import Output, failure_lines, json_text
from .report import display_path

SCHEMA_VERSION = 1

_WHAT = {"restore": "hosted", "adopt": "foreign"}


def move_output(
    report: MoveReport,
    *,
    command: str,
    verbose: bool = False,
    quiet: bool = False,
    as_json: bool = False,
) -> Output:
    """Lines, or with `as_json` the JSON document alone (move_document)."""
    if as_json:
        return Output(stdout=(json_text(move_document(report, command)),))
    out = list(report.pending if report.dry_run else report.done)
    if verbose:
        out += [f"rewrote {display_path(path)}" for path in report.files_changed]
    err = failure_lines(report.failures, grouped=False)
    err += [f"note: {note}" for note in report.notes]
    if not quiet:
        err.append(move_summary(report, command))
    return Output(tuple(out), tuple(err))


def move_summary(report: MoveReport, command: str) -> str:
    found = (
        f"{report.images} {_WHAT.get(command, '')} image(s) for {report.references} "
        f"reference(s) in {report.files_scanned} file(s)"
    )
    if report.dry_run:
        verb = "restored" if command == "restore" else "adopted"
        return f"{command} --dry-run: {found} would be {verb}"
    failed = len(report.failures)
    text = (
        f"{command}: {found}: {len(report.done)} done, {report.links_rewritten} link(s) "
        f"rewritten in {len(report.files_changed)} file(s)"
    )
    return text + (f"; {failed} failure(s)" if failed else "")


def move_document(report: MoveReport, command: str) -> dict[str, Any]:
    """The `--json` document of `restore` and `adopt` (docs/restore-and-adopt.md)."""
    return {
        "version": SCHEMA_VERSION,
        "command": command,
        "dry_run": report.dry_run,
        "exit_status": report.exit_status(),
        "files_scanned": report.files_scanned,
        "references": report.references,
        "images": report.images,
        "done": list(report.done),
        "pending": list(report.pending),
        "notes": list(report.notes),
        "links_rewritten": report.links_rewritten,
        "files_changed": [display_path(path) for path in report.files_changed],
        "errors": [
            {
                "file": display_path(f.where.path),
                "line": f.where.line,
                "reference": f.image,
                "reason": f.reason,
            }
            for f in report.failures
        ],
    }
