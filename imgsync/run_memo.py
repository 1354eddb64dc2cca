"""The memo of a run that found nothing to do, so that the same run can be answered at once.

A `sync` or `check` that found no local image and nothing to report leaves a memo in
`.imgsync/runs/` (run_memo_write.py): what it printed and its exit status, and the state of
everything its answer rests on, as stat() tells it:

- the command line, the current folder, the user and groups, the environment, the standard
  streams, the terminal, Python, the folders it imports from, and imgsync's own code (one
  digest: the identity);
- every folder the walk listed (a file added, removed or renamed in one changes its mtime),
  every link met in them (where it leads decides what the walk makes of it), and every
  Markdown file it found;
- the files that decide the settings, with where their links lead: the config, the cache,
  the paths named, the home folder, each file the search for the config and the project's
  root looks at, there or not, and the files of the state folder.

The next run with the same command line reads the memo before importing anything else
(launch.py) and stats what it lists, a record at a time. If every stat is as recorded, the
run's answer is the same, and the memo's output is printed; the first difference sends the
run the whole way, which writes the memo again. Like a stamp (state/stamps.py), a memo is a
speed-up, never a source of truth: a missing or damaged memo (its digest covers every byte)
is a full run. A memo holds digests and file states, never an environment variable's value.

This module is imported first by every run: it may import only what Python has loaded
before `main` (os, sys), and blake2b.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import BinaryIO

try:  # hashlib loads OpenSSL: 4 ms of every run; the built-in module is the same hash
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - CPython always builds _blake2
    from hashlib import blake2b

FORMAT = b"imgsync run memo 3"
FOLDER = "runs"  # in the state folder
STATE_DIR_NAME = ".imgsync"  # files.STATE_DIR_NAME: the memo's place is found before any import
# Set by the shell for each command, and read by nothing imgsync does.
VOLATILE = frozenset({"_", "OLDPWD", "SHLVL"})
END = b"end "  # the last record: a digest of every byte before it
_CHUNK = 1 << 16
MAX_RECORD = 1 << 20  # bytes: the longest output a memo keeps, or path (none is near it)
PRIVATE_NOT = 0o077  # permission bits a memo never has: only its user reads and writes it


def replay(argv: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """Print the output of the memo of this command line and return its exit status, if
    every file it rests on is as recorded; None (nothing printed) if not, or if no memo."""
    if sys.stdout is None or sys.stderr is None:
        return None  # a closed stream: the full run knows what to do
    try:
        cwd = os.getcwd()
        memo = open_memo(cwd, memo_name(cwd, argv))
        if memo is None:
            return None
        with memo:
            answer = _answer(memo, identity(cwd, argv, environ), environ.get("HOME"))
    except (OSError, ValueError, UnicodeError):
        return None  # an unreadable memo, folder or file: the full run will say what it is
    if answer is None:
        return None
    status, out, err = answer
    sys.stdout.write(out)  # past this point, never a full run: it would print this again
    sys.stdout.flush()
    sys.stderr.write(err)
    sys.stderr.flush()
    return status


def _answer(memo: BinaryIO, expected: bytes, home: str | None) -> tuple[int, str, str] | None:
    """(status, stdout, stderr) of the memo, if it is whole and all it rests on unchanged
    (`home`: the home folder, whose path the memo records only as its state)."""
    digest = blake2b(digest_size=16)
    records = _records(memo)
    first = next(records, None)
    if first != FORMAT or next(records, None) != b"k " + expected:
        return None
    digest.update(FORMAT + b"\0k " + expected + b"\0")
    status = out = err = None
    for record in records:
        if record.startswith(END):
            whole = record == END + digest.hexdigest().encode()
            if not whole or next(records, None) is not None:
                return None
            break
        digest.update(record + b"\0")
        kind, _, rest = record.partition(b" ")
        if kind == b"s":
            status = int(rest)
        elif kind == b"o":
            out = rest.decode("utf-8", "surrogatepass")
        elif kind == b"e":
            err = rest.decode("utf-8", "surrogatepass")
        elif kind == b"l":
            if listing(os.fsdecode(rest.partition(b" ")[2])) != rest.partition(b" ")[0]:
                return None
        elif kind in (b"p", b"f"):  # p: with where its links lead
            signature, _, path = rest.partition(b" ")
            if state(path, resolved=kind == b"p")[0] != signature:
                return None
        elif kind == b"h":
            if (state(home, resolved=True)[0] if home else b"") != rest:
                return None
        else:
            return None
    else:
        return None  # cut short: no end record
    if status is None or out is None or err is None:
        return None
    return status, out, err


def state(path: bytes | str, *, resolved: bool = False) -> tuple[bytes, int]:
    """What stat() says of `path` (following links): its size, mtime, ctime, inode and
    mode, `-` if nothing is there; with `resolved`, a digest of where its links lead too.
    And when it last changed (0: never)."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        signature, changed = b"-", 0
    else:
        signature = b"%d:%d:%d:%d:%o" % (
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
            st.st_ino,
            st.st_mode,
        )
        changed = max(st.st_mtime_ns, st.st_ctime_ns)
    if resolved:
        real = os.fsencode(os.path.realpath(path))
        signature += b":" + blake2b(real, digest_size=8).hexdigest().encode()
    return signature, changed


