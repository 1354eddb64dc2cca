"""Finding 6: file names, references, host messages and URLs print escaped, and no printed line
can start a CI workflow command (GitHub's `::`, `##[`; Azure's `##vso[`)."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

from imgsync.config import load_settings
from imgsync.progress import Progress
from imgsync.testing.attacker import Attacker, json_answer, lsky_success
from imgsync.testing.fake_lsky import FakeLsky
from imgsync.watch import Watcher
from tests.hostile.conftest import assert_no_secret_reached, run_imgsync
from tests.images import png_bytes

INJECTED = "e\n::error file=README.md,line=1::PWNED\n.md"
INJECTED_SHOWN = "e\\n::error file=README.md,line=1::PWNED\\n.md"
AZURE = "##vso[task.setvariable variable=PATH]evil.md"
ANSI = "\x1b[2J\x1b]0;owned\x07"
HOST_TOKEN = "1|tokenOfTheHostThisTestPlays0000000000000"  # not one of the CI's SECRETS


def printed_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    """Every line of stdout and stderr as a CI runner splits them (LF, CR or CRLF)."""
    return [
        line for stream in (done.stdout, done.stderr) for line in re.split(r"\r\n|\r|\n", stream)
    ]


def assert_printed_safely(done: subprocess.CompletedProcess[str]) -> None:
    for line in printed_lines(done):
        assert not line.lstrip().startswith("::"), line
        assert "##[" not in line and "##vso[" not in line.lower(), line
        assert "\x1b" not in line and "\x07" not in line and "\u2028" not in line, line


def test_an_injected_file_name_prints_escaped_in_plain_check(project: Path) -> None:
    (project / INJECTED).write_text("![x](a.png)\n")
    (project / AZURE).write_text("![y](b.png)\n")
    (project / "::warning file=README.md::PWNED.md").write_text("![z](c.png)\n")
    for name in ("a.png", "b.png", "c.png"):  # there, not uploaded yet: a line says just that
        (project / name).write_bytes(png_bytes(rgb=(len(name), 0, ord(name[0]))))

    done = run_imgsync(project, "check", ".")

    assert done.returncode == 1
    assert_printed_safely(done)
    assert f"{INJECTED_SHOWN}:1: a.png" in done.stdout.splitlines()
    assert "\\x3a:warning file=README.md::PWNED.md:1: c.png" in done.stdout.splitlines()
    assert "\\x23#vso[task.setvariable variable=PATH]evil.md:1: b.png" in done.stdout.splitlines()


def test_an_injected_file_name_prints_escaped_in_a_sync_failure(project: Path) -> None:
    (project / INJECTED).write_text("![x](missing.png)\n")

    done = run_imgsync(project, ".", env={"LSKY_BASE_URL": "http://127.0.0.1:9/api/v1"})

    assert done.returncode == 3
    assert_printed_safely(done)
    assert f"error: {INJECTED_SHOWN}:1: missing.png: not found" in done.stderr


def test_json_output_stays_json_and_decodes_to_the_real_names(project: Path) -> None:
    name = f"{INJECTED[:-3]}\u2028\u202e\x9b{AZURE}"
    (project / name).write_text(f"![x](<a{ANSI}.png>)\n")

    done = run_imgsync(project, "check", "--json", ".")

    assert_printed_safely(done)
    document = json.loads(done.stdout)
    assert [(p["file"], p["reference"]) for p in document["pending"]] == [(name, f"<a{ANSI}.png>")]


def test_ansi_in_a_reference_prints_escaped(project: Path) -> None:
    (project / "post.md").write_text(f'![x](<a{ANSI}.png>)\n<img src="b\x1b[31m.png">\n')

    done = run_imgsync(project, "check", ".")

    assert_printed_safely(done)
    lines = done.stdout.splitlines()
    # Both are missing: the reason that follows names the file looked for, escaped as well.
    assert [line.partition(": not found (looked for ")[0] for line in lines] == [
        "post.md:1: <a\\x1b[2J\\x1b]0;owned\\x07.png>",
        "post.md:2: b\\x1b[31m.png",
    ]
    assert "(looked for a\\x1b[2J\\x1b]0;owned\\x07.png)" in lines[0]


def test_ansi_in_a_host_message_prints_escaped(project: Path) -> None:
    (project / "a.png").write_bytes(png_bytes())
    (project / "post.md").write_text("![x](a.png)\n")
    refusal = {"status": False, "message": f"no{ANSI}\n::error::PWNED", "data": {}}

    with Attacker(json_answer(refusal)) as attacker:
        env = {"LSKY_BASE_URL": f"{attacker.origin}/api/v1", "LSKY_TOKEN": HOST_TOKEN}
        done = run_imgsync(project, ".", env=env)

    assert done.returncode == 3
    assert_printed_safely(done)
    assert "no\\x1b[2J\\x1b]0;owned\\x07\\n::error::PWNED)" in done.stderr
    assert_no_secret_reached(attacker)


def test_ansi_in_a_url_from_the_host_never_prints_raw(project: Path) -> None:
    (project / "a.png").write_bytes(png_bytes())

    with Attacker(lsky_success(f"https://img.test/a{ANSI}.png\n::error::PWNED")) as attacker:
        env = {"LSKY_BASE_URL": f"{attacker.origin}/api/v1", "LSKY_TOKEN": HOST_TOKEN}
        done = run_imgsync(project, "upload", "a.png", env=env)

    assert_printed_safely(done)
    # Shown escaped if it is printed at all (a host's URL with controls may be refused whole).
    assert "[2J" not in done.stdout + done.stderr or "\\x1b[2J" in done.stdout + done.stderr
    assert_no_secret_reached(attacker)


def test_the_upload_command_names_a_hostile_file_escaped(project: Path) -> None:
    name = f"x{ANSI}\n::error::y.png"
    (project / name).write_text("not an image")

    done = run_imgsync(project, "upload", name, env={"LSKY_BASE_URL": "http://127.0.0.1:9/api/v1"})

    assert done.returncode == 3
    assert_printed_safely(done)
    assert "error: x\\x1b[2J\\x1b]0;owned\\x07\\n::error::y.png: is not an image" in done.stderr


def test_a_config_error_names_a_hostile_path_escaped(project: Path) -> None:
    done = run_imgsync(project, "check", "--config", "x\n::error::PWNED.toml", ".")

    assert done.returncode == 2
    assert_printed_safely(done)
    assert "/x\\n::error::PWNED.toml: does not exist" in done.stderr


def test_progress_lines_with_a_host_url_print_escaped(project: Path) -> None:
    (project / "a.png").write_bytes(png_bytes())
    (project / INJECTED).write_text("![x](a.png)\n")

    with FakeLsky(token=HOST_TOKEN) as host:
        env = {"LSKY_BASE_URL": host.url, "LSKY_TOKEN": HOST_TOKEN}
        done = run_imgsync(project, "--verbose", ".", env=env)

    assert done.returncode == 0, done.stderr
    assert_printed_safely(done)
    assert f"rewrote {INJECTED_SHOWN}" in done.stdout.splitlines()
    assert any(line.startswith("uploaded a.png -> http") for line in done.stderr.splitlines())
    # The bar a terminal gets, and the plain lines of CI, escape alike.
    for bar in (True, False):
        stream = io.StringIO()
        progress = Progress(stream, bar=bar)
        progress.start(1)
        progress.advance(f"uploaded {ANSI}{INJECTED}")
        progress.note("::warning::x")
        progress.finish()
        shown = stream.getvalue().replace("\r\x1b[K", "\n")  # the bar's own redrawing
        assert "uploaded \\x1b[2J" in shown and "\\x3a:warning::x" in shown
        assert "\x1b" not in shown and not any(line.startswith("::") for line in shown.split("\n"))


def test_watch_lines_print_escaped(project: Path) -> None:
    (project / INJECTED).write_text("![x](missing.png)\n")
    stream = io.StringIO()
    settings = load_settings(cwd=project, env={"LSKY_BASE_URL": "http://127.0.0.1:9/api/v1"})
    watcher = Watcher([project], settings, stream=stream, verbose=True)

    watcher.first_round()
    watcher.note(project / f"{ANSI}.txt", now=0.0)

    shown = stream.getvalue()
    assert f"/{INJECTED_SHOWN}:1: missing.png: not found" in shown
    assert "\\x1b[2J\\x1b]0;owned\\x07.txt: not a post" in shown
    assert "\x1b" not in shown and not any(line.startswith("::") for line in shown.splitlines())


def test_an_argument_error_quotes_a_hostile_file_name_escaped(project: Path) -> None:
    # `imgsync upload *.png` in a CI script: the shell puts the pull request's names in argv.
    done = run_imgsync(project, "upload", "a.png", "--x\n::error::PWNED.png")

    assert done.returncode == 2
    assert_printed_safely(done)
    assert "imgsync: error: `upload` does not take --x\\n::error::PWNED.png;" in done.stderr
