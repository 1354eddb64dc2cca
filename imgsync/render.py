"""What the user reads: reports turned into lines and JSON documents; nothing here prints."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .report import (
    Failure,
    FileURL,
    Ignored,
    Location,
    Notice,
    Pending,
    Report,
    UploadOutcome,
    display_path,
)
from .terminal import escape_controls, safe_document

if TYPE_CHECKING:
    from .doctor import Diagnosis

INTERRUPTED = (
    "interrupted: finished uploads were recorded and their references rewritten; "
    "run again to finish"
)
WATCH_INTERRUPTED = "interrupted: finished uploads were recorded; run imgsync again to finish"


class Output(NamedTuple):
    """What a command prints: its stdout lines (written first), then its stderr lines."""

    stdout: tuple[str, ...] = ()
    stderr: tuple[str, ...] = ()


def report_output(
    report: Report,
    *,
    command: Literal["check", "sync"],
    verbose: bool = False,
    quiet: bool = False,
    as_json: bool = False,
) -> Output:
    """`check` and sync: what is left (or, with --verbose, what changed) on stdout, the rest on
    stderr; with `as_json`, only the JSON document."""
    if as_json:
        return Output(stdout=(json_text(report_document(report)),))
    out: list[str] = []
    if command == "check" or report.dry_run:
        out = pending_lines(report)
    elif verbose:
        out = [f"rewrote {display_path(path)}" for path in report.files_changed]
    if verbose:
        out += ignored_lines(report.ignored)
    err = [
        *warning_lines(report.warnings),
        *failure_lines(report.failures, report.host_verdict, verbose=verbose),
    ]
    if not quiet:
        err += summary_lines(report, command, listed=verbose)
    return Output(tuple(out), tuple(err))


def annotations_output(report: Report, *, quiet: bool = False) -> Output:
    """`check --format github`: an annotation per finding on stdout; the warnings (a stale
    `ignore` entry, say) and the summary on stderr, in the job's log, as `check` says them."""
    err = warning_lines(report.warnings) + ([] if quiet else [check_summary(report)])
    return Output(tuple(github_annotations(report)), tuple(err))


def failure_text(failure: Failure) -> str:
    """A failure on one line: where, the image as written (if any), and why."""
    if failure.image:
        return f"{failure.where}: {failure.image}: {failure.reason}"
    return f"{failure.where}: {failure.reason}"


def failure_lines(
    failures: Iterable[Failure],
    host_verdict: str | None = None,
    *,
    verbose: bool = False,
    grouped: bool = True,
) -> list[str]:
    """One line per failure; a reason shared by several is said once, above their places
    (unless not `grouped`: a watch round's few failures are each told whole).

    The failures the host's verdict caused (it was given up: credentials, URL, no
    connection) are one line, with how many images and references are left; their
    places only with `verbose`.
    """
    by_reason: dict[str, list[Failure]] = {}
    for failure in failures:
        by_reason.setdefault(failure.reason, []).append(failure)
    lines = []
    for reason, group in by_reason.items():
        if reason == host_verdict:
            lines.append(verdict_line(reason, group))
            if verbose:
                lines += [f"  {f.where}: {f.image}" if f.image else f"  {f.where}" for f in group]
            continue
        if len(group) == 1 or not grouped:
            lines += [f"error: {failure_text(failure)}" for failure in group]
            continue
        lines.append(f"error: {len(group)} references failed: {reason}")
        lines += [f"  {f.where}: {f.image}" if f.image else f"  {f.where}" for f in group]
    return lines


def verdict_line(verdict: str, failures: Sequence[Failure]) -> str:
    """The host given up, once: why, what is left because of it, what to do."""
    images = len({f.image_key or f.image or str(f.where.path) for f in failures})
    files = len({f.where.path for f in failures})
    return (
        f"error: stopped uploading: {verdict}. Left to upload: {images} image(s), "
        f"{len(failures)} reference(s) in {files} file(s); run imgsync again once this is fixed"
    )


def warning_lines(warnings: Iterable[Notice]) -> list[str]:
    """One line per distinct warning, naming the first image it is about and how many more."""
    by_text: dict[str, list[str]] = {}
    for notice in warnings:
        by_text.setdefault(notice.text, []).append(notice.image)
    lines = []
    for text, images in by_text.items():
        shown = images[0] if len(images) == 1 else f"{images[0]} and {len(images) - 1} more"
        lines.append(f"warning: {shown}: {text}")
    return lines


