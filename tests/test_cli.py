"""The command line in-process: main([...]) on real temp trees, against the fake Lsky host."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.arguments import with_default_command
from imgsync.cli import main
from imgsync.testing.fake_lsky import FakeLsky
from imgsync.testing.fake_pichub import FakePicHub
from tests.images import png_bytes

TOKEN = "5|cliTestTokenNeverShownXXXXXXXXXXXXXXXXXXXX"


@pytest.fixture
def lsky(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        monkeypatch.setenv("LSKY_BASE_URL", server.url)
        monkeypatch.setenv("LSKY_TOKEN", TOKEN)
        yield server


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(png_bytes(2, 2))
    (tmp_path / "post.md").write_text("# Post\n\n![a](img/a.png)\n")
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["docs"], ["sync", "docs"]),
        (["--dry-run", "docs"], ["sync", "--dry-run", "docs"]),
        (["--config", "check", "docs"], ["sync", "--config", "check", "docs"]),
        (["-j", "2", "a.md"], ["sync", "-j", "2", "a.md"]),
        (["check", "docs"], ["check", "docs"]),
        (["--json", "upload", "a.png"], ["upload", "--json", "a.png"]),
        (["--host", "b", "check", "."], ["check", "--host", "b", "."]),
        (["--host", "check", "."], ["sync", "--host", "check", "."]),
        (["--help"], ["--help"]),
        ([], ["sync"]),
    ],
)
def test_sync_is_the_default_command(argv: list[str], expected: list[str]) -> None:
    assert with_default_command(argv) == expected


def test_usage_errors_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--jobs", "0", "."])
    assert caught.value.code == 2
    assert "--jobs" in capsys.readouterr().err


def test_missing_path_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "nowhere"]) == 2
    assert "nowhere: no such file or folder" in capsys.readouterr().err


def test_unknown_config_key_names_file_and_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "imgsync.toml").write_text("jobz = 3\n")

    assert main(["check", "."]) == 2

    err = capsys.readouterr().err
    assert "imgsync.toml" in err and "`jobz`" in err


def test_sync_json_is_one_document(
    project: Path, lsky: FakeLsky, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--json", "."]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["files_changed"] == ["post.md"]
    assert report["links_rewritten"] == 1
    assert report["uploaded"][0]["image"] == "img/a.png"
    assert report["exit_status"] == 0


def test_check_json_lists_what_is_left(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--json", "."]) == 1

    report = json.loads(capsys.readouterr().out)
    assert report["pending"] == [
        {
            "file": "post.md",
            "line": 3,
            "reference": "img/a.png",
            "status": "not_uploaded",
            "reason": None,
        }
    ]


def test_host_refusal_quotes_the_host_and_exits_3(
    project: Path, lsky: FakeLsky, capsys: pytest.CaptureFixture[str]
) -> None:
    lsky.max_size_kb = 0.01  # everything is too large for this server

    assert main(["."]) == 3

    err = capsys.readouterr().err
    assert "post.md:3: img/a.png:" in err
    assert "图片大小超出限制" in err
    assert TOKEN not in err
    assert (project / "post.md").read_text() == "# Post\n\n![a](img/a.png)\n"


def test_bad_token_is_explained_and_never_printed(
    project: Path,
    lsky: FakeLsky,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "9|wrongTokenWrongTokenWrongTokenWrongToken00"
    monkeypatch.setenv("LSKY_TOKEN", wrong)

    assert main(["."]) == 3

    out, err = capsys.readouterr()
    assert "token" in err.lower()
    assert wrong not in out + err
    assert lsky.uploads == [] or all(u.key is None for u in lsky.uploads)


def test_max_size_refuses_before_uploading(
    project: Path, lsky: FakeLsky, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "imgsync.toml").write_text(
        'max_size = 10\n[hosts.l]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\n'
    )

    assert main(["."]) == 3

    assert "above the size limit of 10 bytes" in capsys.readouterr().err
    assert lsky.requests == 0


def test_legacy_lsky_cache_is_taken_over(
    project: Path, lsky: FakeLsky, capsys: pytest.CaptureFixture[str]
) -> None:
    sha256 = hashlib.sha256((project / "img" / "a.png").read_bytes()).hexdigest()
    old_url = "https://old.example.com/i/a.png"
    legacy = {"version": 1, "entries": {sha256: {"url": old_url, "path": "img/a.png", "links": {}}}}
    (project / ".lsky_upload_cache.json").write_text(json.dumps(legacy))

    assert main(["."]) == 0

    assert lsky.requests == 0
    assert f"![a]({old_url})" in (project / "post.md").read_text()
    cache = json.loads((project / ".imgsync-cache.json").read_text())
    (entries,) = cache["uploads"].values()
    assert [e["url"] for e in entries.values()] == [old_url]


def test_corrupt_cache_stops_with_advice_and_is_kept(
    project: Path, lsky: FakeLsky, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".imgsync-cache.json").write_text('{"version": 1, "uploads": {')

    assert main(["."]) == 2

    assert "git checkout" in capsys.readouterr().err
    assert (project / ".imgsync-cache.json").read_text() == '{"version": 1, "uploads": {'
    assert lsky.requests == 0


def test_upload_markdown_format(
    project: Path, lsky: FakeLsky, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["upload", "--format", "markdown", "img/a.png"]) == 0

    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("![a](http://127.0.0.1:") and line.endswith(".png)")


def test_upload_failure_names_the_file_and_exits_3(
    project: Path, lsky: FakeLsky, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "notes.png").write_text("not an image")

    assert main(["upload", "img/a.png", "notes.png"]) == 3

    out, err = capsys.readouterr()
    assert out == ""  # all URLs or none: an editor must not pair a URL with the wrong image
    assert "notes.png: is not an image" in err


@pytest.mark.parametrize(
    "argv", [["upload", "--dry-run", "img/a.png"], ["--dry-run", "upload", "img/a.png"]]
)
def test_upload_refuses_dry_run_rather_than_uploading(
    project: Path, lsky: FakeLsky, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2

    out, err = capsys.readouterr()
    assert out == "" and "upload has no --dry-run" in err
    assert lsky.requests == 0


def test_dry_run_lists_and_writes_nothing(
    project: Path, lsky: FakeLsky, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--dry-run", "."]) == 1

    assert capsys.readouterr().out.splitlines() == ["post.md:3: img/a.png"]
    assert lsky.requests == 0
    assert not (project / ".imgsync-cache.json").exists()


def test_a_reason_shared_by_several_failures_is_said_once(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "post.md").write_text("![a](gone.png)\n![b](gone.png)\n![c](other.png)\n")
    (project / "imgsync.toml").write_text('[hosts.l]\ntype = "lsky"\nurl = "http://127.0.0.1:9"\n')

    assert main(["."]) == 3

    err = capsys.readouterr().err.splitlines()
    assert "  post.md:1: gone.png" in err and "  post.md:2: gone.png" in err
    assert sum("not found (looked for gone.png)" in line for line in err) == 1
    assert (
        "error: post.md:3: other.png: not found (looked for other.png); "
        "fix the reference, or put the file there"
    ) in err


def test_a_warning_shared_by_several_images_is_said_once(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "img" / "b.png").write_bytes(png_bytes(3, 3))
    (project / "post.md").write_text("![a](img/a.png)\n![b](img/b.png)\n")
    with FakePicHub(token="T") as fake:  # PicHub turns PNGs into WebP unless told not to
        (project / "imgsync.toml").write_text(
            f'[hosts.p]\ntype = "pichub"\nurl = "{fake.url}"\ntoken = "T"\n'
        )
        assert main(["."]) == 0

    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "and 1 more" in warnings[0] and "convert_to_webp = false" in warnings[0]


def test_dry_run_json_names_what_would_go_up(
    project: Path, lsky: FakeLsky, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--dry-run", "--json", "."]) == 1

    report = json.loads(capsys.readouterr().out)
    assert report["would_upload"] == ["img/a.png"] and report["uploaded"] == []
