"""A github host's folder listed through the git trees API: the branch's root tree, down the
folder's parts, then the folder's tree whole (recursive). One tree is a snapshot, so a
commit by someone else meanwhile neither hides a file nor shows one twice, and the
contents API's cap of 1,000 entries a folder does not apply."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from ..errors import HostError
from ._http import HostErrors
from .github_options import GitHubSettings

Getter = Callable[[str], dict[str, Any]]  # GET {api}{path}, judged: the reply's JSON object


def files_in_folder(
    get: Getter, settings: GitHubSettings, errors: HostErrors
) -> list[tuple[str, int | None]]:
    """(path in the repository, size) of every file under the profile's folder; none when
    the folder does not exist yet."""
    repo = settings.repo
    branch = get(f"/repos/{repo}/branches/{quote(settings.branch, safe='/')}")
    commit = branch.get("commit")
    inner = commit.get("commit") if isinstance(commit, Mapping) else None
    tree = inner.get("tree") if isinstance(inner, Mapping) else None
    sha = tree.get("sha") if isinstance(tree, Mapping) else None
    for part in settings.folder.split("/") if settings.folder else []:
        if not isinstance(sha, str):
            break
        entries = _tree(get, repo, sha, errors, recursive=False)
        here = [e.get("sha") for e in entries if (e.get("path"), e.get("type")) == (part, "tree")]
        sha = here[0] if here else None
    if not isinstance(sha, str):
        return []  # the folder does not exist yet: nothing was uploaded
    prefix = f"{settings.folder}/" if settings.folder else ""
    files = []
    for entry in _tree(get, repo, sha, errors, recursive=True):
        path, size = entry.get("path"), entry.get("size")
        if entry.get("type") == "blob" and isinstance(path, str):
            files.append((prefix + path, size if type(size) is int else None))
    return files


def _tree(
    get: Getter, repo: str, sha: str, errors: HostErrors, *, recursive: bool
) -> list[Mapping[str, Any]]:
    query = "?recursive=1" if recursive else ""
    body = get(f"/repos/{repo}/git/trees/{quote(sha, safe='')}{query}")
    if body.get("truncated") is True:
        errors.fail(
            HostError,
            "GitHub truncated the folder's listing (over 100,000 entries or 7 MB): make "
            "'path' a smaller folder",
            200,
        )
    entries = body.get("tree")
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []
