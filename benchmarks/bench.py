"""How fast imgsync is on a large docs tree: each figure as a ratio to a floor of the same run.

    .venv/bin/python benchmarks/bench.py [--files 3000] [--images 300] [--jobs N]

It builds a synthetic tree (Markdown files of about 4 KB, distinct 20 KB images,
one file in four referencing one or two of them, code blocks that quote image
syntax), starts the project's fake Lsky in its own process answering in 20-60 ms,
and runs the real console script as a user would:

- first sync: wall time / (images x mean latency), the sequential floor;
- second sync, nothing to do: wall time / a Python process that walks the tree
  and stats every file;
- one file edited with one new image, then a sync: the same floor;
- `imgsync check` on the synced tree: the same floor;
- peak memory (the kernel's peak RSS) of the first sync and of a 200 MB upload.

Repeated measurements report the median. POSIX only (wait4).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from big_upload import peak_memory, start_fake_host, write_image

from imgsync.state.stamps import RACY_SECONDS

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "1|benchmarkTokenXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
LATENCY = (0.020, 0.060)  # the fake host's reply time, seconds, uniform
VOCABULARY = """image host markdown upload render static site page section figure caption
link table list quote code block inline build deploy draft review publish archive theme
layout asset folder cache token config path width height format scale crop thumbnail"""
WORDS = VOCABULARY.split()
WALK_AND_STAT = """
import os, sys
count = 0
for folder, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        os.stat(os.path.join(folder, name))
        count += 1
