"""Print the scanner's throughput (MB/s a core) on generated Markdown rich in inline syntax.

    python benchmarks/scan_speed.py [--mb 8] [--runs 3] [--seed 2026]

Three corpora of ~4 KB files, each run the same way: "plain prose" (the benchmark tree's
parse-heavy case: prose, a fenced block quoting image syntax in every file), "docs" (prose
dense with emphasis, code spans, entities; a link, an autolink or inline HTML in about one
paragraph in three; lists, quotes, tables, headings, reference links) and "links everywhere"
(every paragraph holds links and inline HTML, the worst case for the inline gate). Each is
scanned with the inline gate (the product), and with `every_block=True` (markdown-it's
inline stage on every block: the scan before the gate), and parsed by markdown-it's own
`MarkdownIt("commonmark").parse` as the floor: CPU time (`time.process_time`), best of
`--runs`, so that other processes on the machine move the figures little. Both scans are
also checked to give the same results.
"""

from __future__ import annotations

import argparse
import random
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=8.0, help="MB of Markdown per corpus")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    plain = MarkdownIt("commonmark").enable("table")
    scan_markdown("![warm](up.png)")  # builds the parser once
    print(f"{'corpus':<18}{'MB':>6}{'before':>9}{'after':>9}{'markdown-it':>13}   MB/s a core")
    failed = False
    for name, linked in CORPORA.items():
        chance = random.Random(args.seed)
        files: list[str] = []
        while sum(map(len, files)) < args.mb * 1_000_000:
            files.append(_file(chance, linked))
        size = sum(len(text.encode()) for text in files) / 1e6
        after = _best(args.runs, scan_markdown, files)
        before = _best(args.runs, _full_scan, files)
        floor = _best(args.runs, plain.parse, files)
        print(
            f"{name:<18}{size:>6.1f}{size / before:>9.2f}{size / after:>9.2f}"
            f"{size / floor:>13.2f}   after: {floor / after:.2f}x markdown-it's parse"
        )
        same = all(scan_markdown(text) == scan_markdown(text, every_block=True) for text in files)
        if not same:
            print(f"FAILED: {name}: the gated scan differs from the full one")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
