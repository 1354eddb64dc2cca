"""The memo of a run that found nothing to do, so that the same run can be answered at once.

A `sync` or `check` that found no local image and nothing to report leaves a memo in
`.imgsync/runs/`: what it printed and its exit status, and the state of everything its
answer rests on, as stat() tells it:

- the command line, the current folder, the environment, the terminal, the Python and
  imgsync's own code (one digest);
- every folder the walk listed (a file added, removed or renamed in one changes its mtime),
  and every Markdown file it found;
- the files that decide the settings: the config, the cache, the files of the state folder,
  and each file the search for the config and the project's root looks at, there or not.

The next run with the same command line reads the memo before importing anything else
(launch.py) and stats what it lists, a line at a time. If every stat is as recorded, the
run's answer is the same, and the memo's output is printed; the first difference sends the
run the whole way, which writes the memo again. Like a stamp (stamps.py), a memo is a
speed-up, never a source of truth: a missing or damaged memo is a full run.

Nothing taken less than RACY_SECONDS before the run began is recorded (git's "racily clean"
rule): a file changed during the run, or too close to it for the clock to tell, makes no
memo. The memo holds digests and file states, never an environment variable's value.

This module is imported first by every run: it may import only what Python has loaded
before `main` (os, sys), plus blake2b.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, BinaryIO

try:  # hashlib loads OpenSSL: 4 ms of every run; the built-in module is the same hash
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - CPython always builds _blake2
    from hashlib import blake2b

if TYPE_CHECKING:
    from pathlib import Path

    from .config import Settings
    from .report import Report

FORMAT = b"imgsync run memo 1"
FOLDER = "runs"  # in the state folder (.imgsync)
STATE_DIR_NAME = ".imgsync"  # files.STATE_DIR_NAME: the memo's place is found before any import
KEEP = 16  # memos kept: one per command line (sync, check, a hook's file list...)
RACY_NS = 2_000_000_000  # stamps.RACY_SECONDS
# Files the search for the config and the root looks at in each folder up from the current
# one (config.find_config, config.find_project_root): one appearing changes the settings.
LOOKED_AT = ("imgsync.toml", "pyproject.toml", ".imgsync-cache.json", ".git")
# Set by the shell for each command, and read by nothing imgsync does.
VOLATILE = frozenset({"_", "OLDPWD", "SHLVL"})
_END = b"end"
_CHUNK = 1 << 16


def replay(argv: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """Print the output of the memo for this command line and return its exit status, if
    every file it rests on is as recorded; None (nothing printed) if not, or if no memo."""
    try:
        cwd = os.getcwd()
        memo = _open_memo(cwd, _memo_name(cwd, argv))
        if memo is None:
            return None
        with memo:
            return _replay(memo, _identity(cwd, argv, environ))
    except (OSError, ValueError, UnicodeError):
        return None  # an unreadable memo, folder or file: the full run will say what it is


def _replay(memo: BinaryIO, identity: bytes) -> int | None:
    records = _records(memo)
    if next(records, None) != FORMAT or next(records, None) != b"k " + identity:
        return None
    status = out = err = None
    for record in records:
        kind, _, rest = record.partition(b" ")
        if kind == b"s":
            status = int(rest)
        elif kind == b"o":
            out = rest.decode("utf-8", "surrogatepass")
        elif kind == b"e":
            err = rest.decode("utf-8", "surrogatepass")
        elif kind == b"l":
            if _listing(os.fsdecode(rest.partition(b" ")[2])) != record:
                return None
        elif kind in (b"p", b"d", b"f"):
            signature, _, path = rest.partition(b" ")
            if _state(path)[0] != signature:
                return None
        elif record == _END:
            break
        else:
            return None
    else:
        return None  # cut short: no end record
    if status is None or out is None or err is None or next(records, None) is not None:
        return None  # not a memo this module wrote
    sys.stdout.write(out)
    sys.stdout.flush()
    sys.stderr.write(err)
    sys.stderr.flush()
    return status


def remember(
    *,
    argv: Sequence[str],
    environ: Mapping[str, str],
    started_ns: int,
    settings: Settings,
    paths: Sequence[Path],
    report: Report,
    printed: tuple[str, str],
    status: int,
) -> bool:
    """After a run printed `printed` (stdout, stderr) and ended with `status`: write the
    memo of this command line if the run found nothing to do and nothing it rests on was
    changed since RACY_NS before `started_ns`; else remove an old one. True if written."""
    cwd = os.getcwd()
    runs = os.path.join(str(settings.state_dir), FOLDER)
    name = _memo_name(cwd, argv)
    try:
        records = None
        if _nothing_happened(report) and _above_or_at(str(settings.state_dir.parent), cwd):
            records = _memo_records(settings, paths, printed, status, started_ns - RACY_NS)
        if records is None:
            _remove(os.path.join(runs, name))
            return False
        os.makedirs(runs, exist_ok=True)
        _write(runs, name, [FORMAT, b"k " + _identity(cwd, argv, environ), *records, _END])
    except _Racy:
        _remove(os.path.join(runs, name))
        return False
    except (OSError, UnicodeError):
        return False  # a speed-up only: no memo is no harm
    _keep_newest(runs)
    return True


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


class _Racy(Exception):
    """Something the memo would rest on changed too close to the run, or during it."""


def _memo_records(
    settings: Settings,
    paths: Sequence[Path],
    printed: tuple[str, str],
    status: int,
    before_ns: int,
) -> list[bytes] | None:
    """The records of the memo; None if the run's output can't be one (a NUL in it, a
    folder it could not read); _Racy if something changed at or after `before_ns`."""
    from .discover import find_markdown  # only a run that may write a memo walks again

    out, err = (text.encode("utf-8", "surrogatepass") for text in printed)
    if b"\0" in out or b"\0" in err:
        return None

    def record(kind: bytes, path: bytes | str) -> bytes:
        signature, changed_ns = _state(path)
        if changed_ns >= before_ns:
            raise _Racy(path)
        return b"%s %s %s" % (kind, signature, os.fsencode(path))

    records = [b"s %d" % status, b"o " + out, b"e " + err]
    records.extend(record(b"p", path) for path in _settings_files(settings))
    records.append(_listing(str(settings.state_dir)))  # written by this run: not racy
    folders: list[str] = []
    files, unreadable = find_markdown(
        paths,
        root=settings.root,
        include=settings.include,
        exclude=settings.exclude,
        listed=folders,
    )
    if unreadable:
        return None
    records.extend(record(b"d", folder) for folder in folders)
    records.extend(record(b"f", file) for file in files)
    return records


def _settings_files(settings: Settings) -> Iterator[str]:
    """The files the settings were read from or name, and each file the search for them
    looks at, from the current folder up, whether it is there or not."""
    named: list[Path | str | None] = [settings.config_path, settings.cache_path]
    named += [settings.root, settings.site_root, *settings.paths, settings.http.ca_file]
    named += [profile.source for profile in settings.hosts.values()]
    folder = os.getcwd()
    while True:
        named += [os.path.join(folder, name) for name in LOOKED_AT]
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return (os.path.abspath(path) for path in named if path is not None)


def _state(path: bytes | str) -> tuple[bytes, int]:
    """What stat() says of `path` (following links): its size, mtime, ctime, inode and
    mode, `-` if nothing is there; and when it last changed (0: never)."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return b"-", 0
    signature = b"%d:%d:%d:%d:%o" % (
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        st.st_ino,
        st.st_mode,
    )
    return signature, max(st.st_mtime_ns, st.st_ctime_ns)


