"""The renderer alone: reports built here, the exact lines a user would read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest

from imgsync.render import (
    Output,
    annotations_output,
    check_summary,
    failure_lines,
    github_annotations,
    report_document,
    report_output,
    sync_summary,
    upload_output,
    warning_lines,
    watch_round_lines,
)
from imgsync.report import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_WORK_LEFT,
    Failure,
    FileURL,
    Ignored,
    Location,
    Notice,
    Pending,
    Report,
    Uploaded,
    UploadOutcome,
)

# Relative paths: display_path shows them as written, whatever the current folder.
POST, OTHER = Path("post.md"), Path("other.md")
GONE = "not found (looked for gone.png)"
WEBP = "stored as WebP: set convert_to_webp = false to keep the original format"


def failure(path: Path, line: int | None, image: str, reason: str) -> Failure:
    return Failure(Location(path, line), image, reason)


def pending(path: Path, line: int, reference: str) -> Pending:
    return Pending(Location(path, line), reference)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        ([], []),
        ([failure(POST, 3, "a.png", "not found")], ["error: post.md:3: a.png: not found"]),
        ([failure(Path("a.png"), None, "", "not found")], ["error: a.png: not found"]),
        (
            [
                failure(POST, 4, "gone.png", GONE),
                failure(OTHER, 1, "x.png", "is empty"),
                failure(POST, 5, "gone.png", GONE),
            ],
            [
                f"error: 2 references failed: {GONE}",
                "  post.md:4: gone.png",
                "  post.md:5: gone.png",
                "error: other.md:1: x.png: is empty",
            ],
        ),
        (
            [
                failure(POST, None, "", "cannot be written"),
                failure(OTHER, 2, "", "cannot be written"),
            ],
            ["error: 2 references failed: cannot be written", "  post.md", "  other.md:2"],
        ),
    ],
    ids=["none", "one", "no-line-no-image", "shared-reason-said-once", "places-without-image"],
)
def test_failure_lines(failures: list[Failure], expected: list[str]) -> None:
    assert failure_lines(failures) == expected


@pytest.mark.parametrize(
    ("warnings", "expected"),
    [
        ([Notice("a.png", WEBP)], [f"warning: a.png: {WEBP}"]),
        ([Notice("a.png", WEBP), Notice("b.png", WEBP)], [f"warning: a.png and 1 more: {WEBP}"]),
        (
            [Notice("a.png", WEBP), Notice("b.png", "resized"), Notice("c.png", WEBP)],
            [f"warning: a.png and 1 more: {WEBP}", "warning: b.png: resized"],
        ),
    ],
    ids=["one", "shared", "grouped-in-first-order"],
)
def test_warning_lines(warnings: list[Notice], expected: list[str]) -> None:
    assert warning_lines(warnings) == expected


LEFT = [pending(POST, 3, "img/a.png"), pending(POST, 4, "gone.png"), pending(OTHER, 1, "b.png")]
SYNCED = Report(
    files_scanned=4,
    files_changed=[POST, OTHER],
    links_rewritten=3,
    uploaded=[Uploaded(Path("img/a.png"), "https://h/a.png")],
    reused=1,
)
INTERRUPTED = (
    "interrupted: finished uploads were recorded and their references rewritten; "
    "run again to finish"
)


@pytest.mark.parametrize(
    ("report", "command", "flags", "expected"),
    [
        (
            Report(files_scanned=4, pending=LEFT),
            "check",
            {},
            Output(
                ("post.md:3: img/a.png", "post.md:4: gone.png", "other.md:1: b.png"),
                ("3 local image reference(s) left in 2 file(s); run `imgsync` to upload them",),
            ),
        ),
        (
            Report(files_scanned=4, pending=LEFT),
            "check",
            {"quiet": True, "verbose": True},  # --verbose adds nothing to check
            Output(("post.md:3: img/a.png", "post.md:4: gone.png", "other.md:1: b.png"), ()),
        ),
        (
            Report(files_scanned=4),
            "check",
            {},
            Output((), ("no local image references in 4 file(s)",)),
        ),
        (
            Report(files_scanned=7),
            "sync",
            {"verbose": True},
            Output((), ("nothing to do: no local images in 7 file(s)",)),
        ),
        (
            SYNCED,
            "sync",
            {},
            Output(
                (),
                (
                    "1 uploaded, 1 already on the host, 3 link(s) rewritten in 2 file(s), "
                    "4 file(s) scanned",
                ),
            ),
        ),
        (
            SYNCED,
            "sync",
            {"verbose": True},
            Output(
                ("rewrote post.md", "rewrote other.md"),
                (
                    "1 uploaded, 1 already on the host, 3 link(s) rewritten in 2 file(s), "
                    "4 file(s) scanned",
                ),
            ),
        ),
        (
            Report(
                files_scanned=2,
                failures=[failure(POST, 4, "gone.png", GONE)],
                warnings=[Notice("img/a.png", WEBP)],
            ),
            "sync",
            {"quiet": True},  # quiet drops the summary, never an error or a warning
            Output((), (f"warning: img/a.png: {WEBP}", f"error: post.md:4: gone.png: {GONE}")),
        ),
        (
            Report(files_scanned=2, failures=[failure(POST, 4, "gone.png", GONE)], reused=1),
            "sync",
            {},
            Output(
                (),
                (
                    f"error: post.md:4: gone.png: {GONE}",
                    "0 uploaded, 1 already on the host, 0 link(s) rewritten in 0 file(s), "
                    "2 file(s) scanned, 1 failed",
                ),
            ),
        ),
        (
            Report(files_scanned=4, pending=LEFT, would_upload=[Path("img/a.png")], dry_run=True),
            "sync",
            {"verbose": True},  # a dry run lists what it would rewrite, not "rewrote" lines
            Output(
                ("post.md:3: img/a.png", "post.md:4: gone.png", "other.md:1: b.png"),
                (
                    "dry run: 3 image reference(s) in 2 file(s) would be rewritten, "
                    "1 image(s) uploaded; nothing was changed",
                ),
            ),
        ),
        (
            Report(files_scanned=3, files_changed=[POST], links_rewritten=1, interrupted=True),
            "sync",
            {},
            Output(
                (),
                (
                    "0 uploaded, 0 already on the host, 1 link(s) rewritten in 1 file(s), "
                    "3 file(s) scanned",
                    INTERRUPTED,
                ),
            ),
        ),
        (
            Report(files_scanned=3, interrupted=True),
            "sync",
            {"quiet": True},  # the note belongs to the summary: quiet drops both
            Output((), ()),
        ),
    ],
    ids=[
        "check-left",
        "check-quiet",
        "check-clean",
        "sync-nothing-to-do",
        "sync-done",
        "sync-verbose",
        "sync-quiet",
        "sync-failed",
        "dry-run",
        "interrupted",
        "interrupted-quiet",
    ],
)
def test_report_output(
    report: Report, command: Literal["check", "sync"], flags: dict[str, bool], expected: Output
) -> None:
    assert report_output(report, command=command, **flags) == expected


def test_the_json_document_is_all_there_is() -> None:
    report = Report(
        files_scanned=2,
        files_changed=[POST],
        links_rewritten=1,
        uploaded=[Uploaded(Path("img/a.png"), "https://h/a.webp")],
        pending=[pending(OTHER, 2, "b.png")],
        failures=[failure(OTHER, 2, "b.png", "is empty")],
        warnings=[Notice("img/a.png", WEBP)],
        ignored=[Ignored(Location(OTHER, 3), "gone.png", "**/gone.png")],
    )
    rendered = report_output(report, command="sync", verbose=True, as_json=True)

    assert rendered.stderr == ()
    assert len(rendered.stdout) == 1
    assert rendered.stdout[0].startswith('{\n  "exit_status": 3,\n  "dry_run": false,\n')
    assert json.loads(rendered.stdout[0]) == {
        "exit_status": EXIT_FAILED,
        "dry_run": False,
        "files_scanned": 2,
        "files_changed": ["post.md"],
        "links_rewritten": 1,
        "uploaded": [{"image": "img/a.png", "url": "https://h/a.webp"}],
        "reused": 0,
        "stripped": 0,
        "would_upload": [],
        "pending": [
            {
                "file": "other.md",
                "line": 2,
                "reference": "b.png",
                "status": "not_uploaded",
                "reason": None,
            }
        ],
        "failures": [{"file": "other.md", "line": 2, "image": "b.png", "reason": "is empty"}],
        "warnings": [{"image": "img/a.png", "warning": WEBP}],
        "host_verdict": None,
        "ignored": [
            {"file": "other.md", "line": 3, "reference": "gone.png", "ignored_by": "**/gone.png"}
        ],
    }


def test_ignored_references_are_counted_in_every_summary_and_listed_with_verbose() -> None:
    marked = Ignored(Location(POST, 4), "old.png")
    by_entry = Ignored(Location(OTHER, 2), "gone.png", "**/gone.png")
    only_ignored = Report(files_scanned=3, ignored=[marked, by_entry])
    assert sync_summary(only_ignored) == "nothing to do: 3 file(s) scanned, 2 ignored"
    assert check_summary(only_ignored) == (
        "no local image references left in 3 file(s); 2 ignored (`imgsync check -v` lists them)"
    )
    assert only_ignored.exit_status() == EXIT_OK
    synced = Report(files_scanned=3, links_rewritten=1, files_changed=[POST], ignored=[marked])
    assert sync_summary(synced).endswith(", 3 file(s) scanned, 1 ignored")
    dry = Report(
        files_scanned=3, dry_run=True, pending=[pending(POST, 2, "a.png")], ignored=[marked]
    )
    assert ", 1 ignored; nothing was changed" in sync_summary(dry)
    listed = report_output(only_ignored, command="check", verbose=True)
    assert listed.stdout == (
        "post.md:4: old.png: ignored (<!-- imgsync-ignore -->)",
        "other.md:2: gone.png: ignored (`ignore` entry '**/gone.png')",
    )
    assert listed.stderr == ("no local image references left in 3 file(s); 2 ignored",)
    assert report_output(only_ignored, command="check").stdout == ()
    assert watch_round_lines(only_ignored, post=POST) == ["post.md: nothing to do, 2 ignored"]
    assert (
        watch_round_lines(synced, post=POST)[-1]
        == "post.md: 0 uploaded, 1 link rewritten, 1 ignored"
    )


def test_json_keeps_non_ascii_as_written() -> None:
    report = Report(files_scanned=1, pending=[pending(Path("日記.md"), 1, "写真.png")])
    (text,) = report_output(report, command="check", as_json=True).stdout
    assert '"file": "日記.md"' in text and '"reference": "写真.png"' in text


@pytest.mark.parametrize(
    ("report", "quiet", "expected"),
    [
        (
            Report(files_scanned=1, pending=[pending(Path("a,b:c%.md"), 2, "x%0A.png")]),
            False,
            Output(
                (
                    "::error file=a%2Cb%3Ac%25.md,line=2,title=imgsync%3A local image::"
                    "local image x%250A.png is not uploaded yet: run `imgsync` to upload it "
                    "and point the reference at its URL",
                ),
                ("1 local image reference(s) left in 1 file(s); run `imgsync` to upload them",),
            ),
        ),
        (
            Report(files_scanned=1, failures=[failure(POST, None, "", "line one\r\nline two")]),
            True,
            Output(("::error file=post.md,title=imgsync::line one%0D%0Aline two",), ()),
        ),
        (
            Report(files_scanned=3),
            False,
            Output((), ("no local image references in 3 file(s)",)),
        ),
    ],
    ids=["pending-escaped", "failure-quiet", "clean"],
)
def test_annotations_output(report: Report, quiet: bool, expected: Output) -> None:
    assert annotations_output(report, quiet=quiet) == expected


@pytest.mark.parametrize(
    ("report", "post", "quiet", "expected"),
    [
        (
            SYNCED,
            None,
            False,
            [
                "1 uploaded, 1 already on the host, 3 link(s) rewritten in 2 file(s), "
                "4 file(s) scanned"
            ],
        ),
        (Report(files_scanned=1), POST, False, ["post.md: no local images"]),
        (
            Report(files_scanned=1, files_changed=[POST], links_rewritten=1, reused=1),
            POST,
            False,
            ["post.md: 0 uploaded, 1 link rewritten"],
        ),
        (
            Report(
                files_scanned=1,
                uploaded=[Uploaded(Path("a.png"), "u"), Uploaded(Path("b.png"), "v")],
                files_changed=[POST],
                links_rewritten=2,
                # a round is one post: each warning and failure on its own line, not grouped
                failures=[failure(POST, 4, "gone.png", GONE), failure(POST, 5, "gone.png", GONE)],
                warnings=[Notice("a.png", WEBP), Notice("b.png", WEBP)],
            ),
            POST,
            False,
            [
                f"warning: a.png: {WEBP}",
                f"warning: b.png: {WEBP}",
                f"error: post.md:4: gone.png: {GONE}",
                f"error: post.md:5: gone.png: {GONE}",
                "post.md: 2 uploaded, 2 links rewritten, 2 failed",
            ],
        ),
        (
            Report(
                files_scanned=1, failures=[failure(POST, 4, "gone.png", GONE)], interrupted=True
            ),
            POST,
            True,  # quiet drops the round's line, never an error or the Ctrl-C note
            [
                f"error: post.md:4: gone.png: {GONE}",
                "interrupted: finished uploads were recorded; run imgsync again to finish",
            ],
        ),
    ],
    ids=["first-round", "nothing", "one-link", "warnings-and-failures", "interrupted-quiet"],
)
def test_watch_round_lines(
    report: Report, post: Path | None, quiet: bool, expected: list[str]
) -> None:
    assert watch_round_lines(report, post=post, quiet=quiet) == expected


A, B = Path("shots/a.png"), Path("b.png")
BOTH = [FileURL(A, "https://h/a.png"), FileURL(B, "https://h/b.png"), FileURL(A, "https://h/a.png")]
MISSING = failure(Path("nope.png"), None, "", "not found")


@pytest.mark.parametrize(
    ("outcome", "output", "expected", "status"),
    [
        (
            UploadOutcome(files_named=3, urls=BOTH),
            "url",
            Output(("https://h/a.png", "https://h/b.png", "https://h/a.png"), ()),
            EXIT_OK,
        ),
        (
            UploadOutcome(files_named=3, urls=BOTH),
            "markdown",
            Output(("![a](https://h/a.png)", "![b](https://h/b.png)", "![a](https://h/a.png)"), ()),
            EXIT_OK,
        ),
        (
            UploadOutcome(files_named=3, urls=BOTH[:2], failures=[MISSING]),
            "markdown",  # one failed: stdout stays empty, the URLs known go to stderr
            Output(
                (),
                (
                    "uploaded shots/a.png -> https://h/a.png",
                    "uploaded b.png -> https://h/b.png",
                    "error: nope.png: not found",
                    "imgsync: 1 of 3 file(s) failed; no URL printed on stdout",
                ),
            ),
            EXIT_FAILED,
        ),
        (
            UploadOutcome(files_named=2, urls=BOTH[:1], failures=[MISSING], interrupted=True),
            "url",
            Output((), ("uploaded shots/a.png -> https://h/a.png", "error: nope.png: not found")),
            EXIT_INTERRUPTED,
        ),
        (
            UploadOutcome(files_named=2, urls=BOTH[:1], interrupted=True),
            "url",
            Output((), ("uploaded shots/a.png -> https://h/a.png",)),
            EXIT_INTERRUPTED,
        ),
        (
            UploadOutcome(
                files_named=2,
                urls=[FileURL(A, "https://h/a.png", already_on_host=True)],
                failures=[MISSING],
            ),
            "url",  # found in the cache: never said to be "uploaded"
            Output(
                (),
                (
                    "already on the host (found in the cache): shots/a.png -> https://h/a.png",
                    "error: nope.png: not found",
                    "imgsync: 1 of 2 file(s) failed; no URL printed on stdout",
                ),
            ),
            EXIT_FAILED,
        ),
    ],
    ids=["urls", "markdown", "one-failed", "interrupted-with-failure", "interrupted", "cached"],
)
def test_upload_output(outcome: UploadOutcome, output: str, expected: Output, status: int) -> None:
    assert upload_output(outcome, output=output) == expected
    assert outcome.exit_status() == status


def test_upload_output_leaves_out_the_urls_already_told_as_they_went_up() -> None:
    told = FileURL(A, "https://h/a.png", told=True)  # the progress display printed its line
    outcome = UploadOutcome(files_named=3, urls=[told, BOTH[1]], failures=[MISSING])

    assert upload_output(outcome).stderr == (
        "uploaded b.png -> https://h/b.png",
        "error: nope.png: not found",
        "imgsync: 1 of 3 file(s) failed; no URL printed on stdout",
    )


def test_upload_json_has_every_url_and_failure_and_says_the_errors_on_stderr() -> None:
    found = FileURL(B, "https://h/b.png", already_on_host=True)
    outcome = UploadOutcome(files_named=3, urls=[BOTH[0], found], failures=[MISSING])
    rendered = upload_output(outcome, output="markdown", as_json=True)

    assert rendered.stderr == ("error: nope.png: not found",)  # no "N of M" line with --json
    (text,) = rendered.stdout
    assert json.loads(text) == {
        "uploads": [
            {"file": "shots/a.png", "url": "https://h/a.png", "already_on_host": False},
            {"file": "b.png", "url": "https://h/b.png", "already_on_host": True},
        ],
        "failures": [{"file": "nope.png", "line": None, "image": "", "reason": "not found"}],
        "host_verdict": None,
    }


@pytest.mark.parametrize(
    ("report", "status"),
    [
        (Report(), EXIT_OK),
        (Report(pending=LEFT), EXIT_WORK_LEFT),
        (Report(pending=LEFT, failures=[MISSING]), EXIT_FAILED),
        (Report(failures=[MISSING], interrupted=True), EXIT_INTERRUPTED),
    ],
)
def test_report_exit_status(report: Report, status: int) -> None:
    assert report.exit_status() == status


GONE_REASON = "not found (looked for gone.png); fix the reference, or put the file there"
MIXED = [
    pending(POST, 3, "img/a.png"),
    Pending(Location(POST, 4), "gone.png", "missing", GONE_REASON),
    Pending(Location(OTHER, 1), "../x.png", "unusable", "refused: it is outside the project"),
]


def test_check_text_says_why_a_reference_is_missing_and_what_to_do() -> None:
    rendered = report_output(Report(files_scanned=2, pending=MIXED), command="check")

    assert rendered == Output(
        (
            "post.md:3: img/a.png",
            f"post.md:4: gone.png: {GONE_REASON}",
            "other.md:1: ../x.png: refused: it is outside the project",
        ),
        (
            "3 local image reference(s) left in 2 file(s): 1 not uploaded yet: run `imgsync` "
            "to upload them; 1 missing: no such file, fix the reference; 1 can't be uploaded "
            "as they stand: see why above",
        ),
    )


def test_check_github_titles_and_messages_by_status() -> None:
    lines = list(github_annotations(Report(files_scanned=2, pending=MIXED)))

    assert lines == [
        "::error file=post.md,line=3,title=imgsync%3A local image::local image img/a.png is not "
        "uploaded yet: run `imgsync` to upload it and point the reference at its URL",
        f"::error file=post.md,line=4,title=imgsync%3A missing image::local image gone.png is "
        f"missing: {GONE_REASON}",
        "::error file=other.md,line=1,title=imgsync%3A image can't be uploaded::local image "
        "../x.png can't be uploaded: refused: it is outside the project",
    ]


ON_HOST = Pending(Location(OTHER, 2), "cat.png", "uploaded")


def test_check_tells_a_reference_whose_image_is_already_on_the_host_in_every_format() -> None:
    report = Report(files_scanned=2, pending=[*MIXED, ON_HOST])

    rendered = report_output(report, command="check")
    annotations = list(github_annotations(report))
    document = report_document(report)

    assert rendered.stdout[-1] == (
        "other.md:2: cat.png: already on the host: run `imgsync` to point the reference at its URL"
    )
    assert rendered.stderr == (
        "4 local image reference(s) left in 2 file(s): 1 not uploaded yet: run `imgsync` to "
        "upload them; 1 already on the host: run `imgsync` to point them at their URLs; "
        "1 missing: no such file, fix the reference; 1 can't be uploaded as they stand: see "
        "why above",
    )
    assert annotations[-1] == (
        "::error file=other.md,line=2,title=imgsync%3A local image already on the host::local "
        "image cat.png is already on the host: run `imgsync` to point the reference at its URL"
    )
    assert document["pending"][-1] == {
        "file": "other.md",
        "line": 2,
        "reference": "cat.png",
        "status": "uploaded",
        "reason": None,
    }


def test_check_summary_when_every_image_left_is_already_on_the_host() -> None:
    report = Report(files_scanned=1, pending=[ON_HOST, ON_HOST])

    assert report_output(report, command="check").stderr == (
        "2 local image reference(s) left in 1 file(s); their images are already on the host: "
        "run `imgsync` to point them at their URLs",
    )


def test_doctor_advice_follows_a_finding_that_ends_a_sentence_without_a_stray_stop() -> None:
    from imgsync.doctor import Diagnosis
    from imgsync.render import doctor_output

    diagnosis = Diagnosis()
    diagnosis.add("cache", "fail", "c.json: is not valid JSON. Restore it from git.", "fix it")
    diagnosis.add("host", "fail", "no host is configured", "run init")

    lines = doctor_output(diagnosis).stdout

    assert lines[0] == "FAIL  cache  c.json: is not valid JSON. Restore it from git; to fix: fix it"
    assert lines[1] == "FAIL  host   no host is configured; to fix: run init"
