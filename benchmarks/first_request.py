"""How soon a first sync sends its first upload, and how long it takes in all.

    .venv/bin/python benchmarks/first_request.py [--files 3000] [--runs 3] [--against DIR]

Builds bench.py's tree (Markdown files of about 4 KB, one in four naming one or two of
the images), starts the fake Lsky in this process answering in 20-60 ms, and runs
`python -m imgsync sync .` on a fresh copy of the tree each time. The fake notes the
wall time its first upload arrived: the time to the first request is that minus the
moment the command was started. The whole sync is shown as bench.py shows it, as a ratio
to the sequential floor (images x mean latency). With `--against DIR` (a folder holding
another checkout's `imgsync` package, e.g. `git archive main imgsync | tar -x -C DIR`),
each run of this checkout is paired with one of that code, interleaved, for an A/B on a
machine whose speed wanders.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import LATENCY, TOKEN
from trees import build_tree

from imgsync.testing.fake_lsky import FakeLsky

HERE = Path(__file__).resolve().parents[1]


def one_sync(tree: Path, fake: FakeLsky, source: Path) -> tuple[float, float]:
    """(seconds to the first upload request, seconds in all) of one first sync of `tree`."""
    fake.first_post_at = None
    env = {**os.environ, "LSKY_TOKEN": TOKEN, "LSKY_BASE_URL": fake.url, "CI": "true"}
    env["PYTHONPATH"] = str(source)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "imgsync", "sync", "."],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    took = time.time() - started
    if done.returncode != 0:
        sys.exit(f"the sync exited {done.returncode}:\n{done.stderr}")
    if fake.first_post_at is None:
        sys.exit("the sync uploaded nothing")
    return fake.first_post_at - started, took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--against", type=Path, help="another checkout's package folder")
    args = parser.parse_args()

    sources = {"this checkout": HERE}
    if args.against is not None:
        sources = {f"{args.against}": args.against.resolve(), **sources}
    folder = Path(tempfile.mkdtemp(prefix="imgsync-first-request-"))
    fake = FakeLsky(token=TOKEN, rate_limit=None, latency=LATENCY[0], latency_max=LATENCY[1])
    fake.max_size_kb = 1024
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in sources}
    try:
        root = folder / "tree"
        build_tree(root, args.files, args.images, args.seed)
        size_mb = sum(p.stat().st_size for p in root.rglob("*.md")) / 2**20
        print(f"tree: {args.files} Markdown files ({size_mb:.1f} MB), {args.images} images")
        with fake:
            for n in range(args.runs):
                for name, source in sources.items():
                    copy = folder / f"run-{n}"
                    shutil.copytree(root, copy)
                    results[name].append(one_sync(copy, fake, source))
                    shutil.rmtree(copy)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    sequential = args.images * statistics.mean(LATENCY)
    print(f"floor: sequential uploads {sequential:.1f} s (images x mean latency)")
    print(f"{'code':<40} {'first request':>14} {'first sync':>11} {'ratio':>6}  (each run)")
    for name, runs in results.items():
        first = statistics.median(r[0] for r in runs)
        total = statistics.median(r[1] for r in runs)
        each = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in runs)
        print(f"{name:<40} {first:>13.3f}s {total:>10.2f}s {total / sequential:>6.2f}  ({each})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
