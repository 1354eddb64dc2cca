"""Time and peak memory of imgsync on hostile Markdown a pull request can hold.

    .venv/bin/python benchmarks/hostile_markdown.py [--only NAME ...]

Builds each file in a temporary project (one real PNG the references point at) and runs
the real console script on it, as CI would: `imgsync check .` and `imgsync sync --dry-run .`
(offline: a dry run uploads nothing). Each child's peak resident memory comes from the
kernel (wait4's ru_maxrss). The issue's targets: 100,000 reference definitions `check` in
under 5 s; the 16 MB file of a million images within 60 s and 500 MB. POSIX only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63f80f0000010100051845a8c10000000049454e44ae426082"
)


def definitions(n: int) -> str:
    """`n` reference definitions, each used by one image: `![r7][r7]` ... `[r7]: img/r7.png`."""
    uses = "".join(f"![r{i}][r{i}]\n" for i in range(n))
    return uses + "\n" + "".join(f"[r{i}]: img/r{i}.png\n" for i in range(n))


def definitions_only(n: int) -> str:
    return "".join(f"[r{i}]: img/r{i}.png\n" for i in range(n))


def one_line(n: int) -> str:
    return "![ab](img/a.png)" * n + "\n"  # 16 bytes an image: a million make 16 MB


def one_per_line(n: int) -> str:
    return "![ab](img/a.png)\n" * n


def one_per_paragraph(n: int) -> str:
    return "![ab](img/a.png)\n\n" * n


def distinct(n: int) -> str:
    return "".join(f"![a](img/{i:07}.png)\n" for i in range(n))


CASES: dict[str, tuple[Callable[[int], str], int]] = {
    "100k-definitions+uses": (definitions, 100_000),
    "100k-definitions": (definitions_only, 100_000),
    "1M-images-one-line": (one_line, 1_000_000),
    "1M-images-one-per-line": (one_per_line, 1_000_000),
    "1M-images-one-per-paragraph": (one_per_paragraph, 1_000_000),
    "1M-distinct-images": (distinct, 1_000_000),
    "99k-images-one-line": (one_line, 99_000),
    "99k-images-one-per-line": (one_per_line, 99_000),
    "99k-images-one-per-paragraph": (one_per_paragraph, 99_000),
}


def run(cwd: Path, *args: str) -> tuple[float, float, int, int]:
    """(seconds, CPU seconds, peak RSS in MB, exit status) of the real command, run cold."""
    shutil.rmtree(cwd / ".imgsync", ignore_errors=True)  # no stamp may spare it the work
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env |= {"LSKY_BASE_URL": "https://images.example.test/api/v1", "LSKY_TOKEN": "1|bench"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [IMGSYNC, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="run these cases only")
    names = parser.parse_args().only or list(CASES)
    print(f"{'case':30} {'MB':>5} {'command':8} {'seconds':>8} {'CPU s':>6} {'peak MB':>7} exit")
    for name in names:
        build, n = CASES[name]
        with tempfile.TemporaryDirectory() as folder:
            project = Path(folder)
            (project / "img").mkdir()
            (project / "img" / "a.png").write_bytes(PNG)
            text = build(n)
            (project / "post.md").write_text(text, encoding="utf-8")
            size = len(text.encode()) / 1e6
            for label, args in (("check", ("check", ".")), ("dry-run", ("sync", "--dry-run", "."))):
                seconds, cpu, peak, code = run(project, *args)
                figures = f"{seconds:8.2f} {cpu:6.2f} {peak:7d} {code:4d}"
                print(f"{name:30} {size:5.1f} {label:8} {figures}")


if __name__ == "__main__":
    main()