def pending_lines(report: Report) -> list[str]:
    """Each local image reference left, where it stands; one whose file is missing or can't
    be uploaded says why, since running imgsync would not help it, and one whose image is
    already on the host says so, since a sync will upload nothing for it."""
    return [f"{p.where}: {p.reference}{_pending_note(p)}" for p in report.pending]


def _pending_note(pending: Pending) -> str:
    if pending.status == "uploaded":
        return f": {ALREADY_UPLOADED}"
    return f": {pending.reason}" if pending.reason else ""


def ignored_lines(ignored: Iterable[Ignored]) -> list[str]:
    """Each reference left alone on purpose, where it stands and what ignores it."""
    return [f"{i.where}: {i.reference}: ignored ({_ignored_by(i)})" for i in ignored]


def _ignored_by(ignored: Ignored) -> str:
    return f"`ignore` entry {ignored.entry!r}" if ignored.entry else "<!-- imgsync-ignore -->"


def _ignored(report: Report) -> str:
    """`N ignored`, said by every summary that has some: counted, never dropped in silence."""
    return f"{len(report.ignored)} ignored"


def _ignored_count(report: Report) -> str:
    """The `, N ignored` of a dry run's summary, when there are some."""
    return f", {_ignored(report)}" if report.ignored else ""


# What `check` says of a reference whose image bytes the cache knows on a host.
ALREADY_UPLOADED = "already on the host: run `imgsync` to point the reference at its URL"


def summary_lines(
    report: Report, command: Literal["check", "sync"], *, listed: bool = False
) -> list[str]:
    """The closing line of `check` or of a sync, and the note that Ctrl-C cut the sync short
    (`listed`: the ignored references were listed above, with --verbose)."""
    if command == "check":
        return [check_summary(report, listed=listed)]
    return [sync_summary(report), *([INTERRUPTED] if report.interrupted else [])]


def sync_summary(report: Report) -> str:
    """The one-line account of a sync (or a dry run), the last line a sync prints."""
    if report.dry_run:
        return (
            f"dry run: {len(report.pending)} image reference(s) in "
            f"{len({p.where.path for p in report.pending})} file(s) would be rewritten, "
            f"{len(report.would_upload)} image(s) uploaded{_ignored_count(report)}; "
            "nothing was changed"
        )
    if not (report.uploaded or report.reused or report.files_changed or report.failures):
        if report.ignored:
            return f"nothing to do: {report.files_scanned} file(s) scanned, {_ignored(report)}"
        return f"nothing to do: no local images in {report.files_scanned} file(s)"
    stripped = f" ({report.stripped} with metadata stripped)" if report.stripped else ""
    parts = [
        f"{len(report.uploaded)} uploaded{stripped}",
        f"{report.reused} already on the host",
        f"{report.links_rewritten} link(s) rewritten in {len(report.files_changed)} file(s)",
        f"{report.files_scanned} file(s) scanned",
    ]
    if report.failures:
        parts.append(f"{len(report.failures)} failed")
    if report.ignored:
        parts.append(_ignored(report))
    if report.output is not None:
        parts.append(f"written under {display_path(report.output)}, the sources unchanged")
    return ", ".join(parts)


def check_summary(report: Report, *, listed: bool = False) -> str:
    """The closing line of `check`: what is left, and for each kind what to do about it;
    and how many references are ignored, with where to see them unless `listed` above."""
    if not report.ignored:
        return _check_left(report)
    where = "" if listed else " (`imgsync check -v` lists them)"
    return f"{_check_left(report)}; {_ignored(report)}{where}"


def _check_left(report: Report) -> str:
    if not report.pending:
        if report.ignored:
            return f"no local image references left in {report.files_scanned} file(s)"
        return f"no local image references in {report.files_scanned} file(s)"
    files = len({p.where.path for p in report.pending})
    left = f"{len(report.pending)} local image reference(s) left in {files} file(s)"
    count = Counter(p.status for p in report.pending)
    if count["not_uploaded"] == len(report.pending):
        return f"{left}; run `imgsync` to upload them"
    if count["uploaded"] == len(report.pending):
        return (
            f"{left}; their images are already on the host: run `imgsync` to point them"
            " at their URLs"
        )
    parts = []
    if count["not_uploaded"]:
        parts.append(f"{count['not_uploaded']} not uploaded yet: run `imgsync` to upload them")
    if count["uploaded"]:
        parts.append(
            f"{count['uploaded']} already on the host: run `imgsync` to point them at their URLs"
        )
    if count["missing"]:
        parts.append(f"{count['missing']} missing: no such file, fix the reference")
    if count["unusable"]:
        parts.append(f"{count['unusable']} can't be uploaded as they stand: see why above")
    return f"{left}: {'; '.join(parts)}"


