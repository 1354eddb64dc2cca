"""Print the scanner's throughput (MB/s a core) on generated Markdown rich in inline syntax.

    python benchmarks/scan_speed.py [--mb 8] [--runs 3] [--seed 2026] [--baseline DIR]

Three corpora of ~4 KB files: "plain prose" (the benchmark tree's parse-heavy case: prose
with emphasis, code spans, entities, a fenced block quoting image syntax in every file),
"docs" (the same, with links, autolinks or inline HTML in about one paragraph in three,
reference links; lists, quotes, tables, headings) and "links everywhere" (every paragraph
holds them: the worst case for the inline gate). Columns, in MB/s a core:

- "baseline": `scan_markdown` of the imgsync in DIR (`git archive COMMIT imgsync | tar -x
  -C DIR`), in a child process: the scan before this change, with `--baseline` only;
- "every block": `scan_markdown(every_block=True)`, markdown-it's inline stage on every
  block (with this parser's rule lookup by character, dispatch.py);
- "scan": `scan_markdown`, every link read (what `list`, `prune`, `migrate` need);
- "sync": `scan_markdown(every_link=False)`, as sync and check scan: the links that can't
  name a local image file (to web pages, to other pages) are not looked for;
- "markdown-it": `MarkdownIt("commonmark").parse`, the floor the scan is a ratio to.

CPU time (`time.process_time`), best of `--runs`, so that other processes on the machine
move the figures little. The scans are also checked to give the same results (the sync's:
the same local references).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable

from markdown_it import MarkdownIt

from imgsync.scan import scan_markdown

VOCABULARY = """image host markdown upload render static site page section figure caption
link table list quote code block inline build deploy draft review publish archive theme
layout asset folder cache token config path width height format scale crop thumbnail the of
and to a in is it for with as on that by this be are from or"""
WORDS = VOCABULARY.split()


def _word(chance: random.Random, links: float) -> str:
    word = chance.choice(WORDS)
    roll = chance.random()
    if roll < 0.05:
        return f"*{word}*"
    if roll < 0.08:
        return f"**{word}**"
    if roll < 0.13:
        return f"`{word}()`"
    if roll < 0.14:
        return f"{word}_{word}"
    if roll < 0.15:
        return f"{word}&nbsp;{word}"
    if roll < 0.16:
        return f"{word}\\*"
    if roll < 0.17:
        return f"{word}: {word} - {word}"
    roll = chance.random()
    if roll < links * 0.5:
        return f"[{word}](https://example.com/{word}/page.html)"
    if roll < links * 0.7:
        return f"[{word}](../guide/{word}.md#{word})"
    if roll < links * 0.8:
        return f"<https://example.org/{word}>"
    if roll < links * 0.9:
        return f"<kbd>{word}</kbd>"
    if roll < links:
        return f"[{word}][ref-{chance.randint(0, 3)}]"
    return word


def _sentence(chance: random.Random, links: float) -> str:
    words = [_word(chance, links) for _ in range(chance.randint(8, 20))]
    return " ".join(words).capitalize() + "."


def _paragraph(chance: random.Random, linked: float) -> str:
    # A paragraph holds links (at a rate making about one each line) or none at all.
    links = 0.06 if chance.random() < linked else 0.0
    lines = [" ".join(_sentence(chance, links) for _ in range(2)) for _ in range(3)]
    return "\n".join(lines[: chance.randint(1, 3)])


def _file(chance: random.Random, linked: float, size: int = 4000) -> str:
    parts = [f"# {_sentence(chance, 0.0)}"]
    parts.append('```markdown\n![a quoted image](img/not-real.png)\n<img src="x.png" alt="">\n```')
    if linked and chance.random() < 0.5:
        parts.append("\n".join(f"[ref-{n}]: https://example.com/ref/{n}" for n in range(4)))
    while sum(map(len, parts)) < size:
        roll = chance.random()
        if roll < 0.08:
            parts.append("## " + _sentence(chance, 0.0))
        elif roll < 0.2:
            items = [_sentence(chance, 0.06 if chance.random() < linked else 0.0)]
            items += [_sentence(chance, 0.0) for _ in range(chance.randint(1, 4))]
            parts.append("\n".join("- " + item for item in items))
        elif roll < 0.25:
            parts.append("> " + _paragraph(chance, linked).replace("\n", "\n> "))
        elif roll < 0.28:
            rows = [" | ".join(chance.choice(WORDS) for _ in range(3)) for _ in range(4)]
            parts.append("\n".join([rows[0], "--- | --- | ---", *rows[1:]]))
        elif roll < 0.3:
            parts.append(f"![Figure {chance.randint(0, 99)}](../img/figure.png)")
        else:
            parts.append(_paragraph(chance, linked))
    return "\n\n".join(parts) + "\n"


CORPORA = {"plain prose": 0.0, "docs": 0.33, "links everywhere": 1.0}


def _best(runs: int, work: Callable[[str], object], files: list[str]) -> float:
    """The least CPU time of `runs` runs of `work` on every file."""
    times = []
    for _ in range(runs):
        started = time.process_time()
        for text in files:
            work(text)
        times.append(time.process_time() - started)
    return min(times)


def _full_scan(text: str) -> object:
    return scan_markdown(text, every_block=True)


def _sync_scan(text: str) -> object:
    return scan_markdown(text, every_link=False)


def _corpus(linked: float, mb: float, seed: int) -> list[str]:
    chance = random.Random(seed)
    files: list[str] = []
    while sum(map(len, files)) < mb * 1_000_000:
        files.append(_file(chance, linked))
    return files


def _baseline(folder: str, args: argparse.Namespace) -> dict[str, float]:
    """MB/s of the imgsync in `folder` on each corpus (a child process imports it)."""
    command = [sys.executable, __file__, "--scan-only", "--mb", str(args.mb)]
    command += ["--runs", str(args.runs), "--seed", str(args.seed)]
    env = {**os.environ, "PYTHONPATH": folder}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return {name: float(speed) for name, speed in json.loads(done.stdout).items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=8.0, help="MB of Markdown per corpus")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--baseline", metavar="DIR", help="a folder holding an older imgsync/")
    parser.add_argument("--scan-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    scan_markdown("![warm](up.png)")  # builds the parser once
    if args.scan_only:  # the child of --baseline: this imgsync's scan_markdown only
        speeds = {}
        for name, linked in CORPORA.items():
            files = _corpus(linked, args.mb, args.seed)
            size = sum(len(text.encode()) for text in files) / 1e6
            speeds[name] = size / _best(args.runs, scan_markdown, files)
        print(json.dumps(speeds))
        return 0
    baseline = _baseline(args.baseline, args) if args.baseline else {}
    plain = MarkdownIt("commonmark").enable("table")
    print(
        f"{'corpus':<18}{'MB':>5}{'baseline':>10}{'every block':>13}{'scan':>7}{'sync':>7}"
        f"{'markdown-it':>13}   MB/s a core (CPU time)"
    )
    failed = False
    for name, linked in CORPORA.items():
        files = _corpus(linked, args.mb, args.seed)
        size = sum(len(text.encode()) for text in files) / 1e6
        after = _best(args.runs, scan_markdown, files)
        sync = _best(args.runs, _sync_scan, files)
        every = _best(args.runs, _full_scan, files)
        floor = _best(args.runs, plain.parse, files)
        before = f"{baseline[name]:.2f}" if name in baseline else "-"
        print(
            f"{name:<18}{size:>5.1f}{before:>10}{size / every:>13.2f}{size / after:>7.2f}"
            f"{size / sync:>7.2f}{size / floor:>13.2f}   sync: {floor / sync:.2f}x markdown-it"
        )
        same = all(
            (full := scan_markdown(text, every_block=True)) == scan_markdown(text)
            and full.local_refs == scan_markdown(text, every_link=False).local_refs
            for text in files
        )
        if not same:
            print(f"FAILED: {name}: the gated scan differs from the full one")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
