"""End to end: an Obsidian vault synced by the real console script against the fake Lsky; each
embed hosted and rewritten, the shared name resolved as Obsidian does; then nothing left to do."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes
from tests.test_sync_e2e import TOKEN, run

NOTE = """\
# Today

![[Pasted image 20261201.png]]

- a width: ![[shot.png|300]]
  > a size: ![[attachments/diagram.png|300x200]]

| what | embed |
|------|-------|
| from the note's folder | ![[sub/beside.png\\|120]] |

Left alone: ![[Another note]], ![[paper.pdf]], ![[Another note#Heading]], [[shot.png]],
`![[shot.png]]`.
"""

OTHER = "Elsewhere: ![[shot.png]]\n"

IMAGES = {
    "attachments/Pasted image 20261201.png": (10, 0, 0),
    "attachments/shot.png": (20, 0, 0),  # the shortest path: for a note in no folder with one
    "journal/2026/shot.png": (30, 0, 0),  # beside the note: its own
    "attachments/diagram.png": (40, 0, 0),
    "journal/2026/sub/beside.png": (50, 0, 0),
    ".obsidian/Pasted image 20261201.png": (60, 0, 0),  # Obsidian's own folder: never looked in
}


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


def _vault(root: Path) -> Path:
    for name, rgb in IMAGES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(png_bytes(rgb=rgb))
    (root / "imgsync.toml").write_text(
        '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )
    (root / "journal/2026/today.md").write_text(NOTE)
    (root / "projects").mkdir()
    (root / "projects/other.md").write_text(OTHER)
    (root / "paper.pdf").write_bytes(b"%PDF-1.4\n")
    return root


def _hosted(name: str) -> str:
    """What identifies the hosted copy of IMAGES[name] in its URL (the fake names it by MD5)."""
    return hashlib.md5(png_bytes(rgb=IMAGES[name])).hexdigest()[:12]


def test_a_vault_is_hosted_once_as_obsidian_resolves_it(tmp_path: Path, host: FakeLsky) -> None:
    vault = _vault(tmp_path / "vault")
    before = run(vault, host, "check", ".")
    assert before.returncode == 1
    assert "today.md:3:" in before.stdout + before.stderr  # the embed is listed

    first = run(vault, host, "--json", ".")

    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["failures"] == []
    assert len(host.uploads) == len(IMAGES) - 1  # each but the one in .obsidian/, once
    note = (vault / "journal/2026/today.md").read_text()
    site = f"{host.site}/i/"
    expected = NOTE
    for embed, image, name in [
        ("![[Pasted image 20261201.png]]", "![]", "attachments/Pasted image 20261201.png"),
        ("![[shot.png|300]]", "![|300]", "journal/2026/shot.png"),
        ("![[attachments/diagram.png|300x200]]", "![|300x200]", "attachments/diagram.png"),
        ("![[sub/beside.png\\|120]]", "![\\|120]", "journal/2026/sub/beside.png"),
    ]:
        start = note.index(image + "(" + site)
        url = note[start + len(image) + 1 : note.index(")", start)]
        assert _hosted(name) in url, name
        expected = expected.replace(embed, f"{image}({url})", 1)
    assert note == expected  # every other byte as it was: the non-image embeds, the code span
    other = (vault / "projects/other.md").read_text()
    assert other.startswith(f"Elsewhere: ![]({site}") and _hosted("attachments/shot.png") in other
    requests = host.requests

    again = run(vault, host, ".")

    assert again.returncode == 0, again.stderr
    assert host.requests == requests
    assert run(vault, host, "check", ".").returncode == 0


def test_an_embed_no_file_has_is_listed_with_the_reason(tmp_path: Path, host: FakeLsky) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "imgsync.toml").write_text(
        '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )
    (vault / "note.md").write_text("Text.\n\n![[Pasted image 20261201.png]]\n![[gone/x.png]]\n")

    check = run(vault, host, "check", ".")

    said = check.stdout + check.stderr
    assert check.returncode == 1
    assert "note.md:3:" in said and "no file named 'Pasted image 20261201.png' anywhere" in said
    assert "note.md:4:" in said and "gone/x.png" in said
    assert host.uploads == []


@pytest.mark.parametrize("vault_by", ["dialect", ".obsidian folder", "neither"])
def test_a_markdown_image_by_bare_name_is_found_as_obsidian_finds_it(
    tmp_path: Path, host: FakeLsky, vault_by: str
) -> None:
    # Obsidian resolves a Markdown link's path like an embed's: a bare name anywhere in the
    # vault, when it names no file beside the note.
    (tmp_path / "Attachments").mkdir()
    (tmp_path / "Attachments/bases.png").write_bytes(png_bytes(rgb=(1, 2, 3)))
    (tmp_path / "Bases").mkdir()
    note = tmp_path / "Bases/Intro.md"
    note.write_text("# Bases\n\n![A table view](bases.png#interface)\n\n![Gone](nowhere.png)\n")
    config = '[hosts.main]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    if vault_by == "dialect":
        config = 'dialect = "obsidian"\n' + config
    if vault_by == ".obsidian folder":
        (tmp_path / ".obsidian").mkdir()
    (tmp_path / "imgsync.toml").write_text(config)

    synced = run(tmp_path, host)

    assert synced.returncode == 3  # nowhere.png is nowhere in the vault either
    assert "Bases/Intro.md:5: nowhere.png: not found" in synced.stderr
    text = note.read_text()
    if vault_by == "neither":
        assert "Bases/Intro.md:3: bases.png#interface: not found" in synced.stderr
        assert "did you mean Attachments/bases.png" in synced.stderr
        assert host.uploads == [] and "](bases.png#interface)" in text
        return
    (upload,) = host.uploads
    assert upload.filename == "bases.png"
    assert text.startswith(f"# Bases\n\n![A table view]({host.site}")
    assert text.endswith(".png#interface)\n\n![Gone](nowhere.png)\n")
