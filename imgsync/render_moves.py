"""What `restore` and `adopt` print: one line an image on stdout (with --dry-run, one line a
reference), failures, notes and the summary on stderr; nothing here prints."""

from __future__ import annotations

from .remote_files import MoveReport
from .render import Output, failure_lines
from .report import display_path

_WHAT = {"restore": "hosted", "adopt": "foreign"}


def move_output(
    report: MoveReport, *, command: str, verbose: bool = False, quiet: bool = False
) -> Output:
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
