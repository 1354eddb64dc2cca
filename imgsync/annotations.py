"""GitHub Actions workflow commands (`::error file=...,line=...::message`) for a report.

The escaping is the one of actions/toolkit (packages/core/src/command.ts), undone by
the runner (src/Runner.Common/ActionCommand.cs): in the message `%`, CR and LF become
%25, %0D and %0A; in a property value `:` and `,` also become %3A and %2C, since they
separate the properties from each other and from the message.
"""

from __future__ import annotations

from collections.abc import Iterator

from .report import Location, Report, display_path


def escape_data(text: str) -> str:
    """A workflow command's message, escaped (`%` first, so escapes are not escaped again)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value, escaped."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def error_command(message: str, *, title: str, where: Location) -> str:
    """One `::error` line that annotates `where` (file, and line when known)."""
    properties = {"file": display_path(where.path)}
    if where.line is not None:
        properties["line"] = str(where.line)
    properties["title"] = title
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::error {joined}::{escape_data(message)}"


def github_annotations(report: Report) -> Iterator[str]:
    """An error annotation for each local image reference left and each failure."""
    for pending in report.pending:
        yield error_command(
            f"local image {pending.reference} is not uploaded yet: run `imgsync` to upload "
            "it and point the reference at its URL",
            title="imgsync: local image",
            where=pending.where,
        )
    for failure in report.failures:
        message = f"{failure.image}: {failure.reason}" if failure.image else failure.reason
        yield error_command(message, title="imgsync", where=failure.where)
