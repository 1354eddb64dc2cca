"""The stamps of a run (state/stamps.py), read as the run's settings read Markdown: shared by
the pipeline and the commands that rewrite through its writeback (migrate, `--reprocess`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .remote import rooted_prefixes
from .report import Report, display_path
from .state.stamps import Stamps

if TYPE_CHECKING:
    from .config import Settings


def load_stamps(settings: Settings, report: Report) -> Stamps:
    """The stamps of files known clean, read as the settings read Markdown (see stamps.py)."""
    reading = ",".join(settings.front_matter_keys)  # a file clean under other keys may not be
    if settings.dialect != "commonmark":  # nor one clean (or failing) in another dialect
        reading += f";dialect={settings.dialect}"
    if served := rooted_prefixes(settings.hosts):  # nor one clean while a folder served these
        reading += f";hosted={','.join(served)}"
    stamps = Stamps.load(settings.state_dir, project=settings.root, reading=reading)
    if stamps.discarded is not None and stamps.path is not None:
        report.warn(display_path(stamps.path), stamps.discarded)
    return stamps
