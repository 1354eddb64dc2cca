"""The least a one-edit sync can take, whatever imgsync does: a bound for bench.py's "one file
edited" ratio.

    .venv/bin/python benchmarks/edit_bound.py [--runs 15] [--files 3000]

A sync of one edited file with one new image must at least start Python, walk and stat
the tree (the floor itself), import its HTTP client and its CommonMark parser (httpx and
markdown-it-py, which the design requires), and wait for the host's reply. This builds
bench.py's easy tree and measures, alternately, `--runs` times each:

- the floor (a Python process that walks the tree and stats every file);
- a Python process that imports httpx, httpcore, h11 and markdown-it and makes a
  MarkdownIt parser, then walks and stats the tree;

and adds the mean reply time of bench.py's fake host. Their ratio to the floor is the
least a one-edit ratio can be; what bench.py's target leaves for imgsync's own work is
the target minus that. A third process imports, besides, the imgsync modules a one-edit
sync to Lsky loads: what imgsync's own imports add to the bound.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import EDIT_TARGET, LATENCY
from measure import IMGSYNC_MODULES, LIBRARIES, WALK_AND_STAT, run
from trees import build_tree_apart


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="imgsync-bound-"))
    try:
        root = folder / "easy"
        build_tree_apart(root, args.files, args.images, args.seed, "easy")
        floor = [sys.executable, "-c", WALK_AND_STAT, str(root)]
        least = [sys.executable, "-c", LIBRARIES + WALK_AND_STAT, str(root)]
        own = [sys.executable, "-c", LIBRARIES + IMGSYNC_MODULES + WALK_AND_STAT, str(root)]
        walks, imports, owns = [], [], []
        for _ in range(args.runs):
            walks.append(run(floor, root, dict(os.environ)).seconds)
            imports.append(run(least, root, dict(os.environ)).seconds)
            owns.append(run(own, root, dict(os.environ)).seconds)
    finally:
        shutil.rmtree(folder)
    walk, both = statistics.median(walks), statistics.median(imports)
    with_own = statistics.median(owns)
    reply = sum(LATENCY) / 2
    bound = both + reply
    print(f"walk and stat (the floor), median of {args.runs}: {walk * 1000:.1f} ms")
    print(f"Python, httpx and markdown-it imported, then the walk: {both * 1000:.1f} ms")
    print(f"the fake host's mean reply: {reply * 1000:.1f} ms")
    print(
        f"least a one-edit sync can take: {bound * 1000:.1f} ms = {bound / walk:.2f} of the"
        f" floor; the target {EDIT_TARGET:g} leaves {(EDIT_TARGET * walk - bound) * 1000:.1f} ms"
        " for all of imgsync's own imports and work"
    )
    print(
        f"imgsync's own modules, imported besides: {(with_own - both) * 1000:.1f} ms more"
        f" ({(with_own + reply) / walk:.2f} of the floor before imgsync does any work)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