def _listing(folder: str) -> bytes:
    """The state folder's record: a digest of its entries and their stat(), the memos'
    folder left out (its own writes would change it), then the folder."""
    digest = blake2b(digest_size=16)
    try:
        with os.scandir(folder) as entries:
            for name, st in sorted((e.name, e.stat()) for e in entries if e.name != FOLDER):
                what = (name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)
                digest.update(repr(what).encode("utf-8", "surrogatepass"))
    except FileNotFoundError:
        digest.update(b"-")
    return b"l %s %s" % (digest.hexdigest().encode(), os.fsencode(folder))


def _identity(cwd: str, argv: Sequence[str], environ: Mapping[str, str]) -> bytes:
    """One digest of what else a run's answer depends on: the command line and folder, the
    user, the environment (shell bookkeeping aside), the terminal, Python and imgsync's code."""
    from . import __version__

    digest = blake2b(digest_size=16)

    def add(*parts: object) -> None:
        digest.update(repr(parts).encode("utf-8", "surrogatepass") + b"\0")

    add(FORMAT, __version__, sys.version, sys.executable, tuple(sys.flags), cwd, list(argv))
    if hasattr(os, "getuid"):  # what this user may read is what a full run would read
        add(os.getuid(), os.getgid())
    add(sorted((k, v) for k, v in environ.items() if k not in VOLATILE))
    for fd in (0, 1, 2):
        terminal = os.isatty(fd)
        add(fd, terminal, os.get_terminal_size(fd) if terminal else None)
    package = os.path.dirname(os.path.abspath(__file__))
    add(sorted(_code_files(package)))
    return digest.hexdigest().encode()


