"""How bench.py measures: a child's time and peak memory, the walk floor, the scanner's rate."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
WALK_AND_STAT = """
import os, sys
count = 0
for folder, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        os.stat(os.path.join(folder, name))
        count += 1
print(count)
"""
# What any one-edit sync must import: the HTTP client and the CommonMark parser the design
# requires (edit_bound.py; bench.py measures a process doing this, then the walk).
LIBRARIES = "import httpx, httpcore, h11, markdown_it\nmarkdown_it.MarkdownIt('commonmark')\n"
# The imgsync modules a one-edit sync to Lsky loads, by the roots they pull in (as
# `python -X importtime -m imgsync sync .` lists them after one edit).
IMGSYNC_MODULES = (
    "import imgsync.cli, imgsync.pipeline, imgsync.scan, imgsync.upload_feed,"
    " imgsync.hosts.lsky, imgsync.writeback, imgsync.run_memo_write, imgsync.privacy.png,"
    " imgsync.state.processing_seen\n"
)


class Run:
    """One run of a child: wall seconds, the kernel's peak RSS (MB) of that child, and the
    CPU seconds (user + system) of it and of the worker processes it waited for."""

    def __init__(self, seconds: float, peak_mb: float, cpu: float = 0.0) -> None:
        self.seconds, self.peak_mb, self.cpu = seconds, peak_mb, cpu


def run(args: list[str], cwd: Path, env: dict[str, str], expect: int = 0) -> Run:
    """Run `args` (stdout dropped, stderr kept in a file, so a chatty child never blocks
    on a full pipe); exit with its stderr when its status is not `expect`. POSIX only."""
    with tempfile.TemporaryFile() as errors:
        started = time.monotonic()
        child = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        took = time.monotonic() - started
        child.returncode = code = os.waitstatus_to_exitcode(status)
        if code != expect:
            errors.seek(0)
            said = errors.read().decode(errors="replace")[-4000:]
            sys.exit(f"{' '.join(args)} exited {code}, not {expect}:\n{said}")
    # Linux reports ru_maxrss in KiB (macOS in bytes). Linux starts a child's peak at this
    # process's own RSS when it is spawned: keep this process small (own_peak_mb).
    scale = 1 if sys.platform == "darwin" else 1024
    return Run(took, usage.ru_maxrss * scale / 2**20, usage.ru_utime + usage.ru_stime)


def own_peak_mb() -> float:
    """This process's peak RSS: no child's peak can read lower (see run)."""
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def median_run(runs: int, measure: Callable[[], Run]) -> Run:
    """The median of `runs` runs (time and CPU), with the highest peak memory among them."""
    return summary([measure() for _ in range(runs)])


def summary(done: list[Run]) -> Run:
    return Run(
        statistics.median(r.seconds for r in done),
        max(r.peak_mb for r in done),
        statistics.median(r.cpu for r in done),
    )


def walk_floor(root: Path, env: dict[str, str], runs: int) -> float:
    """A Python process that walks `root` and stats every file: median seconds."""
    walk = [sys.executable, "-c", WALK_AND_STAT, str(root)]
    return median_run(runs, lambda: run(walk, root, env)).seconds


def scanner_rate(root: Path) -> tuple[float, float, int]:
    """(MB/s of one core, CPU seconds, files parsed) of imgsync.scan.scan_markdown, as a
    sync scans (`every_link=False`), over the Markdown of `root`, in a process of its own
    (so that this one stays small): CPU time, so the other processes on the machine count
    less. A file the substring test rules out counts as read at that test's speed, as in a
    sync."""
    done = subprocess.run(
        [sys.executable, __file__, str(root)], capture_output=True, text=True, check=True
    )
    rate, cpu, parsed = done.stdout.split()
    return float(rate), float(cpu), int(parsed)


def _scanner_rate(root: Path) -> tuple[float, float, int]:
    from imgsync.scan import may_contain_references, scan_markdown

    texts = [path.read_text(encoding="utf-8") for path in sorted(root.rglob("*.md"))]
    size = sum(len(text.encode("utf-8")) for text in texts) / 2**20
    scan_markdown("# warm up\n\n![a](b.png)\n")  # imports and first-use costs left out
    started = time.process_time()
    for text in texts:
        scan_markdown(text, every_link=False)
    cpu = time.process_time() - started
    parsed = sum(1 for text in texts if may_contain_references(text))
    return size / cpu, cpu, parsed


if __name__ == "__main__":
    rate, cpu, parsed = _scanner_rate(Path(sys.argv[1]))
    print(rate, cpu, parsed)