def watch_round_lines(report: Report, *, post: Path | None, quiet: bool = False) -> list[str]:
    """A watch round: its warnings and failures, its headline (the sync summary for the first
    round, the post's counts after), and the note that Ctrl-C cut it short."""
    lines = [f"warning: {notice.image}: {notice.text}" for notice in report.warnings]
    lines += failure_lines(report.failures, report.host_verdict, grouped=False)
    if not quiet:
        lines.append(
            sync_summary(report) if post is None else f"{display_path(post)}: {_counts(report)}"
        )
    if report.interrupted:
        lines.append(WATCH_INTERRUPTED)
    return lines


def _counts(report: Report) -> str:
    if not (report.uploaded or report.reused or report.files_changed or report.failures):
        return f"nothing to do, {_ignored(report)}" if report.ignored else "no local images"
    links = f"{report.links_rewritten} link{'' if report.links_rewritten == 1 else 's'}"
    counts = [f"{len(report.uploaded)} uploaded", f"{links} rewritten"]
    if report.failures:
        counts.append(f"{len(report.failures)} failed")
    if report.ignored:
        counts.append(_ignored(report))
    return ", ".join(counts)


def upload_output(outcome: UploadOutcome, *, output: str = "url", as_json: bool = False) -> Output:
    """`imgsync upload`: a line per file named on stdout, in that order, only if none failed:
    Typora pairs the last N lines with its N images, so a partial list could pair wrongly.
    Otherwise the URLs that are known go to stderr beside the errors, but those whose line
    was printed as they went up (the progress display without a bar, --verbose)."""
    complete = not (outcome.failures or outcome.interrupted)
    out: list[str] = []
    err: list[str] = []
    if as_json:
        out.append(json_text(upload_document(outcome)))
    elif complete:
        out = [
            f"![{u.file.stem}]({u.url})" if output == "markdown" else u.url for u in outcome.urls
        ]
    else:
        err = [file_url_line(u) for u in outcome.urls if not u.told]  # not said twice
    err += failure_lines(outcome.failures, outcome.host_verdict, grouped=False)
    if outcome.failures and not outcome.interrupted and not as_json:
        err.append(
            f"imgsync: {len(outcome.failures)} of {outcome.files_named} file(s) failed; "
            "no URL printed on stdout"
        )
    return Output(tuple(out), tuple(err))


def file_url_line(named: FileURL) -> str:
    """A file of `imgsync upload` and its URL, saying whether it went up now or was there."""
    if named.already_on_host:
        return f"already on the host (found in the cache): {named.file} -> {named.url}"
    return f"uploaded {named.file} -> {named.url}"


def json_text(document: dict[str, Any]) -> str:
    """A document as printed: readable non-ASCII text, but control, bidi and line-separator
    characters (which json.dumps leaves raw with ensure_ascii=False) as JSON escapes."""
    return safe_document(json.dumps(document, indent=2, ensure_ascii=False))


def report_document(report: Report) -> dict[str, Any]:
    """The report as `--json` prints it."""
    return {
        "exit_status": report.exit_status(),
        "dry_run": report.dry_run,
        "files_scanned": report.files_scanned,
        "files_changed": [display_path(p) for p in report.files_changed],
        "links_rewritten": report.links_rewritten,
        "uploaded": [{"image": display_path(u.image), "url": u.url} for u in report.uploaded],
        "reused": report.reused,
        "stripped": report.stripped,
        "would_upload": [display_path(p) for p in report.would_upload],
        "pending": [
            {
                "file": display_path(p.where.path),
                "line": p.where.line,
                "reference": p.reference,
                "status": p.status,
                "reason": p.reason or None,
            }
            for p in report.pending
        ],
        "failures": [failure_document(f) for f in report.failures],
        "warnings": [{"image": n.image, "warning": n.text} for n in report.warnings],
        "host_verdict": report.host_verdict,
        "ignored": [
            {
                "file": display_path(i.where.path),
                "line": i.where.line,
                "reference": i.reference,
                "ignored_by": i.entry or "<!-- imgsync-ignore -->",
            }
            for i in report.ignored
        ],
    }