def listing(folder: str) -> bytes:
    """A digest of a folder's entries and their stat() (its memos' folder left out: the
    memos' own writes would change it)."""
    digest = blake2b(digest_size=16)
    try:
        with os.scandir(folder) as entries:
            for name, st in sorted((e.name, e.stat()) for e in entries if e.name != FOLDER):
                what = (name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)
                digest.update(repr(what).encode("utf-8", "surrogatepass"))
    except FileNotFoundError:
        digest.update(b"-")
    return digest.hexdigest().encode()


def identity(cwd: str, argv: Sequence[str], environ: Mapping[str, str]) -> bytes:
    """One digest of what else a run's answer depends on: the command line and folder, the
    user, the environment (shell bookkeeping aside), the standard streams and terminal,
    Python, the folders it imports from (a package installed or removed changes one) and
    imgsync's code."""
    from . import __version__

    digest = blake2b(digest_size=16)

    def add(*parts: object) -> None:
        digest.update(repr(parts).encode("utf-8", "surrogatepass") + b"\0")

    add(FORMAT, __version__, sys.version, sys.executable, tuple(sys.flags), cwd, list(argv))
    if hasattr(os, "getuid"):  # what this user may read is what a full run would read
        add(os.getuid(), os.getgid(), sorted(os.getgroups()))
    add(sorted((k, v) for k, v in environ.items() if k not in VOLATILE))
    for fd in (0, 1, 2):
        add(fd, *_stream(fd))
    add([(folder, state(folder)[0]) for folder in sys.path])
    add(sorted(_code_files(os.path.dirname(os.path.abspath(__file__)))))
    return digest.hexdigest().encode()


def _stream(fd: int) -> tuple[object, ...]:
    """What a run's output may depend on in a standard stream: closed, or a terminal, and
    its size."""
    try:
        os.fstat(fd)
    except OSError:
        return ("closed",)
    if os.isatty(fd):
        return ("terminal", tuple(os.get_terminal_size(fd)))
    return ("open",)


def _code_files(folder: str) -> Iterator[tuple[str, int, int, int]]:
    """(path, size, mtime, ctime) of each of imgsync's modules: a changed imgsync answers
    anew."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".py"):
                st = entry.stat()
                yield entry.path, st.st_size, st.st_mtime_ns, st.st_ctime_ns
            elif entry.name != "__pycache__" and entry.is_dir(follow_symlinks=False):
                yield from _code_files(entry.path)


def memo_name(cwd: str, argv: Sequence[str]) -> str:
    """The memo's file name: a digest of the folder and the command line, 24 hex digits."""
    digest = blake2b(repr((cwd, list(argv))).encode("utf-8", "surrogatepass"), digest_size=12)
    return digest.hexdigest()


def memo_path(folder: str, name: str) -> str | None:
    """Where the memo `name` of the state folder in `folder` is, if `.imgsync` and its
    memos' folder are folders there and not links (a link could be a pull request's)."""
    state_dir = os.path.join(folder, STATE_DIR_NAME)
    runs = os.path.join(state_dir, FOLDER)
    for each in (state_dir, runs):
        try:
            if not stat.S_ISDIR(os.lstat(each).st_mode):
                return None
        except (FileNotFoundError, NotADirectoryError):
            return None
    return os.path.join(runs, name)


def open_memo(cwd: str, name: str) -> BinaryIO | None:
    """The memo `name` in the state folder of the current folder, or of the nearest folder
    above it that has it (run_memo_write removes the ones of a state folder below the
    project's, which would hide its own); None if there is none. A memo must be a file of
    this user's that no one else may read or write, as imgsync makes each: one from git (a
    pull request's), another user's, a FIFO or a link is never read."""
    folder = cwd
    while True:
        path = memo_path(folder, name)
        if path is not None and os.path.lexists(path):
            return _open_private(path)
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _open_private(path: str) -> BinaryIO | None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)  # never blocks on a FIFO, never follows a link
    except (FileNotFoundError, NotADirectoryError):
        return None
    memo = os.fdopen(fd, "rb")
    st = os.fstat(fd)
    mine = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    if stat.S_ISREG(st.st_mode) and mine and not st.st_mode & PRIVATE_NOT:
        return memo
    memo.close()
    return None


def _records(memo: BinaryIO) -> Iterator[bytes]:
    """The memo's records (each ends with a NUL, which no path holds), read a chunk at a
    time: a memo of 30,000 files is never held whole."""
    rest = b""
    while chunk := memo.read(_CHUNK):
        *done, rest = (rest + chunk).split(b"\0")
        yield from done
        if len(rest) > MAX_RECORD:
            raise ValueError("not a memo: a record too long")
    if rest:
        yield rest
