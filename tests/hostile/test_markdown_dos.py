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


# CPU time of scanning a text four times the size of another, in a Python of its own with
# the garbage collector off while each scan runs: what is measured is the scan's own work
# (timed inside the suite's process, the larger scan also paid for collecting the heap of
# every test module). The two sizes are scanned in turns, five times each, and the least
# time of each is taken: a burst of load on a shared machine falls on both sizes alike,
# where three runs of one size and then of the other once read 3.1x for 2x the text.
# Linear work reads 4x (3.9-4.1 here), quadratic work up to 16x; the definitions' old scan
# (3.5x for 2x the text) about 11x.
_TIMER = """
import gc, json, sys, time
from imgsync.scan import scan_markdown

def cpu_seconds(text):
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        scan_markdown(text)
        return time.process_time() - started
    finally:
        gc.enable()

small, large = json.load(sys.stdin)
smalls, larges = [], []
for _ in range(5):
    smalls.append(cpu_seconds(small))
    larges.append(cpu_seconds(large))
print(min(larges) / min(smalls))
"""
LINEAR_BOUND = 8  # for 4x the text: twice what linear work reads


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
    # Before the fix every definition copied the labels known so far: 3.5x the time for 2x
    # the definitions at these sizes, about 11x for 4x. Definitions and the images that use
    # them both count.
    small, large = definitions(5_000), definitions(20_000)
    assert len(scan_markdown(large).refs) == 20_000
    ratio = scan_time_ratio(small, large)
    print(f"definitions: 4x the text, {ratio:.2f}x the time")
    assert ratio < LINEAR_BOUND


@pytest.mark.parametrize("separator", ["", "\n", "\n\n"], ids=["line", "lines", "paragraphs"])
def test_images_scan_in_linear_time(separator: str) -> None:
    small, large = (
        ("![ab](img/a.png)" + separator) * 4_000,
        ("![ab](img/a.png)" + separator) * 16_000,
    )
    assert len(scan_markdown(large).refs) == 16_000
    ratio = scan_time_ratio(small, large)
    print(f"images apart by {separator!r}: 4x the text, {ratio:.2f}x the time")
    assert ratio < LINEAR_BOUND


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