print(count)
"""


@dataclass
class Row:
    name: str
    seconds: float
    floor: float
    floor_name: str
    target: float

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor


def build_tree(root: Path, files: int, images: int, seed: int) -> None:
    """The synthetic docs tree under `root`, the same for the same seed."""
    chance = random.Random(seed)
    (root / "img").mkdir(parents=True)
    for number in range(images):
        write_image(root / "img" / f"figure-{number:04}.png", 20 * 1024)
    order = list(range(images))
    chance.shuffle(order)
    next_image = iter(order * 8)
    for index in range(files):
        section = root / "docs" / f"section-{index // 100:02}"
        section.mkdir(parents=True, exist_ok=True)
        parts = [f"# Page {index}\n\n"]
        references = []
        if index % 4 == 0:  # one file in four references one or two images
            references = [next(next_image) for _ in range(1 + (index % 8 == 0))]
        while sum(map(len, parts)) < 4000:
            words = " ".join(chance.choice(WORDS) for _ in range(chance.randint(40, 90)))
            parts.append(words.capitalize() + ".\n\n")
            if references and len(parts) in (3, 6):
                number = references.pop()
                parts.append(f"![Figure {number}](../../img/figure-{number:04}.png)\n\n")
            if index % 3 == 0 and len(parts) == 4:  # quoted syntax, never a reference
                parts.append("```markdown\n![a quoted image](img/not-real.png)\n```\n\n")
                parts.append("Write `![alt](path.png)` to show an image.\n\n")
        for number in references:
            parts.append(f"![Figure {number}](../../img/figure-{number:04}.png)\n\n")
        (section / f"page-{index:04}.md").write_text("".join(parts))
    (root / "imgsync.toml").write_text(
        '[hosts.bench]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )


def timed(args: list[str], cwd: Path, env: dict[str, str], expect: int = 0) -> float:
    started = time.monotonic()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.monotonic() - started
    if done.returncode != expect:
        sys.exit(f"{' '.join(args)} exited {done.returncode}, not {expect}:\n{done.stderr}")
    return took


def median_of(runs: int, measure: object) -> float:
    assert callable(measure)
    return statistics.median(measure() for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--jobs", type=int, help="imgsync's --jobs (default: its own default)")
    parser.add_argument("--runs", type=int, default=5, help="repeats of the quick measurements")
    parser.add_argument("--big-mb", type=int, default=200, help="size of the big upload (MB)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--first-runs", type=int, default=3, help="first syncs to take the median of"
    )
    args = parser.parse_args()
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []

    folder = Path(tempfile.mkdtemp(prefix="imgsync-bench-"))
    fake, url = start_fake_host(max_size_kb=(args.big_mb + 1) * 1024)
    fake_args = ["--latency", str(LATENCY[0]), "--latency-max", str(LATENCY[1])]
    slow_fake, slow_url = start_fake_host(max_size_kb=1024, extra=fake_args)
    # As installed by pip, which compiles the bytecode: a PYTHONDONTWRITEBYTECODE left in
    # the environment would make every run compile imgsync's modules again.
    env = {**os.environ, "LSKY_TOKEN": TOKEN, "CI": "true"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    slow_env = {**env, "LSKY_BASE_URL": slow_url}
    try:
        root = folder / "tree"
        build_tree(root, args.files, args.images, args.seed)
        size_mb = sum(p.stat().st_size for p in root.rglob("*.md")) / 2**20
        print(f"tree: {args.files} Markdown files ({size_mb:.1f} MB), {args.images} images")

        walk = [sys.executable, "-c", WALK_AND_STAT, str(root)]
        floor = median_of(args.runs, lambda: timed(walk, root, env))
        sequential = args.images * statistics.mean(LATENCY)

        # The first sync is long and this machine's speed wanders: its median over fresh
        # copies of the tree (each with no cache and no stamps) is the figure.
        firsts, peaks = [], []
        for n in range(args.first_runs):
            copy = folder / f"first-{n}"
            shutil.copytree(root, copy)
            peak, took, status = peak_memory([IMGSYNC, "sync", *jobs, "."], copy, slow_env)
            if status != 0:
                sys.exit(f"the first sync exited {status}")
            firsts.append(took)
            peaks.append(peak)
            if n < args.first_runs - 1:
                shutil.rmtree(copy)
        root = copy
        first, first_peak = statistics.median(firsts), max(peaks)
        spread = f"{min(firsts):.2f}-{max(firsts):.2f}s over {len(firsts)} runs"
        rows = [Row("first sync", first, sequential, "images x mean latency", 0.25)]
        # Stamps of files changed in the last RACY_SECONDS are checked by reading the file
        # (git's "racily clean" rule); the runs below measure the steady state after that.
        racy = timed([IMGSYNC, "sync", "."], root, slow_env)
        time.sleep(RACY_SECONDS)

        nothing = median_of(args.runs, lambda: timed([IMGSYNC, "sync", "."], root, slow_env))
        rows.append(Row("second sync, nothing to do", nothing, floor, "walk and stat", 3))

        edits = []
        for n in range(args.runs):
            page = root / "docs" / "section-00" / f"page-{n * 2 + 1:04}.md"
            write_image(root / "img" / f"new-{n}.png", 20 * 1024)
            with page.open("a") as out:
                out.write(f"\n![A new figure](../../img/new-{n}.png)\n")
            edits.append(timed([IMGSYNC, "sync", "."], root, slow_env))
        rows.append(
            Row(
                "one file edited, one new image",
                statistics.median(edits),
                floor,
                "walk and stat",
                10,
            )
        )

        check = median_of(args.runs, lambda: timed([IMGSYNC, "check", "."], root, slow_env))
        rows.append(Row("imgsync check, synced tree", check, floor, "walk and stat", 3))

        big = folder / "big"
        big.mkdir()
        write_image(big / "big.png", args.big_mb * 2**20)
        (big / "imgsync.toml").write_text(
            '[hosts.bench]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
        )
        big_peak, big_time, status = peak_memory(
            [IMGSYNC, "upload", "big.png"], big, {**env, "LSKY_BASE_URL": url}
        )
        if status != 0:
            sys.exit(f"the {args.big_mb} MB upload exited {status}")
    finally:
        for server in (fake, slow_fake):
            server.terminate()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)

    print(f"floors: walk and stat {floor * 1000:.0f} ms; sequential uploads {sequential:.1f} s")
    print(f"{'measurement':<34} {'time':>9} {'ratio':>7} {'target':>7}  floor")
    for row in rows:
        mark = "ok" if row.ratio <= row.target else "OVER"
        print(
            f"{row.name:<34} {row.seconds:>8.3f}s {row.ratio:>7.2f} {row.target:>7.2f}  "
            f"{row.floor_name} {mark}"
        )
    print(f"(first sync: {spread}; a sync right after it, while its stamps are racy: {racy:.3f}s)")
    print(f"{'peak memory, first sync':<34} {first_peak:>7.1f} MB")
    print(
        f"{f'peak memory, {args.big_mb} MB upload':<34} {big_peak:>7.1f} MB "
        f"({big_time:.1f}s; target under 100 MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
