"""Obsidian's image embeds: found in every container but code, comments and HTML, rewritten to
the Markdown image Obsidian shows at the same size (the rest of the file byte-identical), and
resolved in the vault (the project) as Obsidian resolves them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgsync.errors import RewriteRefused
from imgsync.rewrite import Replacement, rewrite_markdown
from imgsync.scan import scan_markdown
from imgsync.vault import Vault
from tests.test_properties import MD, SETTINGS, documents

HOSTED = "https://img.example/i/1.png"

# Each form, with {p} where its `|` stands (`\|` in a table cell, as Obsidian writes it there):
# (embed, the path it names, the Markdown image it becomes).
FORMS = {
    "bare name": ("![[a.png]]", "a.png", f"![]({HOSTED})"),
    "width": ("![[a.png{p}300]]", "a.png", f"![{{p}}300]({HOSTED})"),
    "width x height": ("![[a.png{p}300x200]]", "a.png", f"![{{p}}300x200]({HOSTED})"),
    "path from the vault": ("![[sub/name.png]]", "sub/name.png", f"![]({HOSTED})"),
    "the issue's, verbatim": (
        "![[Pasted image 20261201.png]]",
        "Pasted image 20261201.png",
        f"![]({HOSTED})",
    ),
    "path and width": ("![[sub/name.png{p}300]]", "sub/name.png", f"![{{p}}300]({HOSTED})"),
    "caption": ("![[a.png{p}a *caption*]]", "a.png", f"![a \\*caption\\*]({HOSTED})"),
}

# Each container, with {x} where the embed stands: (text, whether a `|` there is written `\|`).
CONTAINERS = {
    "paragraph": ("Before.\n\n{x}\n\nAfter.\n", False),
    "inline in text": ("Some text {x} and more *text*.\n", False),
    "list": ("1. one\n2. {x}\n   - nested {x}\n", False),
    "block quote": ("> quoted\n> {x}\n>\n> - {x}\n", False),
    "table": ("| a | b |\n|---|:-:|\n| {x} | z |\n| `code` | {x} |\n", True),
    "heading": ("# A title {x}\n\nText.\n", False),
}


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("form", FORMS)
def test_each_embed_in_each_container_becomes_a_markdown_image(form: str, container: str) -> None:
    embed, path, image = FORMS[form]
    layout, in_table = CONTAINERS[container]
    pipe = "\\|" if in_table else "|"
    text = layout.format(x=embed.format(p=pipe))

    scanned = scan_markdown(text)

    refs = scanned.local_refs
    assert scanned.problems == []
    assert [ref.kind for ref in refs] == ["embed"] * layout.count("{x}")
    assert {ref.url for ref in refs} == {path}
    assert {ref.raw for ref in refs} == {embed.format(p=pipe)}
    new = rewrite_markdown(text, [Replacement(ref, HOSTED) for ref in refs], scanned)
    assert new == layout.format(x=image.format(p=pipe))  # and not a byte more changed
    (again,) = {(ref.kind, ref.url) for ref in scan_markdown(new).refs}
    assert again == ("image", HOSTED)


def test_only_some_embeds_rewritten_leave_the_others_as_written() -> None:
    text = "![[a.png|300]] and ![[b.png]] and [x](c.png)\n"
    scanned = scan_markdown(text)
    first, second, third = scanned.refs

    new = rewrite_markdown(text, [Replacement(second, HOSTED), Replacement(third, HOSTED)])

    assert (first.kind, second.kind, third.kind) == ("embed", "embed", "link")
    assert new == f"![[a.png|300]] and ![]({HOSTED}) and [x]({HOSTED})\n"


LEFT_ALONE = {
    "a note": "![[Note]]\n",
    "a PDF": "![[doc.pdf]]\n",
    "a heading of a note": "![[Note#Heading]]\n",
    "a block of a note": "![[Note#^block|300]]\n",
    "a wikilink to an image, not an embed": "See [[a.png]] and [[a.png|the picture]].\n",
    "a code span": "Write `![[a.png]]` to embed.\n",
    "a fence": "```markdown\n![[a.png]]\n```\n",
    "an indented code block": "Text.\n\n    ![[a.png]]\n",
    "an HTML comment": "<!-- ![[a.png]] -->\n",
    "an inline HTML comment": "Text <!-- ![[a.png|300]] --> more.\n",
    "an HTML block": '<div class="x">\n![[a.png]]\n</div>\n',
    "an escaped bang": "\\![[a.png]]\n",
    "math": "$![[a.png]]$ and more.\n",
    "code inside the brackets": "![[a`b`.png]]\n",
    "a remote URL": "![[https://example.com/a.png]]\n",
    "a line break inside": "![[a\n.png]]\n",
    "a link's title": '[x](a.md "![[a.png]]")\n',
    "a link's title over lines": '[](\n a.md\n " ![[a.png]] multi line")\n',
    "a link's destination": "[x](<![[a.png]]>)\n",
}


@pytest.mark.parametrize("name", LEFT_ALONE)
def test_what_is_no_image_embed_is_left_alone(name: str) -> None:
    scanned = scan_markdown(LEFT_ALONE[name])

    assert scanned.local_refs == []
    assert scanned.problems == []


def _vault(root: Path, files: list[str]) -> Path:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    return root


SHARED = ["attachments/shot.png", "notes/deeper/shot.png"]


@pytest.mark.parametrize("order", [SHARED, SHARED[::-1]], ids=["listed first", "listed last"])
def test_a_shared_name_resolves_to_the_notes_folder_else_the_shortest_path(
    tmp_path: Path, order: list[str]
) -> None:
    root = _vault(tmp_path / "vault", order)
    vault = Vault(root)

    beside = vault.locate("shot.png", root / "notes/deeper/today.md")
    elsewhere = vault.locate("shot.png", root / "other/today.md")
    at_root = vault.locate("SHOT.PNG", root / "today.md")  # Obsidian ignores the case

    assert beside == vault.root / "notes/deeper/shot.png"
    assert elsewhere == at_root == vault.root / "attachments/shot.png"
    assert vault.walks == 1


def test_the_shortest_path_counts_characters_not_folders(tmp_path: Path) -> None:
    # Obsidian 1.13.7: `a/b/Note.md` over `zzzz/Note.md`; equal lengths: alphabetical.
    root = _vault(tmp_path / "v", ["a/b/x.png", "long-folder-name/x.png", "zzzz/x.png", "yy/x.png"])

    found = Vault(root).locate("x.png", root / "n.md")
    three = Vault(_vault(tmp_path / "w", ["a/b/x.png", "zzzz/x.png"])).locate(
        "x.png", root / "n.md"
    )

    assert found == Path(os.path.realpath(root)) / "yy/x.png"
    assert three == Path(os.path.realpath(tmp_path / "w")) / "a/b/x.png"


def test_a_file_at_the_vault_root_wins_even_over_one_beside_the_note(tmp_path: Path) -> None:
    # The exact vault path first; then the note's own folder, where an ancestor counts for nothing.
    root = _vault(tmp_path / "v", ["x.png", "notes/x.png", "notes/deep/y.png", "b/y.png"])
    vault = Vault(root)

    assert vault.locate("x.png", root / "notes/today.md") == vault.root / "x.png"
    assert vault.locate("y.png", root / "notes/deep/more/today.md") == vault.root / "b/y.png"


def test_a_path_is_from_the_vault_root_then_from_the_note(tmp_path: Path) -> None:
    root = _vault(tmp_path / "v", ["sub/a.png", "notes/sub/a.png", "notes/sub/b.png"])
    vault = Vault(root)
    note = root / "notes/today.md"

    assert vault.locate("sub/a.png", note) == vault.root / "sub/a.png"
    assert vault.locate("sub/b.png", note) == vault.root / "notes/sub/b.png"
    assert vault.locate("sub/c.png", note) is None
    assert vault.walks == 0  # no bare name: the vault is never listed


def test_hidden_folders_node_modules_and_linked_folders_are_not_searched(tmp_path: Path) -> None:
    outside = _vault(tmp_path / "outside", ["far.png"])
    root = _vault(
        tmp_path / "v",
        [".obsidian/icon.png", ".git/g.png", ".imgsync/i.png", "node_modules/m.png", "n.md"],
    )
    (root / "linked").symlink_to(outside, target_is_directory=True)
    vault = Vault(root)

    for name in ("icon.png", "g.png", "i.png", "m.png", "far.png"):
        assert vault.locate(name, root / "n.md") is None, name
    assert vault.walks == 1


def test_a_path_out_of_the_vault_is_not_looked_at(tmp_path: Path) -> None:
    _vault(tmp_path, ["outside.png"])
    root = _vault(tmp_path / "v", ["notes/n.md"])

    assert Vault(root).locate("../outside.png", root / "n.md") is None
    assert Vault(root).locate("../../outside.png", root / "notes/n.md") is None


EMBEDS = st.sampled_from(
    ["![[a.png]]", "![[a.png|300]]", "![[sub/b c.png|300x200]]", "![[d.png|x *y*]]", "![[N]]"]
)


@st.composite
def documents_with_embeds(draw: st.DrawFn) -> str:
    """A generated document of every shape (test_properties), embeds put into its lines."""
    lines = draw(documents()).split("\n")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        where = draw(st.sampled_from(["start", "end", "inside"]))
        embed = draw(EMBEDS)
        line = lines[at]
        if line.lstrip().startswith("|") and line.rstrip().endswith("|"):
            embed = embed.replace("|", "\\|")  # in a table row, as Obsidian writes it
        # set apart by spaces, as people write them (glued to the text around, an embed may
        # make a line what it was not: the rewrite's check refuses such a change)
        if where == "start":
            lines[at] = embed + " " + line
        elif where == "end":
            lines[at] = line + " " + embed
        else:
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + " " + embed + " " + line[cut:]
    return "\n".join(lines)


@SETTINGS
@given(documents_with_embeds())
def test_embeds_anywhere_are_rewritten_exactly_or_left(text: str) -> None:
    scanned = scan_markdown(text)
    embeds = [ref for ref in scanned.local_refs if ref.kind == "embed"]
    replacements = [Replacement(ref, f"https://img.test/{i}.png") for i, ref in enumerate(embeds)]

    try:
        new = rewrite_markdown(text, replacements, scanned)
    except RewriteRefused as refused:
        # Only the re-check may refuse, when the new image would change what is around it:
        # `[ref]: ![[a.png]]` is text, `[ref]: ![](url)` a definition; an embed as the value
        # of a tag Markdown shows as text changes that tag's problem. Never a bad span.
        reason = str(refused)
        assert "overlap" not in reason and "stale" not in reason and "changed since" not in reason
        assert "cannot write" not in reason
        return

    rendered = MD.render(new)
    for replacement in replacements:
        # the browser's view: an <img> with the new URL (markdown-it renders the alt as text)
        assert rendered.count(f'<img src="{replacement.url}"') == 1
    assert [ref for ref in scan_markdown(new).refs if ref.kind == "embed"] == [
        ref for ref in scanned.refs if ref.kind == "embed" and not ref.is_local
    ]


@pytest.mark.parametrize(
    "text",
    [
        "![ ![[a.png]] ](b.png)\n",
        "![`c` ![[a.png]]](b.png)\n",
        "![x ![y ![[a.png]]](c.png)](b.png)\n",
        "# <!-- x --> ![`c` *d* ![[a.png|300]]](b.png)\n",
    ],
)
def test_an_embed_in_an_images_alt_text_is_that_texts(text: str) -> None:
    """Alt text is shown as plain text: Obsidian embeds nothing there."""
    assert [ref.kind for ref in scan_markdown(text).refs] == ["image"]


def test_an_alt_texts_code_and_escapes_hide_what_they_hold_where_they_stand() -> None:
    """markdown-it reads an alt text as a text of its own: what is code or escaped there is
    placed in the block's offsets, not the alt text's (an `<img` after them stays HTML)."""
    for alt in ["x \\*y", "`c`", "a `b`"]:
        text = f"# <!-- <img src='c.png'> -->![{alt}](https://img.test/0.png)\n"
        assert scan_markdown(text).problems == [], alt
    assert scan_markdown('![a `b` <img src="x.png">](a.png)\n').problems == []
