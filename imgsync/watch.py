"""Watch mode: sync the paths once, then each Markdown file again when it is saved.

The parts, each testable alone (watch_parts.py): `Scope` says which files are posts
to act on, `Debouncer` turns a burst of events into one visit once a file has been
quiet, `OwnWrites` recognises imgsync's own rewrites by their bytes (not by timing),
and `awaited_images` names the files a post still waits for. `Watcher` joins them: the
observer's thread only queues events; the main thread debounces them and runs each
round through pipeline.sync, one at a time, so Ctrl-C always lands there.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from .config import Settings
from .errors import ConfigError, ImgsyncError, OutsideProject
from .files import read_inside
from .pipeline import sync
from .progress import Progress
from .render import watch_round_lines
from .report import EXIT_OK, Report, display_path
from .terminal import safe_line
from .watch_parts import Awaited, Debouncer, OwnWrites, Scope, awaited_images

QUIET = 0.2  # seconds a file must stay unchanged before its round: an editor's save is one burst
POLL_INTERVAL = 0.5  # seconds between two scans of the folders with --poll


class _Queueing(FileSystemEventHandler):
    """In the observer's thread: hand each file that changed to the main thread, nothing else.
    Deletions need nothing: a post replaced by a save (which --poll reports as deleted and
    created) also has an event for its new bytes."""

    def __init__(self, changed: queue.Queue[Path]) -> None:
        self._changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        if event.event_type == "moved":  # an editor's temp file renamed over the post
            self._changed.put(Path(os.fsdecode(event.dest_path)))
        elif event.event_type in ("created", "modified", "closed"):
            self._changed.put(Path(os.fsdecode(event.src_path)))


class _RoundProgress(Progress):
    """A round says one line; each upload gets its own only with --verbose."""

    def advance(self, line: str) -> None:
        if self.verbose:
            super().advance(line)


class Watcher:
    """The state of a watch: what is pending, what imgsync wrote, which posts await images."""

    def __init__(
        self,
        paths: Sequence[Path],
        settings: Settings,
        *,
        host_name: str | None = None,
        stream: TextIO = sys.stderr,
        verbose: bool = False,
        quiet: bool = False,
    ) -> None:
        self.paths = [Path(os.path.abspath(p)) for p in paths]
        self.settings = settings
        self.host_name = host_name
        self.scope = Scope(self.paths, settings)
        self.debouncer = Debouncer(QUIET)
        self.own = OwnWrites()
        self.awaiting: dict[Path, Awaited] = {}  # post -> the files it waits for
        self.changed: queue.Queue[Path] = queue.Queue()
        self._forced: set[Path] = set()  # due because an awaited image came: no content test
        self._stream, self._verbose, self._quiet = stream, verbose, quiet
        self._progress = _RoundProgress(stream, quiet=quiet, verbose=verbose)

    def first_round(self) -> bool:
        """Sync all the paths; False if Ctrl-C cut it short."""
        report = self._sync(self.paths)
        self._tell(report, post=None)
        self._remember_awaited(report, {f.where.path for f in report.failures})
        return not report.interrupted

    def step(self) -> bool:
        """Take the events that come within the next wait, then visit the posts now due;
        False once a round was interrupted."""
        wait = self.debouncer.wait(time.monotonic())
        try:
            # Bounded, so that Ctrl-C is seen promptly wherever the platform's wait isn't.
            path = self.changed.get(timeout=1.0 if wait is None else min(wait, 1.0))
            while True:
                self.note(path, now=time.monotonic())
                path = self.changed.get_nowait()
        except queue.Empty:
            pass
        return all(self.visit(post) for post in self.debouncer.pop_due(time.monotonic()))

    def note(self, path: Path, now: float) -> None:
        """A file changed: a post is due after a quiet spell, and so is a post awaiting it."""
        if self.scope.is_post(path):
            self.debouncer.touch(path, now)
            return
        waiting = [post for post, awaited in self.awaiting.items() if awaited.wants(path)]
        for post in waiting:
            self._forced.add(post)
            self.debouncer.touch(post, now)
        if not waiting and not path.name.startswith("."):
            self._detail(f"ignored {display_path(path)}: not a post of the watched paths")

    def visit(self, post: Path) -> bool:
        """A due post: its round, unless its bytes are what imgsync wrote; False if interrupted."""
        forced = post in self._forced
        self._forced.discard(post)
        shown = display_path(post)
        try:
            data = read_inside(post, self.settings.root)
        except OutsideProject:
            data = b""  # a link leading out of the project is never read: the round says so
        except OSError:  # renamed away or deleted since: nothing to sync
            self.own.forget(post)
            self.awaiting.pop(post, None)
            return True
        if not forced and self.own.is_own(post, data):
            self._detail(f"ignored {shown}: unchanged since imgsync rewrote it")
            return True
        try:
            report = self._sync([post])
        except Exception as error:  # a failed round must not end the watch: say why, go on
            known = isinstance(error, ImgsyncError)
            why = error if known else f"{type(error).__name__}: {error} (please report this)"
            self._error(f"error: {shown}: {why}")
            return True
        self._tell(report, post=post)
        self._remember_awaited(report, [post])
        return not report.interrupted

    def _sync(self, paths: Sequence[Path]) -> Report:
        return sync(
            paths,
            self.settings,
            host_name=self.host_name,
            progress=lambda: self._progress,
            on_written=self.own.remember,
        )

    def _remember_awaited(self, report: Report, posts: Iterable[Path]) -> None:
        failed = {failure.where.path for failure in report.failures}
        for post in posts:
            awaited = Awaited()
            if post in failed:
                with contextlib.suppress(OSError):  # gone, or leads outside: it awaits nothing
                    data = read_inside(post, self.settings.root)
                    awaited = awaited_images(post, data, self.settings)
            if awaited.files or awaited.names:
                self.awaiting[post] = awaited
            else:
                self.awaiting.pop(post, None)

    def _tell(self, report: Report, *, post: Path | None) -> None:
        for line in watch_round_lines(report, post=post, quiet=self._quiet):
            self._error(line)

    def say(self, line: str) -> None:
        if not self._quiet:
            self._error(line)

    def _detail(self, line: str) -> None:
        if self._verbose:
            self._error(line)

    def _error(self, line: str) -> None:
        print(safe_line(line), file=self._stream, flush=True)


def watch(
    paths: Sequence[Path],
    settings: Settings,
    *,
    host_name: str | None = None,
    poll: bool = False,
    stream: TextIO = sys.stderr,
    verbose: bool = False,
    quiet: bool = False,
) -> int:
    """Sync `paths`, then each post again when it is saved, until Ctrl-C: then exit 0."""
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{path}: no such file or folder")
    from .upload import open_host  # the upload seam: httpx and the worker pool

    with open_host(settings, host_name):
        pass  # a host misconfigured shows now, not at the first save
    watcher = Watcher(
        paths, settings, host_name=host_name, stream=stream, verbose=verbose, quiet=quiet
    )
    observer: BaseObserver = PollingObserver(timeout=POLL_INTERVAL) if poll else Observer()
    handler = _Queueing(watcher.changed)
    for folder, recursive in watcher.scope.observed().items():
        observer.schedule(handler, str(folder), recursive=recursive)
    try:
        observer.start()  # before the first round, so that no save during it is missed
    except OSError as error:
        raise ConfigError(
            f"cannot watch {', '.join(map(str, paths))}: {error}; try --poll (or raise "
            "fs.inotify.max_user_watches)"
        ) from None
    try:
        if watcher.first_round():
            shown = " ".join(display_path(p) for p in watcher.paths)
            watcher.say(f"watching {shown} for saved Markdown files; Ctrl-C to stop")
            while watcher.step():
                pass
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join()
    watcher.say("stopped watching")
    return EXIT_OK
