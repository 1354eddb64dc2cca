"""Progress output: a redrawn bar on a terminal, plain lines when piped, silence when quiet."""

from __future__ import annotations

import io

from imgsync.progress import Progress


def test_piped_output_is_one_plain_line_per_upload() -> None:
    stream = io.StringIO()
    progress = Progress(stream, bar=False)

    progress.start(2)
    progress.advance("uploaded a.png -> https://h/a.png")
    progress.advance("uploaded b.png -> https://h/b.png")
    progress.finish()

    assert stream.getvalue() == (
        "uploaded a.png -> https://h/a.png\nuploaded b.png -> https://h/b.png\n"
    )


def test_terminal_output_redraws_one_bar_and_clears_it() -> None:
    stream = io.StringIO()
    progress = Progress(stream, bar=True)

    progress.start(4)
    progress.advance("uploaded a.png")
    progress.note("waiting 60s")
    progress.advance("uploaded b.png")
    progress.finish()

    text = stream.getvalue()
    assert "\n" not in text.replace("waiting 60s\n", "")  # only notes end lines
    assert "1/4" in text and "2/4" in text and "[" in text
    assert text.endswith("\r\x1b[K")  # the bar is wiped at the end


def test_quiet_prints_nothing_but_keeps_counting() -> None:
    stream = io.StringIO()
    progress = Progress(stream, quiet=True, bar=True)

    progress.start(1)
    progress.advance("uploaded a.png")
    progress.detail("verbose only")
    progress.finish()

    assert stream.getvalue() == ""


def test_says_whether_it_prints_each_event_so_no_list_repeats_them() -> None:
    stream = io.StringIO()

    assert Progress(stream, bar=False).prints_each_event
    assert not Progress(stream, bar=True).prints_each_event  # a bar draws over its lines
    assert not Progress(stream, quiet=True, bar=False).prints_each_event
    assert Progress(stream, verbose=True, bar=True).prints_details
    assert not Progress(stream, verbose=True, quiet=True).prints_details


def test_the_bar_says_what_is_going_on() -> None:
    stream = io.StringIO()
    progress = Progress(stream, bar=True)
    progress.action = "listing"
    progress.start(80)
    progress.advance("")
    assert "listing [" in stream.getvalue() and "1/80" in stream.getvalue()
    assert "uploading" not in stream.getvalue()


def test_the_bar_grows_as_uploads_are_found_during_the_scan() -> None:
    stream = io.StringIO()
    progress = Progress(stream, bar=True)
    progress.start(0)
    assert stream.getvalue() == ""  # nothing to show yet
    progress.grow(1)
    progress.advance("uploaded a.png")
    progress.grow(2)
    progress.advance("uploaded b.png")

    assert "1/1" in stream.getvalue() and stream.getvalue().endswith("2/3 uploaded b.png")
