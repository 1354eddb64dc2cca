"""The synthetic docs trees of bench.py: the easy one, the parse-heavy one, the same for a seed.

Both have the same shape: Markdown files of about 4 KB in folders of 100, distinct 20 KB
images, one file in four referencing one or two of them. They differ in what the other
bytes hold:

- "easy": plain prose; one file in three quotes image syntax in code. Two files in three
  hold no image syntax at all, so the scanner's substring test spares their parsing.
- "heavy": every file quotes image syntax (a fenced block showing `![x](y.png)`, as docs
  about Markdown do), and its prose is rich in inline syntax: links to web pages, emphasis,
  code spans, autolinks, inline HTML (<kbd>), reference links and their definitions. Every
  file must be parsed, block and inline, and none of that syntax is a local image.
"""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from big_upload import write_image

SHAPES = ("easy", "heavy")
VOCABULARY = """image host markdown upload render static site page section figure caption
link table list quote code block inline build deploy draft review publish archive theme
layout asset folder cache token config path width height format scale crop thumbnail"""
WORDS = VOCABULARY.split()
CONFIG = '[hosts.bench]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
SIZE = 4000  # characters of prose a file, about
HEAVY_SIZE = 3300  # the same, for about the same bytes a file with the reference definitions
DRESSED = 0.25  # the share of the heavy tree's words in inline syntax


def build_tree_apart(root: Path, files: int, images: int, seed: int, shape: str) -> float:
    """build_tree in a process of its own (the caller's peak memory stays low: see
    measure.run); the MB of Markdown written."""
    args = [str(root), str(files), str(images), str(seed), shape]
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, check=True)
    return float(done.stdout)


def write_image_apart(path: Path, size: int) -> None:
    """big_upload.write_image in a process of its own (its 4 MB blocks would raise the
    caller's peak memory, and with it every child's: see measure.run)."""
    here = str(Path(__file__).parent)
    code = "import sys; sys.path.insert(0, sys.argv[1]); from big_upload import write_image; "
    code += "write_image(__import__('pathlib').Path(sys.argv[2]), int(sys.argv[3]))"
    subprocess.run([sys.executable, "-c", code, here, str(path), str(size)], check=True)


def build_tree(root: Path, files: int, images: int, seed: int, shape: str = "easy") -> None:
    """The synthetic docs tree under `root`, the same for the same arguments. The easy
    tree is byte for byte the one bench.py built before the heavy one was added."""
    if shape not in SHAPES:
        raise ValueError(f"unknown tree shape {shape!r}: one of {', '.join(SHAPES)}")
    chance = random.Random(seed)
    (root / "img").mkdir(parents=True)
    for number in range(images):
        write_image(root / "img" / f"figure-{number:04}.png", 20 * 1024)
    order = list(range(images))
    chance.shuffle(order)
    next_image = itertools.cycle(order)
    page = _easy_page if shape == "easy" else _heavy_page
    for index in range(files):
        section = root / "docs" / f"section-{index // 100:02}"
        section.mkdir(parents=True, exist_ok=True)
        references = []
        if index % 4 == 0:  # one file in four references one or two images
            references = [next(next_image) for _ in range(1 + (index % 8 == 0))]
        text = page(index, references, chance)
        (section / f"page-{index:04}.md").write_text(text)
    (root / "imgsync.toml").write_text(CONFIG)


def _image(number: int) -> str:
    return f"![Figure {number}](../../img/figure-{number:04}.png)\n\n"


def _easy_page(index: int, references: list[int], chance: random.Random) -> str:
    parts = [f"# Page {index}\n\n"]
    while sum(map(len, parts)) < SIZE:
        words = " ".join(chance.choice(WORDS) for _ in range(chance.randint(40, 90)))
        parts.append(words.capitalize() + ".\n\n")
        if references and len(parts) in (3, 6):
            parts.append(_image(references.pop()))
        if index % 3 == 0 and len(parts) == 4:  # quoted syntax, never a reference
            parts.append("```markdown\n![a quoted image](img/not-real.png)\n```\n\n")
            parts.append("Write `![alt](path.png)` to show an image.\n\n")
    parts += [_image(number) for number in references]
    return "".join(parts)


def _heavy_page(index: int, references: list[int], chance: random.Random) -> str:
    parts = [f"# Page {index}\n\n"]
    labels: list[str] = []
    word = _inline_words(index, chance, labels)
    quote_after = chance.randint(1, 4)  # paragraphs before the fenced block
    paragraphs = 0
    while sum(map(len, parts)) < HEAVY_SIZE:
        words = " ".join(next(word) for _ in range(chance.randint(40, 90)))
        parts.append(words[0].upper() + words[1:] + ".\n\n")
        paragraphs += 1
        if references and len(parts) in (3, 6):
            parts.append(_image(references.pop()))
        if paragraphs == quote_after:
            parts.append(_QUOTED)
    if paragraphs < quote_after:
        parts.append(_QUOTED)
    parts += [_image(number) for number in references]
    parts += [f"[{label}]: https://docs.example.com/{label}.html\n" for label in labels]
    return "".join(parts)


# Quoted syntax, never a reference: every heavy file holds it, so none is spared parsing.
_QUOTED = (
    "To show an image, write:\n\n```markdown\n![x](y.png)\n"
    '![a figure](img/not-real.png "A title")\n```\n\n'
)


def _inline_words(index: int, chance: random.Random, labels: list[str]) -> Iterator[str]:
    """Words of prose, one in four dressed in inline syntax (DRESSED); the labels of the
    reference links used are appended to `labels`, for their definitions."""
    previous = f"../section-{max(0, index - 100) // 100:02}/page-{max(0, index - 100):04}.md"
    forms: list[Callable[[str], str]] = [
        lambda w: f"*{w}*",
        lambda w: f"**{w}**",
        lambda w: f"_{w}_",
        lambda w: f"`{w}`",
        lambda w: f"`{w}.{chance.choice(('png', 'yaml', 'toml'))}`",
        lambda w: f"[{w} {chance.choice(WORDS)}](https://www.example.org/{w}/)",
        lambda w: f'[{w}](https://example.net/docs/{w}?page={index} "{w.title()}")',
        lambda w: f"<https://{w}.example.com/>",
        lambda w: f"<kbd>Ctrl</kbd>+<kbd>{w[0].upper()}</kbd>",
        lambda w: f'<span class="{w}">{w}</span>',
        lambda w: f"[{w}][{_label(w, labels)}]",
        lambda w: f"[{w}]({previous})",
    ]
    while True:
        w = chance.choice(WORDS)
        yield chance.choice(forms)(w) if chance.random() < DRESSED else w


def _label(word: str, labels: list[str]) -> str:
    label = f"ref-{word}"
    if label not in labels:
        labels.append(label)
    return label


if __name__ == "__main__":
    root = Path(sys.argv[1])
    files, images, seed = map(int, sys.argv[2:5])
    build_tree(root, files, images, seed, sys.argv[5])
    print(sum(path.stat().st_size for path in root.rglob("*.md")) / 2**20)
