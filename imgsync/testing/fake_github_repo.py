"""The repository a fake GitHub holds: branches of files in memory, git's object ids, and the
JSON shapes GitHub's contents, branches and trees endpoints answer with.

Blob SHAs are git's own (SHA-1 of "blob {size}\\0" and the bytes), so a client that
computes them locally can compare. Trees are snapshots: a tree SHA read once keeps
answering with the files it had, as a git tree does.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DIRECTORY_CAP = 1000  # the contents API lists at most 1,000 entries of a folder
INLINE_LIMIT = 1024 * 1024  # files up to 1 MB come with their base64 content


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


@dataclass
class _Snapshot:
    files: dict[str, bytes]  # path -> bytes, the whole branch
    prefix: str  # "" for the root, else "images/"


@dataclass
class FakeRepository:
    """One repository, `owner/name`, its branches and their files; thread-safe."""

    owner: str
    name: str
    default_branch: str = "main"
    branches: dict[str, dict[str, bytes]] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)  # branch -> its commit SHA
    commits: int = 0
    _trees: dict[str, _Snapshot] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.branches.setdefault(self.default_branch, {})
        for branch in self.branches:
            self.heads.setdefault(branch, self._commit_sha(branch))

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def _commit_sha(self, branch: str) -> str:
        self.commits += 1
        return hashlib.sha1(f"commit {branch} {self.commits}".encode()).hexdigest()

    def write(self, branch: str, path: str, data: bytes | None) -> str:
        """Commit `data` at `path` (None deletes it); the new commit's SHA."""
        with self.lock:
            files = self.branches[branch]
            if data is None:
                files.pop(path, None)
            else:
                files[path] = data
            self.heads[branch] = self._commit_sha(branch)
            return self.heads[branch]

    def move_branch(self, branch: str) -> None:
        """Another push lands on `branch`: its head moves, no file changes."""
        with self.lock:
            self.heads[branch] = self._commit_sha(branch)

    # ---- the JSON GitHub answers with ------------------------------------------------

    def file_json(
        self, api: str, raw: str, branch: str, path: str, *, inline: bool
    ) -> dict[str, Any]:
        data = self.branches[branch][path]
        sha = blob_sha(data)
        small = len(data) <= INLINE_LIMIT
        item = self._entry(api, raw, branch, path, "file", sha, len(data))
        if inline:
            item["content"] = base64.encodebytes(data).decode() if small else ""
            item["encoding"] = "base64" if small else "none"
        return item

    def folder_entries(self, api: str, raw: str, branch: str, folder: str) -> list[dict[str, Any]]:
        """The folder's direct entries (files and subfolders), at most DIRECTORY_CAP."""
        prefix = f"{folder}/" if folder else ""
        children: dict[str, str] = {}
        for path in sorted(self.branches[branch]):
            if path.startswith(prefix):
                head, slash, _ = path[len(prefix) :].partition("/")
                children.setdefault(head, "dir" if slash else "file")
        entries = []
        for child, kind in list(children.items())[:DIRECTORY_CAP]:
            path = prefix + child
            if kind == "file":
                data = self.branches[branch][path]
                entries.append(
                    self._entry(api, raw, branch, path, "file", blob_sha(data), len(data))
                )
            else:
                sha = self.tree_sha(branch, path + "/")
                entries.append(self._entry(api, raw, branch, path, "dir", sha, 0))
        return entries

    def is_folder(self, branch: str, path: str) -> bool:
        prefix = f"{path}/" if path else ""
        return any(p.startswith(prefix) for p in self.branches[branch])

    def _entry(
        self, api: str, raw: str, branch: str, path: str, kind: str, sha: str, size: int
    ) -> dict[str, Any]:
        base = f"{api}/repos/{self.full_name}"
        html = f"https://github.example/{self.full_name}/{'blob' if kind == 'file' else 'tree'}"
        git = f"{base}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
        item: dict[str, Any] = {
            "type": kind,
            "name": path.rpartition("/")[2],
            "path": path,
            "sha": sha,
            "size": size,
            "url": f"{base}/contents/{path}?ref={branch}",
            "html_url": f"{html}/{branch}/{path}",
            "git_url": git,
            "download_url": f"{raw}/{self.full_name}/{branch}/{path}" if kind == "file" else None,
        }
        item["_links"] = {"self": item["url"], "git": git, "html": item["html_url"]}
        return item

    def commit_json(self, api: str, branch: str, message: str) -> dict[str, Any]:
        sha = self.heads[branch]
        return {
            "sha": sha,
            "url": f"{api}/repos/{self.full_name}/git/commits/{sha}",
            "message": message,
            "tree": {"sha": self.tree_sha(branch, "")},
        }

    # ---- git trees ----------------------------------------------------------------------

    def tree_sha(self, branch: str, prefix: str) -> str:
        """The SHA of the tree at `prefix` ("" or "images/") as the branch is now."""
        with self.lock:
            files = {p: d for p, d in self.branches[branch].items() if p.startswith(prefix)}
            listing = "\n".join(f"{p} {blob_sha(d)}" for p, d in sorted(files.items()))
            sha = hashlib.sha1(f"tree {prefix}\n{listing}".encode()).hexdigest()
            self._trees.setdefault(sha, _Snapshot(files, prefix))
            return sha

    def tree_json(self, api: str, sha: str, *, recursive: bool) -> dict[str, Any] | None:
        """GET git/trees/{sha}: a snapshot's entries (all below it, with `recursive`)."""
        with self.lock:
            if sha in self.branches:  # a branch name stands for its root tree
                sha = self.tree_sha(sha, "")
            snapshot = self._trees.get(sha)
        if snapshot is None:
            return None
        entries: dict[str, dict[str, Any]] = {}
        for path, data in sorted(snapshot.files.items()):
            rest = path[len(snapshot.prefix) :]
            parts = rest.split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if (recursive or depth == 1) and folder not in entries:
                    sub = self._subtree(snapshot, f"{snapshot.prefix}{folder}/")
                    entries[folder] = {"path": folder, "mode": "040000", "type": "tree", "sha": sub}
            if recursive or len(parts) == 1:
                entries[rest] = {
                    "path": rest,
                    "mode": "100644",
                    "type": "blob",
                    "sha": blob_sha(data),
                    "size": len(data),
                }
        url = f"{api}/repos/{self.full_name}/git/trees/{sha}"
        return {"sha": sha, "url": url, "tree": list(entries.values()), "truncated": False}

    def _subtree(self, snapshot: _Snapshot, prefix: str) -> str:
        files = {p: d for p, d in snapshot.files.items() if p.startswith(prefix)}
        listing = "\n".join(f"{p} {blob_sha(d)}" for p, d in sorted(files.items()))
        sha = hashlib.sha1(f"tree {prefix}\n{listing}".encode()).hexdigest()
        with self.lock:
            self._trees.setdefault(sha, _Snapshot(files, prefix))
        return sha

    def snapshot(self, branch: str) -> Mapping[str, bytes]:
        with self.lock:
            return dict(self.branches[branch])