def _code_files(folder: str) -> Iterator[tuple[str, int, int]]:
    """(path, size, mtime) of each of imgsync's modules: a changed imgsync answers anew."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".py"):
                st = entry.stat()
                yield entry.path, st.st_size, st.st_mtime_ns
            elif entry.name != "__pycache__" and entry.is_dir(follow_symlinks=False):
                yield from _code_files(entry.path)


def _memo_name(cwd: str, argv: Sequence[str]) -> str:
    digest = blake2b(repr((cwd, list(argv))).encode("utf-8", "surrogatepass"), digest_size=12)
    return digest.hexdigest()


def _open_memo(cwd: str, name: str) -> BinaryIO | None:
    """The memo named `name` in the state folder of the current folder or the nearest one
    above it that has one."""
    folder = cwd
    while True:
        try:
            return open(os.path.join(folder, STATE_DIR_NAME, FOLDER, name), "rb")
        except (FileNotFoundError, NotADirectoryError):
            pass
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _above_or_at(folder: str, cwd: str) -> bool:
    """Whether `folder` is `cwd` or a folder above it: where _open_memo looks."""
    folder = os.path.realpath(folder)
    return cwd == folder or cwd.startswith(folder.rstrip(os.sep) + os.sep)


def _records(memo: BinaryIO) -> Iterator[bytes]:
    """The memo's records (each ends with a NUL, which no path holds), read a chunk at a
    time: a memo of 30,000 files is never held whole."""
    rest = b""
    while chunk := memo.read(_CHUNK):
        *done, rest = (rest + chunk).split(b"\0")
        yield from done
    if rest:
        yield rest


def _write(runs: str, name: str, records: list[bytes]) -> None:
    """Write the memo whole under a temporary name, then rename it: a reader finds the old
    memo, the new one or none, never a part (and the end record proves a file whole)."""
    temporary = os.path.join(runs, f".{name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            for record in records:
                out.write(record + b"\0")
        os.replace(temporary, os.path.join(runs, name))
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _remove(path: str) -> None:
    try:  # noqa: SIM105 - contextlib is one more import before every run's answer
        os.unlink(path)
    except FileNotFoundError:
        pass


def _keep_newest(runs: str) -> None:
    """Remove all but the KEEP newest memos: each command line (a hook's list of files)
    writes its own."""
    try:
        with os.scandir(runs) as entries:
            memos = sorted(
                ((e.stat().st_mtime_ns, e.path) for e in entries if not e.name.startswith(".")),
                reverse=True,
            )
        for _, path in memos[KEEP:]:
            os.unlink(path)
    except OSError:
        pass


def now_ns() -> int:
    """The time a run began, as remember() takes it."""
    return time.time_ns()