def upload_document(outcome: UploadOutcome) -> dict[str, Any]:
    """`imgsync upload --json`: each file's URL in the order named, and the failures."""
    return {
        "uploads": [
            {"file": str(u.file), "url": u.url, "already_on_host": u.already_on_host}
            for u in outcome.urls
        ],
        "failures": [failure_document(f) for f in outcome.failures],
        "host_verdict": outcome.host_verdict,
    }


def failure_document(failure: Failure) -> dict[str, Any]:
    return {
        "file": display_path(failure.where.path),
        "line": failure.where.line,
        "image": failure.image,
        "reason": failure.reason,
    }


def github_annotations(report: Report) -> Iterator[str]:
    """An error annotation for each local image reference left and each failure."""
    for pending in report.pending:
        message, title = _pending_annotation(pending)
        yield error_command(message, title=title, where=pending.where)
    for failure in report.failures:
        message = f"{failure.image}: {failure.reason}" if failure.image else failure.reason
        yield error_command(message, title="imgsync", where=failure.where)


def _pending_annotation(pending: Pending) -> tuple[str, str]:
    """(message, title) of a reference left: only one whose file is there is told to upload."""
    if pending.status == "not_uploaded":
        message = (
            f"local image {pending.reference} is not uploaded yet: run `imgsync` to upload "
            "it and point the reference at its URL"
        )
        return message, "imgsync: local image"
    if pending.status == "uploaded":
        return f"local image {pending.reference} is {ALREADY_UPLOADED}", (
            "imgsync: local image already on the host"
        )
    if pending.status == "missing":
        return f"local image {pending.reference} is missing: {pending.reason}", (
            "imgsync: missing image"
        )
    return f"local image {pending.reference} can't be uploaded: {pending.reason}", (
        "imgsync: image can't be uploaded"
    )


def error_command(message: str, *, title: str, where: Location) -> str:
    """One `::error` workflow command that annotates `where` (file, and line when known)."""
    properties = {"file": display_path(where.path)}
    if where.line is not None:
        properties["line"] = str(where.line)
    properties["title"] = title
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::error {joined}::{escape_data(message)}"


# The escaping of actions/toolkit (packages/core/src/command.ts), which the runner undoes
# (src/Runner.Common/ActionCommand.cs): in the message `%`, CR and LF become %25, %0D and %0A;
# in a property value `:` and `,` also become %3A and %2C, as they separate the properties.
def escape_data(text: str) -> str:
    """A workflow command's message, escaped (`%` first, so escapes are not escaped again);
    other control characters (ANSI codes, bidi) shown as visible escapes, as in plain output."""
    text = escape_controls(text, keep="\r\n")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value, escaped."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


_VERDICTS = {"ok": "ok", "fail": "FAIL", "skip": "skip", "note": "note"}


def doctor_output(diagnosis: Diagnosis, *, as_json: bool = False) -> Output:
    """`imgsync doctor`: one line a check (verdict, check, what was found, what to do), then
    the outcome; with `as_json`, the checks as one document."""
    if as_json:
        return Output(stdout=(json_text(doctor_document(diagnosis)),))
    width = max(len(check.name) for check in diagnosis.checks)
    lines = []
    for check in diagnosis.checks:
        found, todo = check.found, ""
        if check.advice and check.verdict == "fail":
            # An error's text ends a sentence ("... fix it by hand."): not "hand.; to fix:".
            found, todo = found.rstrip("."), f"; to fix: {check.advice}"
        lines.append(f"{_VERDICTS[check.verdict]:<4}  {check.name:<{width}}  {found}{todo}")
    failed = [check.name for check in diagnosis.checks if check.verdict == "fail"]
    if failed:
        lines.append(f"{len(failed)} check(s) failed: {', '.join(failed)}")
    else:
        lines.append("every check passed: `imgsync` syncs the project")
    return Output(stdout=tuple(lines))


def doctor_document(diagnosis: Diagnosis) -> dict[str, Any]:
    """`imgsync doctor --json`: every check with its verdict, and whether all passed."""
    return {
        "exit_status": diagnosis.exit_status(),
        "passed": diagnosis.passed,
        "checks": [
            {"name": c.name, "verdict": c.verdict, "found": c.found, "advice": c.advice or None}
            for c in diagnosis.checks
        ],
    }
