"""The exceptions imgsync raises; each carries what a user needs to act on it.

    ImgsyncError                 base; str(err) is a complete sentence for the user
    ├── ConfigError              bad or missing configuration            -> exit 2
    ├── CacheError               the cache file is unreadable or corrupt -> exit 2
    │   └── CacheNotWritten      it can't be written, but the run's uploads are kept in
    │                            the journal, which the next run merges back
    ├── MarkdownError            a Markdown file can't be read or safely rewritten
    ├── ImageError               a referenced image can't be uploaded (missing,
    │                            outside the project, not an image, too large)
    ├── DownloadError            an image could not be downloaded: an address refused,
    │                            too large, too slow, too many redirects, not an image
    ├── OutsideProject           a file that leads outside the project once symlinks are
    │                            resolved: never read or written. An OSError too, so
    │                            every reader's and writer's error path reports it;
    │                            most turn it into their own error (MarkdownError...)
    └── HostError                the host refused or failed an upload
        ├── AuthError            the credentials were rejected: never retried
        ├── WrongEndpoint        the URL is not the host's API (404, a redirect away)
        ├── HostUnreachable      no connection at all: no such name, refused, TLS failed
        ├── RateLimited          the host asks us to wait `retry_after` seconds
        └── TransientHostError   timeout, dropped connection, 5xx: retried with backoff

AuthError, WrongEndpoint and HostUnreachable are about the host, not one file
(`about_host`): the first one decides for every upload to that host (transfer/gate.py).

Two more are control flow inside imgsync, never shown to a user as they are:

    RewriteRefused               a rewrite would change more than destinations:
                                 the file is left alone and the reason reported
    Interrupted                  the run was stopped (Ctrl-C) before a request went

Hosts translate httpx exceptions into HostError subclasses, so nothing above the
host layer imports httpx. No message ever contains a token.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Self


class ImgsyncError(Exception):
    """Base class: the message is written for the user."""


class ConfigError(ImgsyncError):
    """The configuration is missing, malformed, or names something unknown."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class CacheError(ImgsyncError):
    """The cache file can't be read or trusted; it is never silently emptied."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class CacheNotWritten(CacheError):
    """The cache file can't be written (disk full, made read-only), but each upload of the
    run is kept in the journal in `.imgsync/`, which the next run merges back into it."""


class NotAFolder(CacheError):
    """imgsync's own folder (.imgsync, beside the cache) is taken by a file: a pull request
    may commit one."""

    def __init__(self, path: Path) -> None:
        reason = "is a file, not a folder: imgsync keeps its own files there; remove it"
        self.path, self.reason = path, reason
        ImgsyncError.__init__(self, f"{path} {reason}")


class MarkdownError(ImgsyncError):
    """A Markdown file that can't be read, decoded or safely rewritten."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {reason}")


class ImageError(ImgsyncError):
    """A referenced image that can't be uploaded; `reason` says why in plain words.

    `missing`: no file is there at all, so the reference is what needs fixing.
    """

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        self.reason = reason
        self.missing = missing
        super().__init__(reason)


class OutsideProject(ImgsyncError, OSError):
    """`path` leads outside `folder` (the project) once symlinks are resolved.

    `reason` says so about "it", for messages that already name the file; str() names it.
    """

    def __init__(self, path: Path, folder: Path, how: str) -> None:
        self.path = path
        self.folder = folder
        self.reason = f"refused: it {how} outside {folder}, where imgsync never reads or writes"
        OSError.__init__(self, errno.EPERM, f"{path}: {self.reason}")

    def __str__(self) -> str:
        return str(self.strerror)


class HostError(ImgsyncError):
    """The image host refused or failed a request.

    `message` is our plain advice, `host_message` the host's own words (quoted to
    the user), `status` the HTTP status when there was one.
    """

    retryable = False
    # True when the error says nothing about this file and everything about the host
    # (rejected credentials, a wrong URL, no connection): every other upload would meet it.
    about_host = False

    def __init__(
        self,
        message: str,
        *,
        host: str = "",
        status: int | None = None,
        host_message: str | None = None,
    ) -> None:
        self.message = message
        self.host = host
        self.status = status
        self.host_message = host_message
        super().__init__(self._text())

    def _text(self) -> str:
        text = self.message
        if self.host_message and self.host_message not in text:
            text += f" (the host said: {self.host_message})"
        return text

    def copy(self) -> Self:
        """The same error, to raise again in another thread (a raise mutates its traceback)."""
        twin = type(self).__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin.args = self.args
        return twin

    def with_note(self, note: str) -> Self:
        """A copy of the same class whose message ends with `note`, e.g. how imgsync gave up."""
        noted = self.copy()
        noted.message = f"{self.message}; {note}"
        noted.args = (noted._text(),)
        return noted


class AuthError(HostError):
    """The host rejected the credentials; retrying cannot help."""

    about_host = True


class WrongEndpoint(HostError):
    """The configured URL is not the host's upload API (a 404, a redirect elsewhere)."""

    about_host = True


class HostUnreachable(HostError):
    """No connection to the host at all: its name does not resolve, the connection is refused
    or times out, or TLS fails.

    `worth_retrying` is False where another attempt cannot help (a name that does not
    resolve, a certificate that does not verify); a refused or timed-out connection may be a
    server restarting, so it gets a few attempts, counted for the host, not per file.
    """

    about_host = True

    def __init__(
        self,
        message: str,
        *,
        worth_retrying: bool,
        host: str = "",
        status: int | None = None,
        host_message: str | None = None,
    ) -> None:
        self.worth_retrying = worth_retrying
        super().__init__(message, host=host, status=status, host_message=host_message)


class RateLimited(HostError):
    """The host asks us to slow down; wait `retry_after` seconds, then try again.

    `retry_after` is None when the host did not say how long (Lsky's 429): the
    caller then waits its configured `rate_limit_wait`.
    """

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class TransientHostError(HostError):
    """A timeout, a dropped connection or a server error: worth retrying."""

    retryable = True


class DownloadError(ImgsyncError):
    """An image URL could not be downloaded (hosts/download.py); `url` is redacted."""

    def __init__(
        self, reason: str, *, url: str, refused_address: bool = False, too_large: bool = False
    ) -> None:
        self.reason = reason
        self.url = url
        self.refused_address = refused_address  # the address rule said no: nothing was sent
        self.too_large = too_large  # the reply went past the size cap
        super().__init__(f"{url}: {reason}")


class RewriteRefused(Exception):
    """The rewritten text would differ from the original in more than its destinations."""


class Interrupted(Exception):
    """The run was stopped (Ctrl-C) while this upload waited to be sent: it never was."""
