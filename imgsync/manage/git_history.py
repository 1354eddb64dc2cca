"""The uses in the committed Markdown of every local branch and tag, read through git
(`for-each-ref`, `ls-tree`, `cat-file --batch`): nothing is checked out."""

from __future__ import annotations

import hashlib
import posixpath
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..config import Settings
from ..discover import is_selected
from ..vault import name_key
from .references import Mentions, References, Use, scan_text

_BATCH = 256  # objects asked of one `git cat-file --batch`


class GitError(Exception):
    """git answered with an error: the message says what it said."""


def branch_references(settings: Settings, refs: References, mentions: Mentions) -> list[str]:
    """Add the uses of every local branch's and tag's committed Markdown but the branch
    checked out (its work tree is counted instead); the branches and tags read. Outside a
    git work tree: none. A branch git can't read is a warning in `refs`."""
    root = settings.root.resolve()
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    except OSError:
        return []  # no git installed: no repository it could read either
    except GitError as error:
        if "not a git repository" not in str(error):  # one git refuses to read (ownership)
            refs.unread.append(f"the git repository here: {error}")
        return []
    prefix = root.relative_to(top).as_posix() if root != top else ""
    try:
        head = _git(root, "symbolic-ref", "-q", "HEAD").decode().strip()
    except GitError:
        head = ""  # a detached HEAD: its work tree is no branch, every branch is read
    try:
        names = _git(
            root,
            "for-each-ref",
            "--format=%(refname) %(objecttype) %(*objecttype)",
            "refs/heads",
            "refs/tags",
        )
    except GitError as error:
        refs.unread.append(f"the branches and tags: {error}")
        return []
    read = []
    blobs = _Blobs(root)
    for line in names.decode().splitlines():
        refname, *types = line.split()
        if refname == head or types[-1] not in ("commit", "tree"):
            continue  # a tag of a blob (a key, a file) holds no Markdown
        where = refname.replace("refs/heads/", "branch ", 1).replace("refs/tags/", "tag ", 1)
        try:
            _count(_tree(root, refname, prefix), where, settings, refs, mentions, blobs)
        except (GitError, ValueError) as error:
            refs.unread.append(f"{where}: {error}")
            continue
        read.append(where)
    return read


def _count(
    tree: dict[str, str],
    where: str,
    settings: Settings,
    refs: References,
    mentions: Mentions,
    blobs: _Blobs,
) -> None:
    root = settings.root
    markdown = [
        path
        for path in tree
        if is_selected(
            root / path, root, root=root, include=settings.include, exclude=settings.exclude
        )
    ]
    texts = blobs.contents(tree[path] for path in markdown)
    by_name: dict[str, list[str]] | None = None
    site = _site_prefix(settings)
    images: list[tuple[str, Use]] = []  # (object id, use): hashed together at the end
    for path in markdown:
        text = texts.get(tree[path], b"").decode("utf-8", "replace").removeprefix("\ufeff")
        for written, line, embed in scan_text(text, settings, (where, path), refs, mentions):
            if written.startswith("/"):
                found = [posixpath.normpath(posixpath.join(site, written.lstrip("/")))]
            else:
                found = [posixpath.normpath(posixpath.join(posixpath.dirname(path), written))]
            if (embed and "/" not in written) or found[0] not in tree:
                # An embed's bare name, or a name no file has there: a vault's name,
                # found anywhere (Obsidian): every file so named counts, to be safe.
                if by_name is None:
                    by_name = {}
                    for each in tree:
                        by_name.setdefault(name_key(posixpath.basename(each)), []).append(each)
                found = by_name.get(name_key(posixpath.basename(written)), [])
            images += [(tree[image], Use(where, path, line)) for image in found if image in tree]
    md5s = blobs.md5s(oid for oid, _ in images)
    for oid, use in images:
        if oid in md5s:
            refs.add_md5(md5s[oid], use)


def _site_prefix(settings: Settings) -> str:
    try:
        rel = settings.site_root.resolve().relative_to(settings.root.resolve()).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel


def _tree(root: Path, refname: str, prefix: str) -> dict[str, str]:
    """The blobs of `refname`'s tree under the project's folder: path (from it) -> object id."""
    out = _git(root, "ls-tree", "-r", "-z", "--full-tree", f"{refname}^{{tree}}")
    tree = {}
    start = prefix + "/" if prefix else ""
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, oid = meta.decode().split()
        path = name.decode("utf-8", "surrogateescape")
        if kind == "blob" and mode != "120000" and path.startswith(start):
            tree[path[len(start) :]] = oid
    return tree


class _Blobs:
    """Blob contents and MD5s, each object read once however many branches hold it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._md5: dict[str, str] = {}

    def contents(self, oids: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(oids))
        found: dict[str, bytes] = {}
        for start in range(0, len(wanted), _BATCH):
            found.update(self._read(wanted[start : start + _BATCH]))
        return found

    def md5s(self, oids: Iterable[str]) -> dict[str, str]:
        """The MD5 of each object's bytes (those git has)."""
        wanted = list(dict.fromkeys(oids))
        new = [oid for oid in wanted if oid not in self._md5]
        for start in range(0, len(new), _BATCH):  # a batch at a time: images can be large
            for oid, data in self._read(new[start : start + _BATCH]):
                self._md5[oid] = hashlib.md5(data).hexdigest()
        return {oid: self._md5[oid] for oid in wanted if oid in self._md5}

    def _read(self, oids: list[str]) -> Iterator[tuple[str, bytes]]:
        out = _git(self.root, "cat-file", "--batch", stdin="".join(f"{o}\n" for o in oids))
        at = 0
        for oid in oids:
            end = out.index(b"\n", at)
            header = out[at:end].split()
            at = end + 1
            if len(header) < 3 or header[1] == b"missing":
                continue
            size = int(header[2])
            yield oid, out[at : at + size]
            at += size + 1


def _git(cwd: Path, *args: str, stdin: str | None = None) -> bytes:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=None if stdin is None else stdin.encode(),
        capture_output=True,
        check=False,
        env=None,
    )
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(said[-1] if said else f"git {args[0]} failed")
    return done.stdout
