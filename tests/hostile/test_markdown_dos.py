"""Finding 8, the Markdown half: a pull request's Markdown can't make a run quadratic or huge."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgsync.scan import scan_markdown

from .conftest import run_imgsync, run_measured

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63f80f0000010100051845a8c10000000049454e44ae426082"
)


def definitions(n: int, used_every: int = 1) -> str:
    uses = "".join(f"![r{i}][r{i}]\n" for i in range(0, n, used_every))
    return uses + "\n" + "".join(f"[r{i}]: img/r{i}.png\n" for i in range(n))


def peak_of(cwd: Path, *args: str) -> tuple[int, float, int]:
    """(exit status, seconds, peak RSS in MB) of the real console script alone."""
    env = {"LSKY_BASE_URL": "https://images.example.test/api/v1"}
    status, _, peak, seconds = run_measured(cwd, *args, env=env)
    return status, seconds, peak >> 20


# The least CPU time of three scans of a text (the least is the least disturbed), with the
# garbage collector off while each runs, in a Python of its own: what is measured is the
# scan's own work. Timed inside the suite's process, the larger scan also paid for the heap
# of every test module collected (collections, then cache misses with the collector off):
# 3.0x for 2x the text on CI's full runs, while the scan alone reads 2.0-2.1x.
_TIMER = """
import gc, json, sys, time
from imgsync.scan import scan_markdown

def cpu_seconds(text):
    best = float("inf")
    for _ in range(3):
        gc.collect()
        gc.disable()
        try:
            started = time.process_time()
            scan_markdown(text)
            best = min(best, time.process_time() - started)
        finally:
            gc.enable()
    return best

small, large = json.load(sys.stdin)
print(cpu_seconds(large) / cpu_seconds(small))
"""


def scan_time_ratio(small: str, large: str) -> float:
    """CPU time of scanning `large` over that of `small`, in a fresh Python (see _TIMER)."""
    done = subprocess.run(
        [sys.executable, "-c", _TIMER],
        input=json.dumps([small, large]),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


@pytest.mark.slow
def test_100k_reference_definitions_check_in_bounded_time(project: Path) -> None:
    # The review's case took 218 s (every definition copied the labels known so far). The
    # acceptance figure is under 5 s (benchmarks/hostile_markdown.py); this bound is generous
    # for a loaded CI machine, and still far below what quadratic work takes.
    (project / "post.md").write_text(definitions(100_000, used_every=100), encoding="utf-8")
    started = time.perf_counter()
    done = run_imgsync(project, "check", ".")
    seconds = time.perf_counter() - started
    print(f"check, 100,000 definitions: {seconds:.2f} s")

    assert done.returncode == 1, done.stderr
    assert done.stdout.count("post.md:") == 1_000
    assert "post.md:1002: img/r0.png" in done.stdout
    assert seconds < 20


@pytest.mark.slow
def test_reference_definitions_scan_in_linear_time() -> None:
    # Quadratic work shows as 4x the time for 2x the definitions (3.5x at these sizes
    # before the fix); linear as 2x. Definitions and the images that use them both count.
    small, large = definitions(10_000), definitions(20_000)
    assert len(scan_markdown(large).refs) == 20_000
    ratio = scan_time_ratio(small, large)
    print(f"definitions: 2x the text, {ratio:.2f}x the time")
    assert ratio < 3


@pytest.mark.parametrize("separator", ["", "\n", "\n\n"], ids=["line", "lines", "paragraphs"])
def test_images_scan_in_linear_time(separator: str) -> None:
    small, large = (
        ("![ab](img/a.png)" + separator) * 5_000,
        ("![ab](img/a.png)" + separator) * 10_000,
    )
    assert len(scan_markdown(large).refs) == 10_000
    ratio = scan_time_ratio(small, large)
    print(f"images apart by {separator!r}: 2x the text, {ratio:.2f}x the time")
    assert ratio < 3


@pytest.mark.slow
def test_a_million_images_on_one_line_are_refused_within_limits(project: Path) -> None:
    # The review's 16 MB file took 6.5 minutes and 4.4 GB. Past 100,000 links and images the
    # file is left as it is, with a problem at the line where the cap was passed.
    (project / "img").mkdir()
    (project / "img" / "a.png").write_bytes(PNG)
    text = "![ab](img/a.png)" * 1_000_000 + "\n"
    (project / "post.md").write_text(text, encoding="utf-8")

    done = run_imgsync(project, "check", ".")
    assert done.returncode == 3
    assert (
        "post.md:1: more than 100,000 links and images in one file: the file is left as it "
        "is; split it into smaller files"
    ) in done.stderr + done.stdout
    for command in (("sync", "--dry-run", "."), ("sync", ".")):
        status, seconds, peak = peak_of(project, *command)
        print(f"{' '.join(command)}: {seconds:.2f} s, {peak} MB")
        assert status == 3 and seconds < 60 and peak < 500
    assert (project / "post.md").read_text(encoding="utf-8") == text


def test_a_million_images_one_a_line_are_refused_at_once(project: Path) -> None:
    (project / "img").mkdir()
    (project / "img" / "a.png").write_bytes(PNG)
    text = "![ab](img/a.png)\n" * 1_000_000  # 17 MB
    (project / "post.md").write_text(text, encoding="utf-8")

    done = run_imgsync(
        project, "sync", ".", env={"LSKY_BASE_URL": "https://images.example.test/api/v1"}
    )
    assert done.returncode == 3
    assert "post.md:400001: more than 400,000 lines in one file" in done.stderr + done.stdout
    status, seconds, peak = peak_of(project, "check", ".")
    assert status == 3 and seconds < 20 and peak < 500
    assert (project / "post.md").read_text(encoding="utf-8") == text
