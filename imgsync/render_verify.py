"""What `imgsync verify` prints: lines, GitHub annotations, or its JSON document (schema in
docs/ci.md); nothing here prints."""

from __future__ import annotations

from typing import Any

from .render import Output, error_command, escape_data, escape_property, json_text
from .report import Failure, display_path
from .verify import LinkFinding, VerifyReport

SCHEMA_VERSION = 1


def verify_output(report: VerifyReport, *, output: str = "text", quiet: bool = False) -> Output:
    """text: `FILE:LINE: URL: reason` for each broken reference on stdout, notes and the
    summary on stderr; github: an `::error` annotation for each, a `::notice` for each
    note; json: the document alone."""
    if output == "json":
        return Output(stdout=(json_text(verify_document(report)),))
    err = [f"{f.where}: {f.image or 'error'}: {f.reason}" for f in report.failures]
    if output == "github":
        out = [_annotation(finding) for finding in report.broken]
        out += [_notice(finding) for finding in report.notes]
        out += [
            error_command(f.reason, title="imgsync verify", where=f.where) for f in report.failures
        ]
    else:
        out = [f"{f.where}: {f.result.url}: {f.result.reason}" for f in report.broken]
        err += [f"{f.where}: {f.result.url}: {f.result.reason}" for f in report.notes]
    if not quiet:
        err.append(verify_summary(report))
    return Output(tuple(out), tuple(err))


def verify_summary(report: VerifyReport) -> str:
    broken = len(report.broken)
    text = (
        f"{report.urls} image URL(s) checked for {report.references} reference(s) in "
        f"{report.files_scanned} file(s): "
        + (f"{broken} reference(s) broken" if broken else "all serve their image")
    )
    if report.notes:
        text += f"; {len(report.notes)} not fully comparable"
    if report.foreign_skipped:
        text += (
            f"; {report.foreign_skipped} foreign reference(s) not checked (--foreign checks them)"
        )
    return text


def verify_document(report: VerifyReport) -> dict[str, Any]:
    """The `--format json` document (docs/ci.md describes it)."""
    return {
        "version": SCHEMA_VERSION,
        "exit_status": report.exit_status(),
        "files_scanned": report.files_scanned,
        "references_checked": report.references,
        "urls_checked": report.urls,
        "foreign_skipped": report.foreign_skipped,
        "broken": [_finding(f) for f in report.broken],
        "notes": [_finding(f) for f in report.notes],
        "errors": [_failure(f) for f in report.failures],
    }


def _finding(finding: LinkFinding) -> dict[str, Any]:
    return {
        "file": display_path(finding.where.path),
        "line": finding.where.line,
        "url": finding.result.url,
        "profile": finding.result.profile,
        "status": finding.result.status,
        "reason": finding.result.reason,
    }


def _failure(failure: Failure) -> dict[str, Any]:
    return {
        "file": display_path(failure.where.path),
        "line": failure.where.line,
        "reason": failure.reason,
    }


def _annotation(finding: LinkFinding) -> str:
    title = f"imgsync verify: {finding.result.status.replace('_', ' ')}"
    return error_command(
        f"{finding.result.url}: {finding.result.reason}", title=title, where=finding.where
    )


def _notice(finding: LinkFinding) -> str:
    properties = {"file": display_path(finding.where.path)}
    if finding.where.line is not None:
        properties["line"] = str(finding.where.line)
    properties["title"] = "imgsync verify: not comparable"
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::notice {joined}::{escape_data(f'{finding.result.url}: {finding.result.reason}')}"
