"""Where the project uses its hosted images: every reference and mention, in the work tree
and in the committed Markdown of every local branch and tag (git_history.py).

A use of an upload is a reference whose URL is the upload's (compared without query or
fragment: hosts append processing parameters), a local reference whose image bytes have
the upload's MD5, or, to be safe, its URL anywhere in a Markdown file's text (a code
block, a comment): "mentioned".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from ..config import Settings
from ..discover import discover_markdown
from ..errors import ImageError, MarkdownError

# Where a URL may begin in a text: `//` of `https://` or of a scheme-relative URL.
_URL_START = re.compile(r"//[^\s\"'<>`\\]+")


@dataclass(frozen=True, order=True)
class Use:
    """One place that uses an upload: a file (project-relative), its line (0: unknown),
    how ("reference" or "mentioned"), and where ("" the work tree, else "branch NAME" or
    "tag NAME": its committed Markdown)."""

    where: str
    file: str
    line: int
    how: str = "reference"

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line else self.file
        if self.how == "mentioned":
            place += " (mentioned)"
        return f"{place} on {self.where}" if self.where else place


def url_key(url: str) -> str:
    """A hosted URL as uses compare it: no scheme, no query, no fragment, host in lower case."""
    try:
        split = urlsplit(url if "//" in url else "//" + url)
    except ValueError:
        return url
    return f"//{split.netloc.lower()}{split.path}"


@dataclass
class References:
    """The uses found, by hosted URL (its url_key) and by the MD5 of local images' bytes."""

    by_url: dict[str, set[Use]] = field(default_factory=dict)
    by_md5: dict[str, set[Use]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # files not read, so not counted
    # Whole branches or repositories git could not read: uses may be missing, so nothing
    # is deleted (prune --yes, delete) until they can be read.
    unread: list[str] = field(default_factory=list)

    def uses(self, url: str, md5: str = "") -> list[Use]:
        """Every use of the upload at `url` whose bytes have `md5`, sorted."""
        found = set(self.by_url.get(url_key(url), ()))
        if md5:
            found |= self.by_md5.get(md5, set())
        return sorted(found)

    def add_url(self, url: str, use: Use) -> None:
        self.by_url.setdefault(url_key(url), set()).add(use)

    def add_md5(self, md5: str, use: Use) -> None:
        self.by_md5.setdefault(md5, set()).add(use)


class Mentions:
    """Finds the watched URLs anywhere in a text, however it is written around them."""

    def __init__(self, urls: Iterable[str]) -> None:
        self.keys = {url_key(url) for url in urls}
        self.lengths = sorted({len(key) for key in self.keys})

    def find(self, text: str) -> list[tuple[str, int]]:
        """(url_key, line) of each watched URL in `text`."""
        if not self.keys:
            return []
        found = []
        for match in _URL_START.finditer(text):
            token = match[0]
            cut = min((i for i in (token.find("?"), token.find("#")) if i >= 0), default=-1)
            token = token[:cut] if cut >= 0 else token
            for length in self.lengths:  # a prefix: `)` or `]` may follow the URL
                if length > len(token):
                    break
                key = url_key("https:" + token[:length])
                if key in self.keys and (len(token) == length or not token[length].isalnum()):
                    found.append((key, text.count("\n", 0, match.start()) + 1))
                    break
        return found


def scan_text(
    text: str,
    settings: Settings,
    use_at: tuple[str, str],
    refs: References,
    mentions: Mentions,
) -> list[tuple[str, int, bool]]:
    """Record the hosted URLs `text` uses; its local references, (path as written, line,
    whether it is an Obsidian embed), are returned for the caller to resolve (on disk, or
    in a branch's tree)."""
    from ..scan import scan_markdown  # the Markdown seam

    where, file = use_at
    local = []
    scanned = scan_markdown(text, settings.front_matter_keys, settings.dialect)
    for ref in scanned.refs:
        if ref.is_local:
            embed = ref.kind == "embed"
            local.append((ref.url if embed else _target_path(ref.url), ref.line, embed))
            if not embed and ref.url.startswith("/"):  # a folder of the site's `/images/…`
                refs.add_url(ref.url, Use(where, file, ref.line))
        elif ref.target is None and "//" in ref.url[:8]:
            refs.add_url(ref.url, Use(where, file, ref.line))
    for key, line in mentions.find(text):
        use = Use(where, file, line)
        if use not in refs.by_url.get(key, set()):
            refs.by_url.setdefault(key, set()).add(Use(where, file, line, "mentioned"))
    return local


def _target_path(url: str) -> str:
    from ..markdown.destinations import local_target  # the Markdown seam

    target = local_target(url)
    return target.path if target is not None else url


def work_tree_references(settings: Settings, refs: References, mentions: Mentions) -> None:
    """Add the uses of every Markdown file of the project, as it is on disk."""
    from ..images import resolve_target
    from ..markdown.destinations import LocalTarget
    from ..markdown.text_file import read_markdown
    from ..vault import Vault

    root = settings.root
    files, unreadable = discover_markdown(
        [root], root=root, include=settings.include, exclude=settings.exclude
    )
    for folder, reason in unreadable:
        refs.warnings.append(f"{folder}: not read ({reason})")
    vault = Vault(root)
    hashes: dict[Path, str | None] = {}
    for path in files:
        rel = _project_path(path, root)
        try:
            markdown = read_markdown(path, project=root)
        except (OSError, MarkdownError) as error:
            refs.warnings.append(f"{rel}: not read ({error})")
            continue
        for written, line, embed in scan_text(markdown.text, settings, ("", rel), refs, mentions):
            found = vault.locate(written, path) if embed else None
            try:
                target = LocalTarget(written, "")
                found = found or resolve_target(target, path, root, settings.site_root)
            except ImageError as error:
                # A name no file has from the note's folder may be a vault's (Obsidian finds
                # bare names anywhere): counted so, to be safe, in every dialect.
                found = vault.locate(written, path) if error.missing else None
            if found is None:
                continue  # a missing or outside file uses no upload
            image = found
            if image not in hashes:
                hashes[image] = _md5_of(image)
            md5 = hashes[image]
            if md5 is not None:
                refs.add_md5(md5, Use("", rel, line))


def _md5_of(path: Path) -> str | None:
    try:
        with path.open("rb") as stream:
            return hashlib.file_digest(stream, "md5").hexdigest()
    except OSError:
        return None


def _project_path(path: Path, root: Path) -> str:
    try:
        return PurePosixPath(path.absolute().relative_to(root.absolute()).as_posix()).as_posix()
    except ValueError:
        return path.as_posix()
