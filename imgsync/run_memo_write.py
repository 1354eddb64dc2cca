"""Writing the run memo (run_memo.py) after a `sync` or `check` that found nothing to do.

Everything recorded must have been last changed more than RACY_SECONDS before the run
began: the run's own reading can then be trusted to be of what the memo records (git's
"racily clean" rule). The state folder's stamps are the exception: the run itself writes
them, and they never change an answer (state/stamps.py). The memos' folder is imgsync's
own: a link there, or in the state folder, makes no memo, and only memos are ever removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from hashlib import blake2b
from pathlib import Path

from .config import CACHE_NAME, CONFIG_NAME, Settings
from .discover import Walked
from .errors import ImgsyncError
from .files import real_path
from .report import Report
from .run_memo import (
    END,
    FOLDER,
    FORMAT,
    listing,
    memo_name,
    memo_path,
    state,
)
from .state.stamps import RACY_SECONDS
from .state.stamps import STATE_NAME as STAMPS_NAME

KEEP = 16  # memos kept in a state folder: one per command line (a hook's list of files...)
_MEMO = re.compile(r"[0-9a-f]{24}")  # run_memo.memo_name's
_TEMPORARY = ".writing-"  # a memo being written: one a killed run left is removed later
_TEMPORARY_LEFT_S = 600
# What the search for the config and the project's root looks at in each folder up from
# the current one (config.find_config, config.find_project_root).
LOOKED_AT = (CONFIG_NAME, "pyproject.toml", CACHE_NAME, ".git")


class _Racy(Exception):
    """Something the memo would rest on changed too close to the run, or during it."""


def remember(
    *,
    argv: Sequence[str],
    environ: Mapping[str, str],
    started_ns: int,
    identity: bytes,
    settings: Settings,
    paths: Sequence[Path],
    named: Sequence[Path],
    walked: Walked,
    report: Report,
    printed: tuple[str, str],
) -> bool:
    """After a run over `paths` (`named`: the other files its command line named, such as
    --config; `walked`: what its discovery walked; `identity`: run_memo.identity as the run
    began, its code among it) printed `printed` (stdout, stderr): write the memo of this
    command line if
    the run found nothing to do and nothing it rests on changed since RACY_SECONDS before
    `started_ns`; else remove the old one. True if written."""
    cwd = os.getcwd()
    name = memo_name(cwd, argv)
    project = str(settings.state_dir.parent)
    if not _above_or_at(project, cwd):
        return False  # where run_memo.open_memo would not look
    path = None
    try:
        _remove_hiding(cwd, project, name)  # it did not answer this run, nor will it the next
        if not _nothing_happened(report):
            _remove(memo_path(project, name))
            return False
        path = _memo_path(settings, name)
        if path is None:
            return False
        before_ns = started_ns - int(RACY_SECONDS * 1e9)
        records = _records(settings, paths, named, walked, environ, printed, report, before_ns)
        if records is None:
            _remove(path)
            return False
        _write(path, [FORMAT, b"k " + identity, *records])
    except _Racy:
        _remove(path)
        return False
    except (OSError, UnicodeError, ImgsyncError):
        return False  # a speed-up only: no memo is no harm (a path gone: the next run says)
    _keep_newest(os.path.dirname(path))
    return True


def _memo_path(settings: Settings, name: str) -> str | None:
    """Where the memo `name` goes, its folder made if missing; None if the state folder is
    not a folder of the project, or it or the memos' folder is a link (a pull request may
    have committed one)."""
    state_dir = str(settings.state_dir)
    if not Path(real_path(state_dir)).is_relative_to(real_path(settings.root)):
        return None
    if not stat.S_ISDIR(os.lstat(state_dir).st_mode):
        return None
    with contextlib.suppress(FileExistsError):
        os.mkdir(os.path.join(state_dir, FOLDER), 0o700)
    return memo_path(os.path.dirname(state_dir), name)


def _nothing_happened(report: Report) -> bool:
    """A run whose whole output follows from the files' count: nothing found, done or said."""
    busy = (
        report.files_changed,
        report.uploaded,
        report.would_upload,
        report.pending,
        report.failures,
        report.warnings,
        report.ignored,
        report.links_rewritten,
        report.reused,
        report.interrupted,
        report.host_verdict,
        report.output,
    )
    return not any(busy) and report.exit_status() == 0


