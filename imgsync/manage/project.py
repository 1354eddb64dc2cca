"""What the commands share: the project's uses counted everywhere, the host's abilities."""

from __future__ import annotations

from collections.abc import Iterable

from ..config import Settings
from ..hosts.base import Host, supports
from .git_history import branch_references
from .references import Mentions, References, work_tree_references

_CAN = {"list": "list images", "delete": "delete images", "albums": "list albums"}


def count_uses(settings: Settings, urls: Iterable[str], *, git: bool = True) -> References:
    """Every use in the project: its Markdown on disk, then (in a git work tree) the committed
    Markdown of every other local branch and every tag. `urls` are watched for mentions."""
    refs = References()
    mentions = Mentions(urls)
    work_tree_references(settings, refs, mentions)
    if git:
        branch_references(settings, refs, mentions)
    return refs


def cannot(host: Host, ability: str) -> str | None:
    """The one line for a host that can't do `ability` ("list", "delete", "albums"), or None."""
    if ability in supports(host):
        return None
    hint = getattr(type(host), "unsupported_hints", {}).get(ability)  # the host's own advice
    why = f": {hint}" if isinstance(hint, str) and hint else ""
    return f"{host.type_name} hosts can't {_CAN[ability]} through their API{why}"
