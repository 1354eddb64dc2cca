"""How bench.py measures: a child's time and peak memory, the walk floor, the scanner's rate."""

from __future__ import annotations

import os
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


class Run:
    """One run of a child: wall seconds and the kernel's peak RSS (MB) of that child."""

    def __init__(self, seconds: float, peak_mb: float) -> None:
        self.seconds, self.peak_mb = seconds, peak_mb


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
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1 if sys.platform == "darwin" else 1024
    return Run(took, usage.ru_maxrss * scale / 2**20)


def median_run(runs: int, measure: Callable[[], Run]) -> Run:
    """The median time of `runs` runs, with the highest peak memory among them."""
    done = [measure() for _ in range(runs)]
    return Run(statistics.median(r.seconds for r in done), max(r.peak_mb for r in done))


def walk_floor(root: Path, env: dict[str, str], runs: int) -> float:
    """A Python process that walks `root` and stats every file: median seconds."""
    walk = [sys.executable, "-c", WALK_AND_STAT, str(root)]
    return median_run(runs, lambda: run(walk, root, env)).seconds


def markdown_texts(root: Path) -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted(root.rglob("*.md"))]


def scanner_rate(texts: list[str]) -> tuple[float, float, int]:
    """(MB/s of one core, CPU seconds, files parsed) of imgsync.scan.scan_markdown over
    `texts`, in this process (CPU time, so the other processes on the machine count less);
    a file the substring test rules out counts as read at its speed, as in a sync."""
    from imgsync.scan import may_contain_references, scan_markdown

    size = sum(len(text.encode("utf-8")) for text in texts) / 2**20
    scan_markdown("# warm up\n\n![a](b.png)\n")  # imports and first-use costs left out
    started = time.process_time()
    for text in texts:
        scan_markdown(text)
    cpu = time.process_time() - started
    parsed = sum(1 for text in texts if may_contain_references(text))
    return size / cpu, cpu, parsed