def _records(
    settings: Settings,
    paths: Sequence[Path],
    named: Sequence[Path],
    walked: Walked,
    environ: Mapping[str, str],
    printed: tuple[str, str],
    report: Report,
    before_ns: int,
) -> list[bytes] | None:
    """The memo's records; None if the run's output can't be one (a NUL in it); _Racy if
    something changed at or after `before_ns`. (A folder the walk could not read is a
    failure of the run's: no memo then.)"""
    out, err = (text.encode("utf-8", "surrogatepass") for text in printed)
    if b"\0" in out or b"\0" in err:
        return None

    def settled(path: str, resolved: bool) -> tuple[bytes, int]:
        """run_memo.state of `path`; _Racy if it changed at or after `before_ns`."""
        signature, changed_ns = state(path, resolved=resolved)
        if changed_ns >= before_ns:
            raise _Racy(path)
        return signature, changed_ns

    def dated(kind: bytes, path: str) -> tuple[int, bytes]:
        signature, changed_ns = settled(path, resolved=kind == b"p")
        return changed_ns, b"%s %s %s" % (kind, signature, os.fsencode(path))

    def record(kind: bytes, path: str) -> bytes:
        return dated(kind, path)[1]

    records = [b"s %d" % report.exit_status(), b"o " + out, b"e " + err]
    records += [record(b"p", path) for path in _settings_files(settings, paths, named)]
    home = environ.get("HOME")  # its state, never its path: the reader knows it
    records.append(b"h " + (settled(home, resolved=True)[0] if home else b""))
    state_dir = str(settings.state_dir)
    _not_racy_but_stamps(state_dir, before_ns)
    records.append(b"l %s %s" % (listing(state_dir), os.fsencode(state_dir)))
    records += [record(b"f", path) for path in (*walked.folders, *walked.links)]
    # The files last changed first: the one being edited is likely among them, and a run
    # after an edit then stops reading the memo at once.
    dated_files = sorted((dated(b"f", path) for path in walked.files), reverse=True)
    records += [text for _, text in dated_files]
    return records


def _settings_files(
    settings: Settings, paths: Sequence[Path], named: Sequence[Path]
) -> Iterator[str]:
    """The files the settings were read from or name (as resolved, and as the config wrote
    them: a link on the way may lead elsewhere next time), the paths of the command line,
    and each file the search for the config looks at, from the current folder up, whether
    it is there or not."""
    listed: list[Path | str | None] = [settings.config_path, settings.cache_path]
    listed += [settings.root, settings.site_root, *settings.paths, settings.http.ca_file]
    listed += [*settings.written_paths, *(profile.source for profile in settings.hosts.values())]
    listed += [*paths, *named]
    folder = os.getcwd()
    while True:
        listed += [os.path.join(folder, name) for name in LOOKED_AT]
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return (os.path.abspath(path) for path in listed if path)


def _not_racy_but_stamps(state_dir: str, before_ns: int) -> None:
    """_Racy if a file of the state folder but the stamps, which this run writes and which
    change no answer, and the locks, changed at or after `before_ns`."""
    with os.scandir(state_dir) as entries:
        for entry in entries:
            if entry.name in (STAMPS_NAME, FOLDER) or entry.name.endswith(".lock"):
                continue
            st = entry.stat()
            if max(st.st_mtime_ns, st.st_ctime_ns) >= before_ns:
                raise _Racy(entry.path)


def _above_or_at(folder: str, cwd: str) -> bool:
    """Whether `folder` is `cwd` or a folder above it: where run_memo.open_memo looks."""
    folder = os.path.realpath(folder)
    return cwd == folder or cwd.startswith(folder.rstrip(os.sep) + os.sep)


def _write(path: str, records: list[bytes]) -> None:
    """Write the memo whole under a new temporary name (never through a link), readable and
    writable by this user alone (run_memo reads no other), then rename it: a reader finds
    the old memo, the new one or none, never a part."""
    digest = blake2b(digest_size=16)
    temporary = os.path.join(os.path.dirname(path), f"{_TEMPORARY}{os.urandom(6).hex()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            for record in records:
                out.write(record + b"\0")
                digest.update(record + b"\0")
            out.write(END + digest.hexdigest().encode() + b"\0")
        os.replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise


def _remove(path: str | None) -> None:
    if path is None:
        return
    with contextlib.suppress(OSError):  # gone already, or not ours: no memo is no harm
        os.unlink(path)


def _remove_hiding(cwd: str, project: str, name: str) -> None:
    """Remove the memos of this command line left in state folders between the current
    folder and the project's (a config moved up): run_memo.open_memo would find them first."""
    folder, top = cwd, os.path.realpath(project)
    while folder != top and folder.startswith(top + os.sep):
        path = memo_path(folder, name)
        if path is not None:
            _remove(path)
        folder = os.path.dirname(folder)


def _keep_newest(runs: str) -> None:
    """Remove all but the KEEP newest memos (each command line writes its own), and what a
    writer killed midway left more than _TEMPORARY_LEFT_S ago."""
    try:
        with os.scandir(runs) as entries:
            found = [
                (entry.stat(follow_symlinks=False).st_mtime_ns, entry.name, entry.path)
                for entry in entries
                if entry.is_file(follow_symlinks=False)
            ]
    except OSError:
        return
    memos = sorted(((at, path) for at, name, path in found if _MEMO.fullmatch(name)), reverse=True)
    left = time.time_ns() - _TEMPORARY_LEFT_S * 1_000_000_000
    stale = [path for at, name, path in found if name.startswith(_TEMPORARY) and at < left]
    for path in [*(path for _, path in memos[KEEP:]), *stale]:
        _remove(path)
