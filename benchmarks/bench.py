"""How fast imgsync is on large docs trees: each figure as a ratio to a floor of the same run.

    .venv/bin/python benchmarks/bench.py [--trees easy,heavy,big] [--upload-runs 3] [--big-mb 200]

It builds synthetic trees (trees.py): "easy" and "heavy" of 3,000 Markdown files of about
4 KB with 300 distinct 20 KB images, one file in four referencing one or two of them (the
heavy one quotes image syntax in every file, in prose rich in inline syntax), and "big",
the easy shape with 30,000 files. It starts the project's fake Lsky in its own process
answering in 20-60 ms, and runs the real console script as a user would:

- first sync: wall time / (images x mean latency), the sequential floor;
- second sync, nothing to do: wall time / a Python process that walks the tree and stats
  every file, measured alternately with it (and, in brackets, the ratio of their CPU
  seconds, which others on the machine move less), after a run that leaves the run memo
  (run_memo.py) that answers them; and also with the memo removed before each run (a full
  run: stamps, walk, imports);
- one file edited with one new image, then a sync: the same floor; and against the least
  such a sync can take (edit_bound.py): a process importing httpx and markdown-it, then
  walking, measured alternately with it, plus the fake host's mean reply;
- `imgsync check` on the synced tree, RACY_SECONDS after the edits: the same floor, with
  and without the memo;
- the scanner's throughput: MB/s of one core (CPU time) of imgsync.scan.scan_markdown
  over the tree's Markdown, in this process;
- peak memory (the kernel's peak RSS of the child) of each command, to see it stay flat
  from 3,000 to 30,000 files;
- `imgsync upload` of 50 images on a fake answering in 50 ms, against one image's time
  + 50 x 50 ms / jobs (upload_speed.py), and the peak memory of a 200 MB upload.

Repeated measurements report the median. POSIX only (wait4).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from big_upload import start_fake_host, write_image
from measure import (
    IMGSYNC,
    LIBRARIES,
    WALK_AND_STAT,
    Run,
    median_run,
    own_peak_mb,
    run,
    scanner_rate,
    summary,
)
from trees import CONFIG, build_tree_apart, write_image_apart
from upload_speed import UploadFigure, upload_figure

from imgsync.state.stamps import RACY_SECONDS

TOKEN = "1|benchmarkTokenXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
LATENCY = (0.020, 0.060)  # the fake host's reply time, seconds, uniform
UPLOAD_LATENCY = 0.050  # the upload figure's fake host: a fixed reply time
TREES = {"easy": ("easy", 1), "heavy": ("heavy", 1), "big": ("easy", 10)}  # shape, x files
# The targets (issue 20): ratios to the floor, at most.
FIRST_TARGET = {"easy": 0.20, "heavy": 0.25}
NOTHING_TARGET, CHECK_TARGET, EDIT_TARGET = 2.0, 2.0, 6.0
SCANNER_TARGET = 5.0  # MB/s a core, on Markdown rich in inline syntax
UPLOAD_TARGET = 1.2


@dataclass
class TreeFigures:
    name: str
    files: int
    size_mb: float
    first: Run
    firsts: list[float]
    racy: float
    nothing: Run
    edit: Run
    check: Run
    nothing_full: Run  # the memo removed before each run
    check_full: Run
    walks: list[Run] = field(default_factory=list)
    scanner: tuple[float, float, int] | None = None  # MB/s, CPU seconds, files parsed
    least_edits: list[Run] = field(default_factory=list)  # libraries imported, then the walk

    @property
    def least_edit(self) -> float:
        """The least a one-edit sync can take: the libraries and the walk, and a reply."""
        return statistics.median(r.seconds for r in self.least_edits) + statistics.mean(LATENCY)

    @property
    def walk(self) -> float:
        return statistics.median(r.seconds for r in self.walks)

    @property
    def walk_cpu(self) -> float:
        return statistics.median(r.cpu for r in self.walks)


def measure_tree(
    name: str, folder: Path, env: dict[str, str], args: argparse.Namespace
) -> TreeFigures:
    shape, scale = TREES[name]
    files = args.files * scale
    pristine = folder / name
    size_mb = build_tree_apart(pristine, files, args.images, args.seed, shape)
    print(f"{name}: {files} Markdown files ({size_mb:.1f} MB), {args.images} images", flush=True)
    scanner = scanner_rate(pristine) if args.scanner and scale == 1 else None
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    sync = [IMGSYNC, "sync", *jobs, "."]

    # The first sync is long and this machine's speed wanders: its median over fresh
    # copies of the tree (each with no cache and no stamps) is the figure. The big tree
    # is synced once, in place.
    firsts: list[Run] = []
    copies = args.first_runs if scale == 1 else 1
    for n in range(copies):
        root = pristine if scale != 1 else folder / f"{name}-first-{n}"
        if root != pristine:
            shutil.copytree(pristine, root)
        firsts.append(run(sync, root, env))
        done = firsts[-1]
        print(f"  first sync {n + 1}: {done.seconds:.2f} s, {done.cpu:.1f} CPU-s", flush=True)
        if n < copies - 1:
            shutil.rmtree(root)
    first = summary(firsts)
    # Stamps of files changed in the last RACY_SECONDS are checked by reading the file
    # (git's "racily clean" rule); the runs below measure the steady state after that.
    racy = run(sync, root, env).seconds
    time.sleep(RACY_SECONDS)

    walk = [sys.executable, "-c", WALK_AND_STAT, str(root)]
    walks: list[Run] = []

    def alternately(command: list[str]) -> Run:
        walks.append(run(walk, root, env))
        return run(command, root, env)

    def without_memo(command: list[str]) -> Run:
        shutil.rmtree(root / ".imgsync" / "runs", ignore_errors=True)
        return alternately(command)

    run(sync, root, env)  # leaves the run memo: the runs below are the steady state
    nothing = median_run(args.runs, lambda: alternately(sync))
    nothing_full = median_run(args.runs, lambda: without_memo(sync))
    edits, least_edits = [], []
    least = [sys.executable, "-c", LIBRARIES + WALK_AND_STAT, str(root)]
    for n in range(args.runs):
        page = root / "docs" / "section-00" / f"page-{n * 2 + 1:04}.md"
        write_image(root / "img" / f"new-{n}.png", 20 * 1024)
        with page.open("a") as out:
            out.write(f"\n![A new figure](../../img/new-{n}.png)\n")
        least_edits.append(run(least, root, env))
        edits.append(alternately(sync))
    edit = summary(edits)
    time.sleep(RACY_SECONDS)  # the steady state again: the last edit's files are racy
    run([IMGSYNC, "check", "."], root, env)  # leaves check's memo
    check = median_run(args.runs, lambda: alternately([IMGSYNC, "check", "."]))
    check_full = median_run(args.runs, lambda: without_memo([IMGSYNC, "check", "."]))
    spread = [r.seconds for r in firsts]
    if root != pristine:
        shutil.rmtree(root)
    return TreeFigures(
        name,
        files,
        size_mb,
        first,
        spread,
        racy,
        nothing,
        edit,
        check,
        nothing_full,
        check_full,
        walks,
        scanner,
        least_edits,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trees", default="easy,heavy,big", help="which of easy, heavy, big (comma list)"
    )
    number = parser.add_argument
    number("--files", type=int, default=3000, help="files of easy and heavy (big: x10)")
    number("--images", type=int, default=300)
    number("--jobs", type=int, help="imgsync's --jobs (default: its own default)")
    number("--runs", type=int, default=5, help="repeats of the quick measurements")
    number("--first-runs", type=int, default=3, help="first syncs to take the median of")
    number("--upload-runs", type=int, default=3, help="runs of the upload figure (0: skip)")
    number("--big-mb", type=int, default=200, help="size of the big upload (MB; 0: skip)")
    parser.add_argument(
        "--no-scanner", dest="scanner", action="store_false", help="skip the scanner's rate"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    names = [name.strip() for name in args.trees.split(",") if name.strip()]
    unknown = [name for name in names if name not in TREES]
    if unknown:
        parser.error(f"unknown tree {unknown[0]!r}: choose among {', '.join(TREES)}")

    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="imgsync-bench-"))
    fake, url = start_fake_host(max_size_kb=(args.big_mb + 1) * 1024)
    latency = ["--latency", str(LATENCY[0]), "--latency-max", str(LATENCY[1])]
    slow_fake, slow_url = start_fake_host(max_size_kb=1024, extra=latency)
    fixed_fake, fixed_url = start_fake_host(
        max_size_kb=1024, extra=["--latency", str(UPLOAD_LATENCY)]
    )
    # As installed by pip, which compiles the bytecode: a PYTHONDONTWRITEBYTECODE left in
    # the environment would make every run compile imgsync's modules again.
    env = {**os.environ, "LSKY_TOKEN": TOKEN, "CI": "true"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    figures: list[TreeFigures] = []
    upload: UploadFigure | None = None
    big_peak = big_time = None
    try:
        if args.upload_runs:
            upload = upload_figure(
                folder / "upload",
                {**env, "LSKY_BASE_URL": fixed_url},
                images=50,
                latency=UPLOAD_LATENCY,
                jobs=args.jobs,
                runs=args.upload_runs,
            )
        for name in names:
            figures.append(measure_tree(name, folder, {**env, "LSKY_BASE_URL": slow_url}, args))
            shutil.rmtree(folder / name, ignore_errors=True)
        if args.big_mb:
            big = folder / "big-file"
            big.mkdir()
            write_image_apart(big / "big.png", args.big_mb * 2**20)
            (big / "imgsync.toml").write_text(CONFIG)
            done = run([IMGSYNC, "upload", "big.png"], big, {**env, "LSKY_BASE_URL": url})
            big_peak, big_time = done.peak_mb, done.seconds
    finally:
        for server in (fake, slow_fake, fixed_fake):
            server.terminate()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)

    # Others on the machine slow the wall times (the CPU seconds less): say how many there were.
    load = f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    print(f"\nload average (1 minute): {load}, on {os.cpu_count()} cores")
    print_table(figures, args.images * statistics.mean(LATENCY))
    if upload is not None:
        print()
        print_upload(upload)
    if big_peak is not None and big_time is not None:
        print(f"\npeak memory, {args.big_mb} MB upload: {big_peak:.1f} MB ", end="")
        print(f"({big_time:.1f} s; target under 100 MB)")
    return 0


def _ratio(seconds: float, floor: float, target: float) -> str:
    mark = "" if seconds / floor <= target else " OVER"
    return f"{_time(seconds)} = {seconds / floor:.2f}{mark}"


def _time(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def print_table(figures: list[TreeFigures], sequential: float) -> None:
    """One Markdown table, a column per tree (docs/performance.md takes it as it is)."""
    head = [f"{f.name}, {f.files:,} files ({f.size_mb:.0f} MB)" for f in figures]
    rows: list[tuple[str, str, list[str], str]] = []
    firsts = []
    for f in figures:
        if f.name in FIRST_TARGET:
            firsts.append(_ratio(f.first.seconds, sequential, FIRST_TARGET[f.name]))
        else:
            firsts.append(f"{_time(f.first.seconds)} (once, to set up)")
    targets = ", ".join(f"{v:.2f} {k}" for k, v in FIRST_TARGET.items())
    floor = f"images x mean latency = {sequential:.1f} s"
    rows.append(("first sync (median)", floor, firsts, targets))
    spreads = [f"{min(f.firsts):.2f}-{max(f.firsts):.2f} s" for f in figures]
    rows.append(("first sync, spread", "", spreads, ""))
    cpu = [f"{f.first.cpu:.1f} CPU-s = {f.size_mb / f.first.cpu:.2f} MB/CPU-s" for f in figures]
    rows.append(("first sync, CPU of all its processes", "", cpu, ""))
    walk = "walk and stat"
    for label, what, most in (
        ("second sync, nothing to do", "nothing", NOTHING_TARGET),
        ("the same, no memo (a full run)", "nothing_full", NOTHING_TARGET),
        ("one file edited, one new image", "edit", EDIT_TARGET),
        ("`imgsync check`, synced tree", "check", CHECK_TARGET),
        ("the same, no memo (a full run)", "check_full", CHECK_TARGET),
    ):
        cells = [
            f"{_ratio(getattr(f, what).seconds, f.walk, most)} "
            f"(CPU {getattr(f, what).cpu / f.walk_cpu:.1f})"
            for f in figures
        ]
        rows.append((label, walk, cells, f"{most:g}"))
    walks = [f"{_time(f.walk)} ({f.walk_cpu * 1000:.0f} ms CPU)" for f in figures]
    rows.append(("walk and stat (median)", "", walks, ""))
    least = "libraries imported, walk, mean reply"
    bounds = [
        f"{_time(f.edit.seconds)} / {_time(f.least_edit)} = {f.edit.seconds / f.least_edit:.2f}"
        f" (the least = {f.least_edit / f.walk:.2f} of the walk)"
        for f in figures
    ]
    rows.append(("one file edited, against the least it can take", least, bounds, ""))
    racy = [_time(f.racy) for f in figures]
    rows.append(("sync right after the first (racy stamps)", "", racy, ""))
    scanner = []
    for f in figures:
        if f.scanner is None:
            scanner.append("")
        else:
            rate, seconds, parsed = f.scanner
            scanner.append(f"{rate:.2f} MB/s ({seconds:.1f} CPU-s; {parsed:,} files parsed)")
    rows.append(("scanner, one core", "", scanner, f"{SCANNER_TARGET:g} MB/s heavy"))
    for label, what in (
        ("peak memory, first sync", "first"),
        ("peak memory, nothing to do", "nothing"),
        ("peak memory, nothing to do, no memo", "nothing_full"),
        ("peak memory, one file edited", "edit"),
        ("peak memory, `check`", "check"),
        ("peak memory, `check`, no memo", "check_full"),
    ):
        peaks = [f"{getattr(f, what).peak_mb:.1f} MB" for f in figures]
        rows.append((label, "", peaks, "flat" if what != "first" else ""))
    print("| measurement | floor | " + " | ".join(head) + " | target |")
    print("|---|---|" + "---|" * len(figures) + "---|")
    for label, floor, cells, target in rows:
        print(f"| {label} | {floor} | " + " | ".join(cells) + f" | {target} |")
    by_name = {f.name: f for f in figures}
    if "easy" in by_name and "big" in by_name:
        small, big = by_name["easy"], by_name["big"]
        growth = ", ".join(
            f"{what} {getattr(big, what).peak_mb - getattr(small, what).peak_mb:+.1f} MB"
            for what in ("nothing", "check", "nothing_full", "check_full")
        )
        print(f"\npeak memory from {small.files:,} to {big.files:,} files: {growth}")
    # Linux starts a child's peak RSS at its parent's RSS when spawned (measure.run).
    print(f"(no peak can read below this benchmark's own, {own_peak_mb():.1f} MB)")


def print_upload(figure: UploadFigure) -> None:
    mark = "" if figure.ratio <= UPLOAD_TARGET else " OVER"
    latency = f"{figure.latency * 1000:.0f} ms"
    print(
        f"`imgsync upload` of {figure.images} images at {latency}, jobs {figure.jobs}: "
        f"{_time(figure.many)}; floor = one image {_time(figure.one)} + {figure.images} x "
        f"{latency} / {figure.jobs} = {_time(figure.floor)}; ratio {figure.ratio:.2f}{mark} "
        f"(target {UPLOAD_TARGET:g}); peak memory {figure.peak_mb:.1f} MB"
    )


if __name__ == "__main__":
    raise SystemExit(main())
